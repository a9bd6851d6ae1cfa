// The scheduler as documented (concepts/scheduling.md) with the reference formula (§6), minus its bugs:
// memory units parse, the pod limit and recent failures are real, masters are only a fallback.
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { decodeSpec } from "../../src/domain/DeploymentSpec.js"
import { NodeId, NodeRecord, NodeResources } from "../../src/domain/Node.js"
import {
  applySetting,
  bestEffort,
  DEFAULT_MAX_PODS,
  defaultSchedulerConfig,
  failurePenalty,
  nodeSnapshot,
  place,
  placeMany,
  presetConfig,
  requestFor,
  SchedulerConfig,
  score,
  type NodeSnapshot,
  type PodRequest
} from "../../src/domain/Scheduler.js"

const NOW = 1_750_000_000_000
const MINUTE = 60_000
const GB = 1_000_000_000 // the reference's test values use decimal sizes
const GiB = 1024 ** 3
const MiB = 1024 ** 2

const spread = presetConfig("spread")
const binpack = presetConfig("binpack")

const node = (name: string, fields: Partial<NodeSnapshot> = {}): NodeSnapshot => ({
  id: NodeId.make(`id-${name}`),
  name,
  role: "Worker",
  eligible: true,
  cpuTotal: 4,
  cpuAvailable: 4,
  memoryTotal: 8 * GiB,
  memoryAvailable: 8 * GiB,
  pods: 0,
  maxPods: DEFAULT_MAX_PODS,
  recentFailures: [],
  ...fields
})

const scoreOf = (n: NodeSnapshot, request: PodRequest, config: SchedulerConfig = spread) =>
  Either.getOrThrow(score(n, request, config, NOW))

const chosen = (nodes: ReadonlyArray<NodeSnapshot>, request: PodRequest = bestEffort, config = spread) =>
  Either.getOrThrow(place(nodes, request, config, NOW)).nodeName

const failure = (nodes: ReadonlyArray<NodeSnapshot>, request: PodRequest = bestEffort) => {
  const result = place(nodes, request, spread, NOW)
  if (Either.isRight(result)) throw new Error(`expected no placement, got ${result.right.nodeName}`)
  return result.left.message
}

describe("the score (reference §6 values)", () => {
  const idle = node("idle", { cpuTotal: 4, cpuAvailable: 4, memoryTotal: 8 * GB, memoryAvailable: 8 * GB, maxPods: 100 })

  it("an idle node with a 0.5 CPU / 512 MB request scores 0.63385", () => {
    expect(scoreOf(idle, { cpu: 0.5, memoryBytes: 512_000_000 })).toBeCloseTo(0.63385, 10)
  })

  it("a half-loaded node (2/4 CPU, 4/8 GB, 50/100 pods) scores 0.275 for a best-effort pod", () => {
    const half = node("half", { ...idle, cpuAvailable: 2, memoryAvailable: 4 * GB, pods: 50 })
    expect(scoreOf(half, bestEffort)).toBeCloseTo(0.275, 10)
  })

  it("an idle node scores 0.70 for a best-effort pod, 0.55 with one failure just now", () => {
    expect(scoreOf(idle, bestEffort)).toBeCloseTo(0.7, 10)
    expect(scoreOf({ ...idle, recentFailures: [NOW] }, bestEffort)).toBeCloseTo(0.55, 10)
  })

  it("a failure's penalty decays: e^-1 after 10 minutes, about 0.0498 after 30", () => {
    expect(failurePenalty([NOW - 10 * MINUTE], NOW)).toBeCloseTo(Math.exp(-1), 10)
    expect(failurePenalty([NOW - 30 * MINUTE], NOW)).toBeCloseTo(0.0498, 4)
    expect(failurePenalty([NOW, NOW, NOW - MINUTE], NOW)).toBe(1)
    expect(failurePenalty([], NOW)).toBe(0)
  })
})

describe("hard filters", () => {
  it("memory units: a 512m request needs 512 MiB (the reference parsed it to 0)", () => {
    const spec = Either.getOrThrow(decodeSpec({
      project: "p",
      deployment: { name: "d" },
      image: "x",
      resources: { cpu: 0.5, memory: "512m" }
    }))
    const request = requestFor(spec)
    expect(request).toEqual({ cpu: 0.5, memoryBytes: 512 * MiB })
    const small = node("small", { memoryTotal: 1 * GiB, memoryAvailable: 256 * MiB })
    expect(score(small, request, spread, NOW)).toEqual(Either.left("needs 512 MiB memory, 256 MiB available"))
    expect(chosen([small, node("big")], request)).toBe("big")
  })

  it("CPU: a node with less CPU free than requested is skipped", () => {
    const busy = node("busy", { cpuAvailable: 0.25 })
    expect(score(busy, { cpu: 1, memoryBytes: 0 }, spread, NOW)).toEqual(Either.left("needs 1 CPU, 0.25 available"))
    expect(chosen([busy, node("free", { cpuAvailable: 1 })], { cpu: 1, memoryBytes: 0 })).toBe("free")
  })

  it("capacity: a node at its pod limit (default 110) takes no more, even best-effort", () => {
    expect(DEFAULT_MAX_PODS).toBe(110)
    const full = node("full", { pods: 110 })
    expect(score(full, bestEffort, spread, NOW)).toEqual(Either.left("pod limit reached (110/110)"))
    expect(chosen([full, node("other", { pods: 109 })])).toBe("other")
    expect(chosen([node("small", { maxPods: 2, pods: 2 }), node("other", { pods: 50 })])).toBe("other")
  })

  it("a best-effort pod has no CPU or memory floor", () => {
    expect(chosen([node("empty", { cpuAvailable: 0, memoryAvailable: 0 })])).toBe("empty")
  })

  it("NotReady and draining workers are not candidates", () => {
    const notReady = node("a-not-ready", { eligible: false })
    const draining = node("b-draining", { eligible: false })
    expect(chosen([notReady, draining, node("c-ready", { pods: 100 })])).toBe("c-ready")
    expect(failure([notReady, draining])).toBe("no node can run this pod: no node is Ready (2 NotReady or draining)")
  })
})

