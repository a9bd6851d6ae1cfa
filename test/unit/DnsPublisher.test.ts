// The master's DNS records (--dns-mode embedded): derived from its pod table after each pass and node
// report, a new revision only when the set changed, handed to its own resolver and pushed as deltas to
// the connected workers; a stream opens with the snapshot (NodeWorkloads.dnsSnapshot).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Ref } from "effect"
import type { DnsRevisionGap } from "../../src/domain/dns/DnsErrors.js"
import { applyDelta, type DnsDelta, type DnsSnapshot, empty, fromSnapshot, type RecordSet } from "../../src/domain/dns/Records.js"
import type { DnsRecord } from "../../src/domain/dns/Records.js"
import { NodeId } from "../../src/domain/Node.js"
import { PodId } from "../../src/domain/Workload.js"
import { recordsOfPods } from "../../src/layers/orchestrator/DnsPublisher.js"
import type { PodRow } from "../../src/layers/orchestrator/Store.js"
import { NodeDns } from "../../src/services/dns/NodeDns.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { join, MASTER, masterOn, reconcile, spec, Wire } from "../support/harness/OrchestratorHarness.js"
import { podReport } from "../support/doubles/PodReports.js"

const row = (overrides: Partial<PodRow>): Pick<
  PodRow,
  "id" | "project" | "deploymentName" | "replicaIndex" | "nodeId" | "containerIp" | "status" | "health" | "desired"
> => ({
  id: PodId.make("p0"),
  project: "shop",
  deploymentName: "web",
  replicaIndex: 0,
  nodeId: NodeId.make("n1"),
  containerIp: "10.1.0.2",
  status: "running",
  health: null,
  desired: "run",
  ...overrides
})

describe("recordsOfPods", () => {
  it("one record per pod that should run, runs and has an IPv4 address; ready = passing its probe or none", () => {
    const names = new Map([[NodeId.make("n1"), "w1"]])
    const records = recordsOfPods([
      row({}),
      row({ id: PodId.make("healthy"), replicaIndex: 1, health: "healthy", containerIp: "10.1.0.3" }),
      row({ id: PodId.make("starting"), replicaIndex: 2, health: "starting", containerIp: "10.1.0.4" }),
      row({ id: PodId.make("unhealthy"), replicaIndex: 3, health: "unhealthy", containerIp: "10.1.0.5" }),
      row({ id: PodId.make("retiring"), desired: "retire" }),
      row({ id: PodId.make("stopping"), status: "stopping" }),
      row({ id: PodId.make("restarting"), status: "restarting" }),
      row({ id: PodId.make("creating"), status: "creating", containerIp: null }),
      row({ id: PodId.make("unplaced"), nodeId: null }),
      row({ id: PodId.make("v6only"), containerIp: "fd00::5" })
    ], names)
    expect(records.map((r) => [r.podId, r.ready])).toEqual([["p0", true], ["healthy", true], ["starting", false], ["unhealthy", false]])
    expect(records[0]).toEqual({
      podId: "p0",
      project: "shop",
      deployment: "web",
      replicaIndex: 0,
      nodeId: "n1",
      nodeName: "w1",
      ipv4: "10.1.0.2",
      ready: true
    })
  })
})

/** A NodeDns that records what the publisher hands this node's resolver. */
const recordingDns = Effect.gen(function*() {
  const calls = yield* Ref.make<ReadonlyArray<string>>([])
  const set = yield* Ref.make<RecordSet>(empty)
  const layer = Layer.succeed(NodeDns, {
    mode: "embedded",
    identify: (self) => Ref.update(calls, (c) => [...c, `identify ${self.name}`]),
    replace: (snapshot: DnsSnapshot) => Ref.set(set, fromSnapshot(snapshot)),
    applyDelta: (delta: DnsDelta): Effect.Effect<void, DnsRevisionGap> =>
      Effect.flatMap(Ref.get(set), (current) => {
        const outcome = applyDelta(current, delta)
        return outcome._tag === "Applied" ? Ref.set(set, outcome.set) : Effect.dieMessage(`delta ${delta.revision}: ${outcome._tag}`)
      }),
    revision: Effect.map(Ref.get(set), (s) => s.revision)
  })
  return { layer, calls: Ref.get(calls), set: Ref.get(set) }
})

/** The worker reports each pod of its assignment running at 10.1.0.<replica + 2>, with `health`. */
const report = (id: NodeId, health: (replica: number) => string = () => "") =>
  Effect.gen(function*() {
    const workloads = yield* NodeWorkloads
    const assignment = yield* workloads.desired(id)
    yield* workloads.report(
      id,
      assignment.pods.map((p) => podReport({
        podId: p.podId,
        status: "running",
        containerId: `c-${p.podId.slice(0, 6)}`,
        containerIp: `10.1.0.${p.replicaIndex + 2}`,
        restartCount: 0,
        message: "",
        health: health(p.replicaIndex)
      })),
      assignment.generation,
      []
    )
  })

const deltasTo = (id: NodeId) =>
  Effect.map(Effect.flatMap(Wire, (w) => w.sent), (sent) =>
    sent.flatMap((s) => (s.nodeId === id && s.message._tag === "DnsDelta" ? [s.message.delta] : [])))

const addresses = (set: RecordSet, ready = true) =>
  [...set.pods.values()].filter((r) => r.ready === ready).map((r) => r.ipv4).sort()

