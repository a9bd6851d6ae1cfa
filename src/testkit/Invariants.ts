// What must hold in a simulated cluster whatever fails: checked against the master's store, the
// registry and every worker's engine (the containers that really run, not what the master believes).
import { Effect } from "effect"
import { parseMemory } from "../domain/DeploymentSpec.js"
import { isEligible, type NodeRecord } from "../domain/Node.js"
import { parseTemplate } from "../layers/orchestrator/Assignments.js"
import type { PodRow } from "../layers/orchestrator/Store.js"
import { NodeRegistry } from "../services/cluster/NodeRegistry.js"
import { Orchestrator } from "../services/orchestrator/Orchestrator.js"
import { type Cluster, internals, type SimContainer } from "./Cluster.js"

/** The invariants, by name. */
export type InvariantName =
  /** a replica index runs in two containers and the master has forgotten one of them (fencing failed) */
  | "replica-runs-twice"
  /** a pod was placed on a node that was NotReady, dead or draining when the decision was made */
  | "placed-on-unavailable-node"
  /** a node holds more pods, or more memory requests, than it has room for */
  | "capacity-exceeded"
  /** after a quiet spell, a deployment does not run its desired count (capacity allowing), or a stray container runs */
  | "not-converged"
  /** a master restart moved or replaced pods that ran on healthy nodes */
  | "restart-rescheduled"
  /** an operation or a daemon of the simulation died with a defect */
  | "daemon-crashed"

/** One broken invariant, with what shows it. */
export interface Violation {
  /** which one broke */
  readonly invariant: InvariantName
  /** virtual epoch ms when it was seen */
  readonly atMs: number
  /** what shows it, in a line: which replica on which workers, which node, which deployment */
  readonly detail: string
}

const running = (containers: ReadonlyArray<SimContainer>) => containers.filter((c) => c.state === "running")

const memoryOfRow = (row: PodRow): number => parseTemplate(row.templateJson).memoryBytes

const masterView = <A>(cluster: Cluster, fallback: A, effect: Effect.Effect<A, never, NodeRegistry | Orchestrator>) =>
  Effect.flatMap(cluster.master.running(), (up) => (up ? cluster.master.use(effect) : Effect.succeed(fallback)))

/**
 * No replica twice: the same index in two running containers is a planned overlap (a rolling
 * replacement, a drain) only while the master still has both pods; one it forgot (its node was
 * declared dead) still running beside its replacement is what fencing must prevent.
 */
const replicasTwice = (rows: ReadonlyArray<PodRow>, live: ReadonlyArray<SimContainer>, atMs: number): Array<Violation> => {
  const violations: Array<Violation> = []
  const known = new Set<string>(rows.map((r) => r.id))
  const byReplica = new Map<string, Array<SimContainer>>()
  const byPod = new Map<string, Set<string>>()
  for (const c of live) {
    const key = `${c.project}/${c.deployment}-${c.replicaIndex}`
    byReplica.set(key, [...(byReplica.get(key) ?? []), c])
    byPod.set(c.podId, (byPod.get(c.podId) ?? new Set()).add(c.worker))
  }
  for (const [replica, containers] of byReplica) {
    if (containers.length < 2) continue
    const forgotten = containers.filter((c) => !known.has(c.podId))
    if (forgotten.length === 0) continue
    violations.push({
      invariant: "replica-runs-twice",
      atMs,
      detail: `${replica} runs ${containers.length} times: ${
        containers.map((c) => `pod ${c.podId.slice(0, 8)} on ${c.worker}${known.has(c.podId) ? "" : " (forgotten by the master)"}`).join(", ")
      }`
    })
  }
  for (const [podId, workers] of byPod) {
    if (workers.size > 1) {
      violations.push({ invariant: "replica-runs-twice", atMs, detail: `pod ${podId.slice(0, 8)} runs on ${[...workers].join(" and ")}` })
    }
  }
  return violations
}

/** What `watch` saw, per cluster. */
const watched = new WeakMap<Cluster, Array<Violation>>()

/**
 * Check "no replica twice" right after every container start on any engine, not only when `always`
 * is called: a replica that runs twice for a few seconds between two looks is caught too. `always`
 * then also reports what was seen.
 */
export const watch = (cluster: Cluster): Effect.Effect<void> =>
  Effect.sync(() => {
    if (watched.has(cluster)) return
    const seen: Array<Violation> = []
    watched.set(cluster, seen)
    const sim = internals(cluster)
    sim.onContainerStart.push(() =>
      Effect.gen(function*() {
        const found = replicasTwice(yield* sim.store.pods, running(yield* cluster.containers()), yield* cluster.now())
        for (const v of found) if (!seen.some((s) => s.detail === v.detail)) seen.push(v)
      }))
  })

/**
 * The invariants that hold at every moment: no replica index runs twice behind the master's back, no
 * pod was ever placed on a node that could not take it, no node over its capacity (in the master's
 * books and on its engine). With `watch`, also every replica seen twice at a container start.
 */