describe("master fallback", () => {
  const master = node("master", { role: "Master" })

  it("the master takes no pod while a worker is eligible, even a busier one", () => {
    expect(chosen([master, node("worker", { cpuAvailable: 0.5, pods: 80 })])).toBe("worker")
  })

  it("the master runs the pod when no worker is eligible", () => {
    expect(chosen([master])).toBe("master")
    expect(chosen([master, node("worker", { eligible: false })])).toBe("master")
  })

  it("the master runs the pod when no eligible worker fits it", () => {
    expect(chosen([master, node("worker", { cpuAvailable: 0.1 })], { cpu: 1, memoryBytes: 0 })).toBe("master")
  })

  it("a draining master is no fallback", () => {
    expect(failure([node("master", { role: "Master", eligible: false })])).toBe(
      "no node can run this pod: no node is Ready (1 NotReady or draining)"
    )
  })
})

describe("when nothing fits", () => {
  it("the error names each node and why", () => {
    const message = failure(
      [node("w1", { cpuAvailable: 0.5 }), node("w2", { pods: 110 }), node("w3", { eligible: false })],
      { cpu: 1, memoryBytes: 0 }
    )
    expect(message).toBe(
      "no node can run this pod: w1: needs 1 CPU, 0.5 available; w2: pod limit reached (110/110); 1 not Ready or draining"
    )
  })

  it("an empty cluster says so", () => {
    expect(failure([])).toBe("no node can run this pod: no nodes are registered")
  })

  it("a big cluster's reasons are abbreviated", () => {
    const full = Array.from({ length: 20 }, (_, i) => node(`w${i}`, { pods: 110 }))
    expect(failure(full)).toMatch(/; and 15 more$/)
  })
})

describe("strategies", () => {
  const busy = node("busy", { cpuAvailable: 1, memoryAvailable: 2 * GiB, pods: 30 })
  const idle = node("idle")

  it("spread prefers the idle node, binpack the busy one", () => {
    const request = { cpu: 0.5, memoryBytes: 256 * MiB }
    expect(chosen([busy, idle], request, spread)).toBe("idle")
    expect(chosen([busy, idle], request, binpack)).toBe("busy")
  })

  it("spread places 4 replicas 2+2 over two equal workers; binpack stacks them", () => {
    const two = [node("a"), node("b")]
    const requests = Array.from({ length: 4 }, () => ({ cpu: 0.5, memoryBytes: 512 * MiB }))
    const names = (config: SchedulerConfig) =>
      placeMany(two, requests, config, NOW).map((r) => Either.getOrThrow(r).nodeName)
    expect(names(spread)).toEqual(["a", "b", "a", "b"])
    expect(names(binpack)).toEqual(["a", "a", "a", "a"])
  })

  it("spread spreads best-effort pods by pod count", () => {
    const results = placeMany([node("a"), node("b"), node("c")], Array(6).fill(bestEffort), spread, NOW)
    const counts = new Map<string, number>()
    for (const r of results) {
      const name = Either.getOrThrow(r).nodeName
      counts.set(name, (counts.get(name) ?? 0) + 1)
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 2, b: 2, c: 2 })
  })

  it("placeMany uses up capacity and reports the pods that do not fit, without stopping", () => {
    const results = placeMany([node("only", { cpuAvailable: 1 })], Array(3).fill({ cpu: 0.5, memoryBytes: 0 }), spread, NOW)
    expect(results.map(Either.isRight)).toEqual([true, true, false])
    expect(placeMany([node("a")], [], spread, NOW)).toEqual([])
  })

  it("a placement reports the winner's score, and the caller's snapshots are left as they were", () => {
    const nodes = [node("a", { pods: 4, recentFailures: [NOW - 5 * MINUTE] }), node("b", { cpuAvailable: 1 })]
    const request = { cpu: 0.5, memoryBytes: 256 * MiB }
    for (const config of [spread, binpack]) {
      const placement = Either.getOrThrow(place(nodes, request, config, NOW))
      const winner = nodes.find((n) => n.name === placement.nodeName)!
      expect(placement.score).toBe(scoreOf(winner, request, config))
    }
    placeMany(nodes, [request, request], spread, NOW)
    expect(nodes[1]).toMatchObject({ cpuAvailable: 1, pods: 0 })
  })

  it("a node with a recent failure loses to an equal clean node; an old failure barely matters", () => {
    const flaky = node("a-flaky", { recentFailures: [NOW - MINUTE] })
    expect(chosen([flaky, node("b-clean")])).toBe("b-clean")
    expect(chosen([flaky, node("b-clean")], bestEffort, binpack)).toBe("b-clean")
    const long = node("a-long-ago", { recentFailures: [NOW - 120 * MINUTE] })
    expect(chosen([long, node("b-busier", { pods: 5 })])).toBe("a-long-ago")
  })

  it("ties go to the node with fewer pods, then to the first name", () => {
    const tied = { ...presetConfig("spread"), weights: { cpu: 0, memory: 0, load: 0, failure: 0 } }
    expect(chosen([node("a", { pods: 3 }), node("b", { pods: 1 })], bestEffort, tied)).toBe("b")
    expect(chosen([node("b"), node("a")], bestEffort, tied)).toBe("a")
  })
})

