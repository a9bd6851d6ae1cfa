// A node's own pods over the master's records (domain/dns/Overlay and NodeDnsLive.makeOverlay): a
// local pod that stops or fails its probe drops at once, one that becomes ready appears at once (within
// one refresh, 200 ms, in virtual time), a pod the master still places here but this node no longer
// runs is gone, and a pod moved here counts from its live state.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Ref, TestClock } from "effect"
import { type LocalPod, overlay } from "../../src/domain/dns/Overlay.js"
import { type DnsRecord, fromSnapshot, type RecordSet } from "../../src/domain/dns/Records.js"
import { NodeId } from "../../src/domain/Node.js"
import { PodId } from "../../src/domain/Workload.js"
import { makeOverlay, type SelfCell } from "../../src/layers/dns/NodeDnsLive.js"
import { makeRecordKeeper } from "../../src/services/dns/DnsResolver.js"

const W1 = NodeId.make("node-w1")
const W2 = NodeId.make("node-w2")
const self = { id: W1, name: "w1" }

const record = (podId: string, nodeId: NodeId, ipv4: string, overrides: Partial<DnsRecord> = {}): DnsRecord => ({
  podId: PodId.make(podId),
  project: "shop",
  deployment: "web",
  replicaIndex: Number(podId.replace(/\D/g, "") || 0),
  nodeId,
  nodeName: nodeId === W1 ? "w1" : "w2",
  ipv4,
  ready: true,
  ...overrides
})

const local = (podId: string, status: string, containerIp: string, health = ""): LocalPod => ({
  pod: { podId, project: "shop", deployment: "web", replicaIndex: Number(podId.replace(/\D/g, "") || 0) },
  report: { status, containerIp, health }
})

const set = (...records: ReadonlyArray<DnsRecord>): RecordSet => fromSnapshot({ revision: 4, records })

const answered = (records: Iterable<DnsRecord>) =>
  [...records].filter((r) => r.ready).map((r) => `${r.podId}@${r.ipv4}`).sort()

describe("overlay (pure)", () => {
  const pushed = set(record("p0", W1, "10.1.0.2"), record("p1", W1, "10.1.0.3"), record("p2", W2, "10.2.0.2"))

  it("this node's pods come from their live state; other nodes' records pass as they are", () => {
    const out = overlay(pushed, self, [local("p0", "running", "10.1.0.2"), local("p1", "running", "10.1.0.3")])
    expect(answered(out)).toEqual(["p0@10.1.0.2", "p1@10.1.0.3", "p2@10.2.0.2"])
  })

  it("a local pod that stopped, restarts or fails its probe drops at once", () => {
    expect(answered(overlay(pushed, self, [local("p0", "stopped", "10.1.0.2"), local("p1", "running", "10.1.0.3")])))
      .toEqual(["p1@10.1.0.3", "p2@10.2.0.2"])
    expect(answered(overlay(pushed, self, [local("p0", "restarting", "10.1.0.2"), local("p1", "running", "10.1.0.3", "unhealthy")])))
      .toEqual(["p2@10.2.0.2"])
    // still starting its probe: known (it may ask), not answered
    const starting = overlay(pushed, self, [local("p0", "running", "10.1.0.2", "starting")])
    expect(starting.find((r) => r.podId === "p0")?.ready).toBe(false)
  })

  it("a pod scaled away here is gone even while the master's set still lists it", () => {
    expect(answered(overlay(pushed, self, [local("p0", "running", "10.1.0.2")]))).toEqual(["p0@10.1.0.2", "p2@10.2.0.2"])
  })

  it("a pod that became ready here appears before the master has heard of its address", () => {
    const out = overlay(pushed, self, [local("p0", "running", "10.1.0.2"), local("p1", "running", "10.1.0.3"), local("p5", "running", "10.1.0.7")])
    expect(answered(out)).toContain("p5@10.1.0.7")
    expect(out.find((r) => r.podId === "p5")).toMatchObject({ nodeId: W1, nodeName: "w1", project: "shop", deployment: "web", replicaIndex: 5 })
  })

  it("a pod moved here from another node counts from its live state; without knowing itself a node serves the set as it is", () => {
    const out = overlay(pushed, self, [local("p2", "running", "10.1.0.9")])
    expect(out.find((r) => r.podId === "p2")).toMatchObject({ nodeId: W1, ipv4: "10.1.0.9" })
    expect(answered(overlay(pushed, undefined, []))).toEqual(["p0@10.1.0.2", "p1@10.1.0.3", "p2@10.2.0.2"])
  })
})