const replay = (deltas: ReadonlyArray<DnsDelta>): RecordSet =>
  deltas.reduce((set, delta) => {
    const outcome = applyDelta(set, delta)
    if (outcome._tag !== "Applied") throw new Error(`delta ${delta.revision} did not apply: ${outcome._tag}`)
    return outcome.set
  }, empty)

describe("the DNS publisher", () => {
  it.scoped("revisions follow the pod table: deploy, reports, health, scale-down; each worker gets every delta in order", () =>
    Effect.gen(function*() {
      const dns = yield* recordingDns
      yield* Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        const workloads = yield* NodeWorkloads
        yield* join(MASTER, "Master")
        const w1 = yield* join("w1")
        // nothing runs yet: an empty snapshot at revision 0
        expect(Option.getOrThrow(yield* workloads.dnsSnapshot)).toEqual({ revision: 0, records: [] })

        yield* orchestrator.deploy(spec({ deployment: { name: "web" }, replicas: 3 }))
        // placed, not running: still nothing to answer
        expect(yield* deltasTo(w1)).toEqual([])
        yield* report(w1)
        const [first] = yield* deltasTo(w1)
        expect(first?.revision).toBe(1)
        expect(first?.upsert.map((r) => r.ipv4).sort()).toEqual(["10.1.0.2", "10.1.0.3", "10.1.0.4"])
        expect(first?.upsert.every((r) => r.nodeName === "w1" && r.project === "shop" && r.deployment === "web")).toBe(true)
        // the master's own resolver got the same revision, and knows which node it is
        expect(addresses(yield* dns.set)).toEqual(["10.1.0.2", "10.1.0.3", "10.1.0.4"])
        expect(yield* dns.calls).toEqual([`identify ${MASTER}`])

        // the same report again, and a pass that changes nothing: no new revision
        yield* report(w1)
        yield* reconcile
        expect((yield* deltasTo(w1)).map((d) => d.revision)).toEqual([1])

        // replica 1 fails its probe: it stays known but is no longer answered
        yield* report(w1, (replica) => (replica === 1 ? "unhealthy" : "healthy"))
        const second = (yield* deltasTo(w1))[1]!
        expect(second).toMatchObject({ revision: 2, remove: [] })
        // only what changed travels: "healthy" is as ready as no probe at all
        expect(second.upsert.map((r) => [r.replicaIndex, r.ready])).toEqual([[1, false]])
        expect(addresses(yield* dns.set)).toEqual(["10.1.0.2", "10.1.0.4"])

        // scale to 1: the retired pods leave at once (the operation's own pass), before their containers stop
        yield* orchestrator.scale("shop", "web", 1)
        const third = (yield* deltasTo(w1))[2]!
        expect(third.revision).toBe(3)
        expect(third.remove).toHaveLength(2)
        expect(addresses(yield* dns.set)).toEqual(["10.1.0.2"])

        // the deltas, replayed in order, are exactly the snapshot a stream opening now starts from
        const deltas = yield* deltasTo(w1)
        const snapshot = Option.getOrThrow(yield* workloads.dnsSnapshot)
        expect(snapshot.revision).toBe(3)
        const replayed = replay(deltas)
        expect([...replayed.pods.values()].sort((a, b) => a.podId.localeCompare(b.podId))).toEqual(snapshot.records)
        expect(addresses(fromSnapshot(snapshot))).toEqual(["10.1.0.2"])
      }).pipe(Effect.provide(masterOn(":memory:", "1 hour", { dnsMode: "embedded" }).pipe(Layer.provide(dns.layer))))
    }))

  it.scoped("a worker that is not connected gets no delta (its stream will open with the snapshot)", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const wire = yield* Wire
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      yield* wire.disconnect(w2)
      yield* orchestrator.deploy(spec({ deployment: { name: "web" }, replicas: 2 }))
      yield* report(w1)
      yield* report(w2)
      expect((yield* deltasTo(w1)).map((d) => d.revision)).toEqual([1, 2])
      expect(yield* deltasTo(w2)).toEqual([])
      const snapshot = Option.getOrThrow(yield* (yield* NodeWorkloads).dnsSnapshot)
      expect(snapshot.revision).toBe(2)
      expect(snapshot.records.map((r: DnsRecord) => r.nodeName).sort()).toEqual(["w1", "w2"])
    }).pipe(Effect.provide(masterOn(":memory:", "1 hour", { dnsMode: "embedded" }))))

  it.scoped("--dns-mode noop: no snapshot, no deltas, no names in the views", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ deployment: { name: "web" } }))
      yield* report(w1)
      expect(yield* deltasTo(w1)).toEqual([])
      expect(yield* (yield* NodeWorkloads).dnsSnapshot).toEqual(Option.none())
      expect((yield* orchestrator.pods())[0]?.dns_name).toBeNull()
      expect((yield* orchestrator.deployments())[0]?.dns_name).toBeNull()
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("with --dns-mode embedded the views carry the names: <deployment>.<project>.internal and <deployment>-<n>.…", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join("w1")
      yield* orchestrator.deploy(spec({ deployment: { name: "web" }, replicas: 2 }))
      expect((yield* orchestrator.pods()).map((p) => p.dns_name)).toEqual(["web-0.shop.internal", "web-1.shop.internal"])
      expect((yield* orchestrator.deployments()).map((d) => d.dns_name)).toEqual(["web.shop.internal"])
    }).pipe(Effect.provide(masterOn(":memory:", "1 hour", { dnsMode: "embedded" }))))
})
