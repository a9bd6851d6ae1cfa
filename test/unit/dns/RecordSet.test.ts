// The record set the master pushes: built from a snapshot, moved on by deltas in revision order,
// indexed by deployment (replica order) and by address; which pods count as ready.
import { describe, expect, it } from "vitest"
import {
  applyDelta,
  deltaBetween,
  deploymentKey,
  empty,
  fromSnapshot,
  normalizeAddress,
  podReady,
  recordOfPod,
  toSnapshot
} from "../../../src/domain/dns/Records.js"
import { NodeId } from "../../../src/domain/Node.js"
import { DeploymentId, type PodHealth, PodId, type PodStatus } from "../../../src/domain/Workload.js"
import { cluster, nodeB, pod } from "./fixtures.js"

describe("a snapshot", () => {
  it("indexes every record by pod id, by deployment in replica order and by address", () => {
    const records = cluster()
    const set = fromSnapshot({ revision: 7, records: [...records].reverse() })
    expect(set.revision).toBe(7)
    expect(set.pods.size).toBe(records.length)
    expect(set.deployments.get("web.shop")?.map((r) => r.replicaIndex)).toEqual([0, 1, 2])
    expect([...set.projects].sort()).toEqual(["billing", "lab", "shop"])
    expect(set.byAddress.get("10.1.0.11")?.map((r) => r.deployment)).toEqual(["web"]) // not ready, still indexed
    expect(set.byAddress.get("fd00::12")?.map((r) => r.replicaIndex)).toEqual([2])
  })

  it("keys names in lowercase", () => {
    const set = fromSnapshot({ revision: 1, records: [pod("Shop", "Web", 0, "10.1.0.10")] })
    expect(deploymentKey("SHOP", "WEB")).toBe("web.shop")
    expect(set.deployments.has("web.shop")).toBe(true)
    expect(set.projects.has("shop")).toBe(true)
  })

  it("keeps the later record when a pod id is given twice", () => {
    const first = pod("shop", "web", 0, "10.1.0.10")
    const set = fromSnapshot({ revision: 1, records: [first, { ...first, ipv4: "10.1.0.99" }] })
    expect(set.pods.size).toBe(1)
    expect(set.pods.get(first.podId)?.ipv4).toBe("10.1.0.99")
    expect(set.byAddress.has("10.1.0.10")).toBe(false)
  })

  it("round-trips through toSnapshot", () => {
    const set = fromSnapshot({ revision: 3, records: cluster() })
    const again = fromSnapshot(toSnapshot(set))
    expect(again.revision).toBe(3)
    expect(new Set(again.pods.values())).toEqual(new Set(set.pods.values()))
  })

  it("starts empty at revision 0", () => {
    expect(empty.revision).toBe(0)
    expect(empty.pods.size).toBe(0)
  })
})

describe("a delta", () => {
  const base = fromSnapshot({ revision: 10, records: cluster() })
  const web0 = [...base.pods.values()].find((r) => r.project === "shop" && r.deployment === "web" && r.replicaIndex === 0)!

  it("applies when it is the next revision: removals, then upserts by pod id", () => {
    const moved = { ...web0, nodeId: nodeB, nodeName: "b", ipv4: "10.2.0.10" }
    const added = pod("shop", "web", 3, "10.1.0.13")
    const outcome = applyDelta(base, { revision: 11, upsert: [moved, added], remove: [PodId.make("no-such-pod")] })
    expect(outcome._tag).toBe("Applied")
    const set = outcome.set
    expect(set.revision).toBe(11)
    expect(set.deployments.get("web.shop")?.map((r) => r.ipv4)).toEqual(["10.2.0.10", "10.1.0.11", "10.2.0.12", "10.1.0.13"])
    expect(set.byAddress.has("10.1.0.10")).toBe(false)
    expect(set.byAddress.get("10.2.0.10")?.[0]?.podId).toBe(web0.podId)
  })

  it("removes a deployment's last pod and with it the deployment and, when empty, the project", () => {
    const only = [...base.pods.values()].filter((r) => r.project === "billing")
    const outcome = applyDelta(base, { revision: 11, upsert: [], remove: only.map((r) => r.podId) })
    expect(outcome.set.deployments.has("web.billing")).toBe(false)
    expect(outcome.set.projects.has("billing")).toBe(false)
  })

  it("is ignored when the set is already at or past its revision (a re-delivery)", () => {
    for (const revision of [1, 10]) {
      const outcome = applyDelta(base, { revision, upsert: [], remove: [web0.podId] })
      expect(outcome).toEqual({ _tag: "Stale", set: base })
    }
  })

  it("reports a gap, changing nothing, when revisions were skipped", () => {
    const outcome = applyDelta(base, { revision: 12, upsert: [], remove: [web0.podId] })
    expect(outcome).toEqual({ _tag: "Gap", set: base, expected: 11, received: 12 })
    expect(base.pods.has(web0.podId)).toBe(true)
  })

  it("leaves the set it was applied to as it was", () => {
    applyDelta(base, { revision: 11, upsert: [], remove: [web0.podId] })
    expect(base.revision).toBe(10)
    expect(base.pods.has(web0.podId)).toBe(true)
  })
})