/** The overlay over a socket-less resolver, with this node's pods played by hand. */
const harness = Effect.gen(function*() {
  const keeper = makeRecordKeeper()
  const pods = yield* Ref.make<ReadonlyArray<LocalPod>>([])
  const cell: SelfCell = { current: undefined }
  const nodeDns = yield* makeOverlay(keeper, { assigned: Ref.get(pods) }, cell, "200 millis")
  // let the refresh loop take its first turn (at t = 0, nothing local yet): the next one is at 200 ms
  yield* TestClock.adjust("1 millis")
  return {
    nodeDns,
    cell,
    setPods: (next: ReadonlyArray<LocalPod>) => Ref.set(pods, next),
    answered: Effect.map(keeper.records, (s) => answered(s.pods.values())),
    revision: Effect.map(keeper.records, (s) => s.revision)
  }
})

describe("makeOverlay (virtual time)", () => {
  it.scoped("the resolver's set follows local changes within one refresh (200 ms), not the next heartbeat", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.nodeDns.identify(self)
      expect(h.cell.current).toEqual(self)
      yield* h.setPods([local("p0", "running", "10.1.0.2"), local("p1", "running", "10.1.0.3")])
      yield* h.nodeDns.replace({ revision: 1, records: [record("p0", W1, "10.1.0.2"), record("p1", W1, "10.1.0.3"), record("p2", W2, "10.2.0.2")] })
      expect(yield* h.answered).toEqual(["p0@10.1.0.2", "p1@10.1.0.3", "p2@10.2.0.2"])
      expect(yield* h.revision).toBe(1)

      // p1 fails its probe and p5 starts: nothing changes until the refresh, then both at once
      yield* h.setPods([local("p0", "running", "10.1.0.2"), local("p1", "running", "10.1.0.3", "unhealthy"), local("p5", "running", "10.1.0.7")])
      yield* TestClock.adjust("100 millis")
      expect(yield* h.answered).toEqual(["p0@10.1.0.2", "p1@10.1.0.3", "p2@10.2.0.2"])
      yield* TestClock.adjust("100 millis")
      expect(yield* h.answered).toEqual(["p0@10.1.0.2", "p2@10.2.0.2", "p5@10.1.0.7"])

      // the scale-down assignment arrives: p0 leaves this node's pods, and so DNS, within 200 ms
      yield* h.setPods([local("p5", "running", "10.1.0.7")])
      yield* TestClock.adjust("200 millis")
      expect(yield* h.answered).toEqual(["p2@10.2.0.2", "p5@10.1.0.7"])
    }))

  it.scoped("deltas apply in order; a re-delivery is ignored; a skipped revision fails with DnsRevisionGap and changes nothing", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.nodeDns.identify(self)
      yield* h.nodeDns.replace({ revision: 3, records: [record("p2", W2, "10.2.0.2")] })
      yield* h.nodeDns.applyDelta({ revision: 4, upsert: [record("p3", W2, "10.2.0.3")], remove: [] })
      expect(yield* h.answered).toEqual(["p2@10.2.0.2", "p3@10.2.0.3"])
      yield* h.nodeDns.applyDelta({ revision: 4, upsert: [], remove: [PodId.make("p3")] })
      expect(yield* h.answered).toEqual(["p2@10.2.0.2", "p3@10.2.0.3"])
      const gap = yield* Effect.exit(h.nodeDns.applyDelta({ revision: 7, upsert: [], remove: [PodId.make("p2")] }))
      expect(Exit.isFailure(gap) && JSON.stringify(gap.cause)).toContain("DnsRevisionGap")
      expect(yield* h.nodeDns.revision).toBe(4)
      expect(yield* h.answered).toEqual(["p2@10.2.0.2", "p3@10.2.0.3"])
      // a snapshot wins whatever its revision (a restarted master counts anew)
      yield* h.nodeDns.replace({ revision: 1, records: [record("p9", W2, "10.2.0.9")] })
      expect(yield* h.answered).toEqual(["p9@10.2.0.9"])
      expect(yield* h.nodeDns.revision).toBe(1)
    }))

  it.scoped("records pushed while the node does not know itself are served as they are; identifying applies the overlay at once", () =>
    Effect.gen(function*() {
      const h = yield* harness
      yield* h.nodeDns.replace({ revision: 1, records: [record("p0", W1, "10.1.0.2"), record("p2", W2, "10.2.0.2")] })
      expect(yield* h.answered).toEqual(["p0@10.1.0.2", "p2@10.2.0.2"])
      // this node runs nothing (its pod p0 is gone here): known now, so p0 is dropped without waiting for the refresh
      yield* h.nodeDns.identify(self)
      expect(yield* h.answered).toEqual(["p2@10.2.0.2"])
    }))
})