export const always = (cluster: Cluster): Effect.Effect<ReadonlyArray<Violation>> =>
  Effect.gen(function*() {
    const sim = internals(cluster)
    const atMs = yield* cluster.now()
    const rows = yield* sim.store.pods
    const live = running(yield* cluster.containers())
    const seen = watched.get(cluster) ?? []
    const violations: Array<Violation> = [
      ...seen,
      ...replicasTwice(rows, live, atMs).filter((v) => !seen.some((w) => w.detail === v.detail))
    ]

    for (const p of sim.ineligiblePlacements) {
      violations.push({
        invariant: "placed-on-unavailable-node",
        atMs: p.atMs,
        detail: `pod ${p.pod} placed on '${p.node}' while it was ${p.schedulable === "draining" ? "draining" : p.liveness}`
      })
    }

    // capacity, as the master books it (every pod still on a node holds its room) and on each engine
    const nodes = yield* masterView(cluster, [] as ReadonlyArray<NodeRecord>, Effect.flatMap(NodeRegistry, (r) => r.list))
    const maxPods = sim.config.maxPods
    for (const node of nodes) {
      const mine = rows.filter((r) => r.nodeId === node.id)
      const memory = mine.reduce((sum, r) => sum + memoryOfRow(r), 0)
      if (mine.length > maxPods) {
        violations.push({ invariant: "capacity-exceeded", atMs, detail: `'${node.name}' is given ${mine.length} pods (max ${maxPods})` })
      }
      if (memory > node.resources.memoryBytes) {
        violations.push({
          invariant: "capacity-exceeded",
          atMs,
          detail: `'${node.name}' is given ${memory} bytes of memory requests, it has ${node.resources.memoryBytes}`
        })
      }
    }
    for (const host of sim.hosts) {
      const mine = live.filter((c) => c.worker === host.name)
      const memory = mine.reduce((sum, c) => sum + c.memoryBytes, 0)
      if (mine.length > maxPods) {
        violations.push({ invariant: "capacity-exceeded", atMs, detail: `'${host.name}' runs ${mine.length} containers (max ${maxPods})` })
      }
      if (memory > host.settings.resources.memoryBytes) {
        violations.push({
          invariant: "capacity-exceeded",
          atMs,
          detail: `'${host.name}' runs ${memory} bytes of memory limits, it has ${host.settings.resources.memoryBytes}`
        })
      }
    }
    return violations
  })

/**
 * Could every deployment get its pods placed whatever order the scheduler takes them in? A pod is
 * left unplaced only when every eligible node is full by count or short of memory; this holds when,
 * even with the fullest nodes (by count) set aside, the rest have room for every request plus one
 * pod's worth each.
 */
export const capacityAllows = (
  nodes: ReadonlyArray<NodeRecord>,
  requests: ReadonlyArray<number>,
  maxPods: number
): boolean => {
  const eligible = nodes.filter((n) => n.role === "Worker" && isEligible(n))
  if (requests.length === 0) return true
  const largest = Math.max(...requests)
  const total = requests.reduce((a, b) => a + b, 0)
  const countBlocked = Math.floor(requests.length / maxPods)
  const usable = eligible.length - countBlocked
  if (usable < 1) return false
  const room = eligible.map((n) => Math.max(0, n.resources.memoryBytes - largest)).sort((a, b) => a - b).slice(0, usable)
  return room.reduce((a, b) => a + b, 0) >= total
}

/**
 * After a quiet spell (no fault active, time for reports): every deployment runs exactly its desired
 * count when capacity allows, and no container runs that is not one of those pods.
 */
export const converged = (cluster: Cluster): Effect.Effect<ReadonlyArray<Violation>> =>
  Effect.gen(function*() {
    const sim = internals(cluster)
    const atMs = yield* cluster.now()
    if (!(yield* cluster.master.running())) return []
    const deployments = yield* cluster.deployments()
    const nodes = yield* cluster.master.use(Effect.flatMap(NodeRegistry, (r) => r.list))
    const requests = deployments.flatMap((d) => {
      const memory = d.spec.resources === undefined ? 0 : (parseMemory(d.spec.resources.memory) ?? 0)
      return Array.from({ length: d.replicas }, () => memory)
    })
    if (!capacityAllows(nodes, requests, sim.config.maxPods)) return []
    const violations: Array<Violation> = []
    for (const d of deployments) {
      if (d.ready_replicas !== d.replicas) {
        violations.push({
          invariant: "not-converged",
          atMs,
          detail: `${d.project}/${d.name} runs ${d.ready_replicas} of ${d.replicas} replica(s) (status ${d.status})`
        })
      }
    }
    const pods = yield* cluster.pods()
    const serving = new Set(pods.filter((p) => p.status === "running").map((p) => p.id))
    for (const c of running(yield* cluster.containers())) {
      if (!serving.has(c.podId)) {
        violations.push({ invariant: "not-converged", atMs, detail: `container ${c.name} still runs on ${c.worker} (not a running pod)` })
      }
    }
    return violations
  })