describe("the delta between two sets (what a master pushes)", () => {
  const base = fromSnapshot({ revision: 10, records: cluster() })
  const [first, second, ...rest] = [...base.pods.values()]

  it("holds the changed and new records and the removed pod ids, at the next revision", () => {
    const added = pod("shop", "web", 7, "10.1.0.17")
    const delta = deltaBetween(base, [{ ...first!, ready: !first!.ready }, ...rest, added])
    expect(delta).toEqual({ revision: 11, upsert: [{ ...first!, ready: !first!.ready }, added], remove: [second!.podId] })
    const applied = applyDelta(base, delta!)
    expect(applied._tag).toBe("Applied")
    expect(toSnapshot(applied.set)).toEqual(toSnapshot(fromSnapshot({ revision: 11, records: [{ ...first!, ready: !first!.ready }, ...rest, added] })))
  })

  it("is none when nothing changed (the same records as new objects)", () => {
    expect(deltaBetween(base, [...base.pods.values()].map((r) => ({ ...r })))).toBeUndefined()
  })
})

describe("readiness", () => {
  const cases: ReadonlyArray<readonly [PodStatus, PodHealth | undefined, boolean]> = [
    ["running", undefined, true], // no probe: ready once Running
    ["running", "healthy", true],
    ["running", "starting", false], // the probe has not passed yet
    ["running", "unhealthy", false],
    ["creating", undefined, false],
    ["pending", undefined, false],
    ["restarting", "healthy", false],
    ["stopping", "healthy", false],
    ["stopped", undefined, false],
    ["failed", undefined, false],
    ["crashloopbackoff", undefined, false]
  ]
  it.each(cases)("a %s pod with health %s is ready: %s", (status, health, ready) => {
    expect(podReady(status, health)).toBe(ready)
  })
})

describe("a pod's record from the orchestrator's pod", () => {
  const podRecord = {
    id: PodId.make("p1"),
    project: "shop",
    deploymentName: "web",
    replicaIndex: 4,
    nodeId: NodeId.make("n1"),
    containerIp: "172.18.0.5",
    status: "running" as const,
    health: "healthy" as const,
    deploymentId: DeploymentId.make("d1")
  }

  it("carries the names, the node and readiness", () => {
    expect(recordOfPod(podRecord, "worker-1", "fd00::5")).toEqual({
      podId: "p1",
      project: "shop",
      deployment: "web",
      replicaIndex: 4,
      nodeId: "n1",
      nodeName: "worker-1",
      ipv4: "172.18.0.5",
      ipv6: "fd00::5",
      ready: true
    })
  })

  it("does not exist while the pod has no node or no container address", () => {
    expect(recordOfPod({ ...podRecord, nodeId: null }, "worker-1")).toBeUndefined()
    expect(recordOfPod({ ...podRecord, containerIp: null }, "worker-1")).toBeUndefined()
    expect(recordOfPod({ ...podRecord, containerIp: "" }, "worker-1")).toBeUndefined()
  })
})

describe("addresses", () => {
  it.each([
    ["10.0.0.2", "10.0.0.2"],
    ["::ffff:10.0.0.2", "10.0.0.2"], // what a dual-stack socket reports for an IPv4 client
    ["FD00::1", "fd00::1"],
    ["fe80::1%eth0", "fe80::1"]
  ])("%s is indexed as %s", (address, normalized) => {
    expect(normalizeAddress(address)).toBe(normalized)
  })
})