describe("configuration", () => {
  it("defaults to spread with the documented weights", () => {
    expect(defaultSchedulerConfig).toEqual({
      strategy: "spread",
      weights: { cpu: 0.35, memory: 0.35, load: 0.15, failure: 0.15 }
    })
  })

  it("`scheduler binpack` resets all four weights to the preset", () => {
    const custom = Either.getOrThrow(applySetting(defaultSchedulerConfig, "scheduler.weights.cpu", "0.9"))
    expect(Either.getOrThrow(applySetting(custom, "scheduler", "binpack"))).toEqual({
      strategy: "binpack",
      weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.15 }
    })
  })

  it("`scheduler.weights.cpu 0.5` sets one weight and the strategy becomes custom", () => {
    expect(Either.getOrThrow(applySetting(defaultSchedulerConfig, "scheduler.weights.cpu", "0.5"))).toEqual({
      strategy: "custom",
      weights: { cpu: 0.5, memory: 0.35, load: 0.15, failure: 0.15 }
    })
    expect(Either.getOrThrow(applySetting(defaultSchedulerConfig, "scheduler.weights.load", -0.2)).weights.load).toBe(-0.2)
  })

  it("rejects unknown keys, strategies and non-numbers with a message", () => {
    const message = (key: string, value: string) => {
      const result = applySetting(defaultSchedulerConfig, key, value)
      return Either.isLeft(result) ? result.left.message : "accepted"
    }
    expect(message("scheduler.weight.cpu", "0.5")).toBe(
      "unknown config key 'scheduler.weight.cpu' (known: scheduler, scheduler.weights.cpu, scheduler.weights.memory, scheduler.weights.load, scheduler.weights.failure)"
    )
    expect(message("scheduler.weights.disk", "1")).toMatch(/^unknown config key 'scheduler.weights.disk'/)
    expect(message("scheduler", "custom")).toBe("invalid value 'custom' for scheduler: expected spread or binpack")
    expect(message("scheduler", "fast")).toBe("invalid value 'fast' for scheduler: expected spread or binpack")
    expect(message("scheduler.weights.cpu", "lots")).toBe(
      "invalid value 'lots' for scheduler.weights.cpu: expected a finite number, like 0.35 or -0.3"
    )
    expect(message("scheduler.weights.cpu", "")).toMatch(/expected a finite number/)
    expect(message("scheduler.weights.cpu", "Infinity")).toMatch(/expected a finite number/)
    expect(message("scheduler.weights.failure", "-0.1")).toBe(
      "invalid value '-0.1' for scheduler.weights.failure: expected a number ≥ 0 (failures are always a penalty)"
    )
  })

  it("round-trips as JSON (it is persisted)", () => {
    const config = Either.getOrThrow(applySetting(binpack, "scheduler.weights.memory", "-0.5"))
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(SchedulerConfig)(config)))
    expect(Schema.decodeUnknownSync(SchedulerConfig)(json)).toEqual(config)
  })
})

describe("snapshots from node records", () => {
  it("count capacity by what the node's pods requested, and eligibility by drain and liveness", () => {
    const record = new NodeRecord({
      id: NodeId.make("n1"),
      name: "w1",
      address: "10.0.0.2:6444",
      role: "Worker",
      schedulable: "draining",
      liveness: "Ready",
      resources: new NodeResources({ cpuCores: 4, memoryBytes: 8 * GiB, cpuAvailable: 3.9, memoryAvailable: 7 * GiB }),
      lastHeartbeatMs: NOW,
      joinedAtMs: NOW
    })
    const snapshot = nodeSnapshot(record, { pods: 3, cpuRequested: 1.5, memoryRequested: 2 * GiB, recentFailures: [] })
    expect(snapshot).toMatchObject({
      eligible: false,
      cpuTotal: 4,
      cpuAvailable: 2.5,
      memoryAvailable: 6 * GiB,
      pods: 3,
      maxPods: DEFAULT_MAX_PODS
    })
  })
})
