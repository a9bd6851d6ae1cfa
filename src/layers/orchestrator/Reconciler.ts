// The effectful half of reconciling: read the store and the nodes, run the pure plan, write the result,
// push each node's changed Assignment; take node reports and node deaths. Callers hold the writer lock.
import { randomUUID } from "node:crypto"
import { Clock, Duration, Effect, Option, type Ref, Schema } from "effect"
import { parseStoredSpec } from "../../domain/DeploymentSpec.js"
import type { NodeId, NodeRecord } from "../../domain/Node.js"
import { gaveUp } from "../../domain/RestartRules.js"
import { FAILURE_MEMORY_MS, type SchedulerConfig } from "../../domain/Scheduler.js"
import {
  effectiveReplicas,
  PodExitReason,
  PodHealth,
  PodId,
  PodStatus,
  podName,
  type ProjectStatus
} from "../../domain/Workload.js"
import type { PodEvent, PodReport } from "../../domain/PodReport.js"
import type { DaemonConfigShape } from "../../services/DaemonConfig.js"
import type { EventLog } from "../../services/observability/EventLog.js"
import type { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { Metrics } from "../../services/observability/Metrics.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import type { WorkerChannels } from "../../services/cluster/WorkerChannels.js"
import type { Generations, ParseTemplate } from "./Assignments.js"
import { makeMemo } from "./Memo.js"
import { type DeploymentState, plan, type Plan } from "./Plan.js"
import type { SecretEnv } from "./SecretEnv.js"
import type { DeploymentRow, PodChanges, PodRow, Store } from "./Store.js"

const isPodStatus = Schema.is(PodStatus)
const isExitReason = Schema.is(PodExitReason)
const isHealth = Schema.is(PodHealth)

/** How a pod is named in logs: `pod shop/api-0 (1a2b3c4d)`. */
export const label = (pod: Pick<PodRow, "project" | "deploymentName" | "replicaIndex" | "id">) =>
  `pod ${pod.project}/${podName(pod.deploymentName, pod.replicaIndex)} (${pod.id.slice(0, 8)})`

export const nodeName = (nodes: ReadonlyArray<NodeRecord>, id: NodeId | null) =>
  id === null ? null : (nodes.find((n) => n.id === id)?.name ?? null)

/** The columns of a pod that a report changes; empty when nothing did (then nothing is written). */
const reportedChanges = (row: PodRow, s: PodReport): PodChanges => {
  const changes: { -readonly [K in keyof PodChanges]: PodChanges[K] } = {}
  if (isPodStatus(s.status) && s.status !== row.status) changes.status = s.status
  const containerId = s.containerId === "" ? null : s.containerId
  if (containerId !== row.containerId) changes.containerId = containerId
  const containerIp = s.containerIp === "" ? null : s.containerIp
  if (containerIp !== row.containerIp) changes.containerIp = containerIp
  if (s.restartCount !== row.restartCount) changes.restartCount = s.restartCount
  const message = s.message === "" ? null : s.message
  if (message !== row.message) changes.message = message
  // what the worker knows of the last exit and the probe: proto3 zero values mean "none"
  const exitCode = s.exited ? s.exitCode : null
  if (exitCode !== row.exitCode) changes.exitCode = exitCode
  const reason = isExitReason(s.reason) ? s.reason : null
  if (reason !== row.reason) changes.reason = reason
  const health = isHealth(s.health) ? s.health : null
  if (health !== row.health) changes.health = health
  const lastExitAtMs = s.lastExitAtMs > 0 ? s.lastExitAtMs : null
  if (lastExitAtMs !== row.lastExitAtMs) changes.lastExitAtMs = lastExitAtMs
  const startedAtMs = s.startedAtMs > 0 ? s.startedAtMs : null
  if (startedAtMs !== row.startedAtMs) changes.startedAtMs = startedAtMs
  return changes
}

/** The orchestrator's one-writer lock: passes, reports and operator actions never interleave their read-decide-write. */
export type WriterLock = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>

export interface ReconcilerDeps {
  readonly config: DaemonConfigShape
  readonly store: Store
  readonly registry: NodeRegistry["Type"]
  readonly channels: WorkerChannels["Type"]
  readonly local: LocalWorkload["Type"]
  readonly generations: Generations
  readonly scheduler: Ref.Ref<SchedulerConfig>
  /** the cluster's event stream: the pods' side of it is recorded here */
  readonly eventLog: EventLog["Type"]
  /** decrypts each pod's secrets into its assignment */
  readonly secretEnv: SecretEnv
  /** the orchestrator's memoised template parser (the plan reads every pod's template each pass) */
  readonly parseTemplate: ParseTemplate
  /** ask for another pass soon (a rollout or migration can take its next step) */
  readonly wakeUp: Effect.Effect<void>
}

export const makeReconciler = (deps: ReconcilerDeps) => {
  const { channels, config, eventLog, generations, local, registry, store } = deps
  // every pass reads every deployment's stored spec; they change only on a deploy
  const specOf = makeMemo(parseStoredSpec)

  const podEvent = (pod: Pick<PodRow, "deploymentName" | "replicaIndex">, action: string, message: string) =>
    eventLog.record({ kind: "pod", name: podName(pod.deploymentName, pod.replicaIndex), action, message })

  /** This host's own node (the master registers itself as one; absent for a moment at first start). */
  const localNodeOf = (nodes: ReadonlyArray<NodeRecord>) => nodes.find((n) => n.name === config.nodeName)

  const projectStatuses = Effect.map(
    store.projects,
    (rows): ReadonlyMap<string, ProjectStatus> => new Map(rows.map((p) => [p.name, p.status]))
  )

  const deploymentStates = (
    rows: ReadonlyArray<DeploymentRow>,
    projects: ReadonlyMap<string, ProjectStatus>
  ): Array<DeploymentState> =>
    rows.map((row) => ({
      row,
      spec: specOf(row.specJson),
      desired: effectiveReplicas({ replicas: row.replicas, stopped: row.stopped === 1 }, projects.get(row.project) ?? "active")
    }))

  /** Tell every node whose set changed: the local one in-process, the others over their stream. */
  const pushAssignments = (nodes: ReadonlyArray<NodeRecord>) =>
    Effect.gen(function*() {
      const byNode = new Map<NodeId, Array<PodRow>>()
      const runIds = new Set<PodId>()
      for (const pod of yield* store.pods) {
        if (pod.desired === "run") runIds.add(pod.id)
        if (pod.desired !== "run" || pod.nodeId === null) continue
        const list = byNode.get(pod.nodeId)
        if (list === undefined) byNode.set(pod.nodeId, [pod])
        else list.push(pod)
      }
      const me = localNodeOf(nodes)
      for (const node of nodes) {
        const mine = yield* deps.secretEnv.assign(byNode.get(node.id) ?? [])
        // synchronous: most nodes' sets are unchanged on most passes
        const { changed, generation } = generations.stampNow(node.id, mine)
        if (!changed) continue
        const assignment = { generation, pods: mine }
        if (node.id === me?.id) {
          yield* local.apply(assignment)
        } else {
          // not connected: it gets this same set (and generation) from `desired` when its stream opens
          yield* channels.send(node.id, { _tag: "Assignment", assignment })
        }
        yield* Effect.logDebug(`node '${node.name}' assigned ${mine.length} pod(s), generation ${generation}`)
      }
      yield* generations.retain(new Set(nodes.map((n) => n.id)))
      yield* deps.secretEnv.retain(runIds)
    })

  const applyPlan = (p: Plan, nodes: ReadonlyArray<NodeRecord>, nowMs: number) =>
    Effect.gen(function*() {
      const unplacedRetired = p.retire.filter((r) => r.pod.nodeId === null).map((r) => r.pod.id)
      yield* store.transaction(Effect.gen(function*() {
        yield* store.deletePods([...p.lost.map((pod) => pod.id), ...p.forget, ...unplacedRetired])
        yield* store.recordFailures(p.lost.map((pod) => pod.nodeId!), nowMs, nowMs - FAILURE_MEMORY_MS)
        for (const { pod } of p.retire) {
          if (pod.nodeId !== null) yield* store.updatePod(pod.id, { desired: "retire", status: "stopping" })
        }
        for (const pod of p.create) yield* store.insertPod(pod)
        for (const { changes, pod } of p.place) yield* store.updatePod(pod.id, changes)
      }))
      for (const pod of p.lost) {
        const name = nodeName(nodes, pod.nodeId) ?? pod.nodeId
        yield* Effect.logWarning(`${label(pod)} failed: node '${name}' is dead or removed; it will be replaced`)
        yield* podEvent(pod, "rescheduled", `node '${name}' is dead or removed; a replacement is scheduled`)
      }
      for (const { pod, reason } of p.retire) {
        yield* Effect.logInfo(`${label(pod)} retired: ${reason}`)
        yield* podEvent(pod, "stopped", reason)
      }
      for (const pod of p.create) {
        if (pod.nodeId === null) continue // told by `announcePending`
        yield* Effect.logInfo(`${label(pod)} placed on node '${nodeName(nodes, pod.nodeId)}'`)
        yield* podEvent(pod, "scheduled", `placed on node '${nodeName(nodes, pod.nodeId)}'`)
      }
      for (const { changes, pod } of p.place) {
        if (changes.nodeId !== undefined && changes.nodeId !== null) {
          yield* Effect.logInfo(`${label(pod)} placed on node '${nodeName(nodes, changes.nodeId)}'`)
          yield* podEvent(pod, "scheduled", `placed on node '${nodeName(nodes, changes.nodeId)}'`)
        }
      }
    })

  // why each unplaced pod last was: a `pending` event per pod and reason, not one per pass
  const pendingReasons = new Map<PodId, string>()

  /** Tell each pod no node can run, once per reason; forget the pods placed or gone meanwhile. */
  const announcePending = (unplaced: Plan["unplaced"]) =>
    Effect.gen(function*() {
      const still = new Set<PodId>()
      for (const { pod, reason } of unplaced) {
        still.add(pod.id)
        if (pendingReasons.get(pod.id) === reason) continue
        pendingReasons.set(pod.id, reason)
        yield* Effect.logWarning(`${label(pod)} pending: ${reason}`)
        yield* podEvent(pod, "pending", reason)
      }
      for (const id of pendingReasons.keys()) if (!still.has(id)) pendingReasons.delete(id)
    })

  /** One pass: plan from what the store and the registry say now, write the changes, push the sets. */
  const pass = Effect.gen(function*() {
    const metrics = yield* Metrics
    const startNs = yield* Clock.currentTimeNanos
    const nowMs = yield* Clock.currentTimeMillis
    const nodes = yield* registry.list
    const input = {
      nodes,
      deployments: deploymentStates(yield* store.deployments, yield* projectStatuses),
      pods: yield* store.pods,
      failures: yield* store.failuresSince(nowMs - FAILURE_MEMORY_MS),
      config: yield* deps.scheduler.get,
      maxPods: config.maxPods,
      nowMs,
      newPodId: () => PodId.make(randomUUID()),
      parseTemplate: deps.parseTemplate
    }
    const planStartNs = yield* Clock.currentTimeNanos
    const p = plan(input)
    // a pass with pods to place took a scheduling decision: the (pure) planning is its time
    if (p.create.length + p.place.length > 0) {
      yield* metrics.observeSchedule(input.config.strategy, Duration.nanos((yield* Clock.currentTimeNanos) - planStartNs))
    }
    const changes = p.lost.length + p.forget.length + p.retire.length + p.create.length + p.place.length
    if (changes > 0) yield* applyPlan(p, nodes, nowMs)
    if (p.unplaced.length > 0 || pendingReasons.size > 0) yield* announcePending(p.unplaced)
    yield* pushAssignments(nodes)
    yield* metrics.observeReconcile(Duration.nanos((yield* Clock.currentTimeNanos) - startNs))
  })

  /** What a node says it runs. SQLite is written only when something changed. */
  const report = (nodeId: NodeId, statuses: ReadonlyArray<PodReport>, appliedGeneration: number) =>
    Effect.gen(function*() {
      const rows = yield* store.podsOfNode(nodeId)
      if (rows.length === 0) return
      const reported = new Map(statuses.map((s) => [s.podId, s]))
      const lastSent = yield* generations.lastSent(nodeId)
      // the node has applied the newest set, which lists no retired pod: what it no longer reports is gone
      const caughtUp = lastSent !== undefined && appliedGeneration >= lastSent
      const gone: Array<PodId> = []
      const updates: Array<readonly [PodRow, PodChanges]> = []
      let failures = 0
      for (const row of rows) {
        const s = reported.get(row.id)
        if (row.desired === "retire") {
          if (s === undefined && caughtUp) gone.push(row.id)
          continue
        }
        if (s === undefined) continue
        const changes = reportedChanges(row, s)
        if (Object.keys(changes).length === 0) continue
        updates.push([row, changes])
        if (changes.status !== undefined && gaveUp(changes.status)) failures++
      }
      if (updates.length === 0 && gone.length === 0) return
      const nowMs = yield* Clock.currentTimeMillis
      yield* store.transaction(Effect.gen(function*() {
        for (const [row, changes] of updates) yield* store.updatePod(row.id, changes)
        yield* store.deletePods(gone)
        // a pod giving up (image missing, crash loop) counts against its node for future placements
        yield* store.recordFailures(Array.from({ length: failures }, () => nodeId), nowMs, nowMs - FAILURE_MEMORY_MS)
      }))
      for (const [row, changes] of updates) {
        if (changes.status !== undefined) {
          const why = changes.message ?? row.message
          yield* Effect.logInfo(`${label(row)} is ${changes.status}${why ? `: ${why}` : ""}`)
        }
      }
      if (updates.some(([, c]) => c.status !== undefined) || gone.length > 0) yield* deps.wakeUp
    })

  /** What happened to a node's pods where they run (a ping's events), into the cluster's event stream. */
  const podEvents = (nodeId: NodeId, events: ReadonlyArray<PodEvent>) =>
    events.length === 0 ? Effect.void : Effect.gen(function*() {
      const rows = new Map((yield* store.podsOfNode(nodeId)).map((row) => [row.id as string, row]))
      for (const event of events) {
        const row = rows.get(event.podId)
        // a pod the master already forgot (removed meanwhile): still worth a line, by its id
        const name = row === undefined ? event.podId.slice(0, 8) : podName(row.deploymentName, row.replicaIndex)
        yield* eventLog.record({ kind: "pod", name, action: event.action, message: event.message })
      }
    })

  /** The local node's report, read from its LocalWorkload (it has no stream to ping on). */
  const localReport = Effect.gen(function*() {
    const me = localNodeOf(yield* registry.list)
    if (me === undefined) return Option.none()
    return Option.some({
      nodeId: me.id,
      statuses: yield* local.statuses,
      applied: yield* local.appliedGeneration,
      events: yield* local.takeEvents
    })
  })

  /** A node declared dead (announced once): its pods failed and move now, without waiting for a pass. */
  const nodeDied = (nodeId: NodeId, name: string) =>
    Effect.gen(function*() {
      const pods = (yield* store.podsOfNode(nodeId)).filter((p) => p.desired === "run")
      if (pods.length > 0) {
        const nowMs = yield* Clock.currentTimeMillis
        const node = yield* Effect.option(registry.get(nodeId))
        // back already (it pinged between the verdict and now)? its rows stay until it reports them gone
        const stillDead = Option.match(node, { onNone: () => true, onSome: (n) => n.liveness === "Dead" })
        yield* store.transaction(Effect.gen(function*() {
          if (stillDead) yield* store.deletePods(pods.map((p) => p.id))
          else {
            for (const pod of pods) {
              yield* store.updatePod(pod.id, { desired: "retire", status: "failed", message: `node '${name}' is dead` })
            }
          }
          yield* store.recordFailures(pods.map(() => nodeId), nowMs, nowMs - FAILURE_MEMORY_MS)
        }))
        yield* Effect.logWarning(`node '${name}' is dead: ${pods.length} pod(s) failed and are being replaced`)
        for (const pod of pods) yield* podEvent(pod, "rescheduled", `node '${name}' is dead; a replacement is scheduled`)
      }
      yield* pass
    })

  return { localNodeOf, projectStatuses, specOf, pass, report, podEvents, localReport, nodeDied } as const
}

export type Reconciler = ReturnType<typeof makeReconciler>
