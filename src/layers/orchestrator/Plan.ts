// One reconcile pass as a pure function: from desired state (deployments), actual state (pod rows,
// nodes) to the changes that converge them. Level-triggered: running it twice on the result changes nothing.
import { Either } from "effect"
import type { DeploymentSpec } from "../../domain/DeploymentSpec.js"
import type { NodeId, NodeRecord } from "../../domain/Node.js"
import { type NodeSnapshot, nodeSnapshot, placeMany, type SchedulerConfig } from "../../domain/Scheduler.js"
import type { DeploymentId, PodId } from "../../domain/Workload.js"
import { type ParseTemplate, templateOf } from "./Assignments.js"
import { type DeploymentRow, noPodDetails, type PodChanges, type PodRow, revisionOf } from "./Store.js"

export interface DeploymentState {
  readonly row: DeploymentRow
  readonly spec: DeploymentSpec
  /** pods it should run now: 0 when stopped or its project is suspended */
  readonly desired: number
}

export interface PlanInput {
  readonly nodes: ReadonlyArray<NodeRecord>
  readonly deployments: ReadonlyArray<DeploymentState>
  readonly pods: ReadonlyArray<PodRow>
  readonly failures: ReadonlyMap<NodeId, ReadonlyArray<number>>
  readonly config: SchedulerConfig
  readonly maxPods: number
  readonly nowMs: number
  readonly newPodId: () => PodId
  /** reads a pod's stored template (the orchestrator's memoised one; any pure parser will do) */
  readonly parseTemplate: ParseTemplate
}

export interface Retirement {
  readonly pod: PodRow
  readonly reason: string
}

export interface Plan {
  /** 'run' pods whose node is dead or removed: failed, and their rows go (nobody can report on them) */
  readonly lost: ReadonlyArray<PodRow>
  /** retired rows nobody will report on any more (never placed, node dead or removed) */
  readonly forget: ReadonlyArray<PodId>
  readonly retire: ReadonlyArray<Retirement>
  /** new pod rows, placed or pending */
  readonly create: ReadonlyArray<PodRow>
  /** pending pods placed now, or with a new reason for still pending */
  readonly place: ReadonlyArray<{ readonly pod: PodRow; readonly changes: PodChanges }>
  /** every pod left without a node after this pass, with why no node can run it */
  readonly unplaced: ReadonlyArray<{ readonly pod: PodRow; readonly reason: string }>
}

/** Replacements of changed or drained pods in flight per deployment (new before old, one index at a time). */
const MAX_SURGE = 1

/** Which of several pods for one slot to keep: running, then placed, then the oldest. */
const rank = (pod: PodRow) => (pod.status === "running" ? 0 : pod.nodeId !== null ? 1 : 2)
const byPreference = (a: PodRow, b: PodRow) => rank(a) - rank(b) || a.createdAtMs - b.createdAtMs

const groupBy = <K, A>(items: ReadonlyArray<A>, key: (a: A) => K): Map<K, Array<A>> => {
  const groups = new Map<K, Array<A>>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}

/**
 * The nodes as the scheduler sees them: capacity taken by the requests of every pod still on a node
 * (running or on its way out: its container holds the resources until it is removed).
 */
export const snapshotsOf = (
  nodes: ReadonlyArray<NodeRecord>,
  pods: ReadonlyArray<PodRow>,
  failures: ReadonlyMap<NodeId, ReadonlyArray<number>>,
  maxPods: number,
  parseTemplate: ParseTemplate
): Array<NodeSnapshot> => {
  const usage = new Map<NodeId, { pods: number; cpuRequested: number; memoryRequested: number }>()
  for (const pod of pods) {
    if (pod.nodeId === null) continue
    const t = parseTemplate(pod.templateJson)
    const u = usage.get(pod.nodeId) ?? { pods: 0, cpuRequested: 0, memoryRequested: 0 }
    usage.set(pod.nodeId, {
      pods: u.pods + 1,
      cpuRequested: u.cpuRequested + t.cpu,
      memoryRequested: u.memoryRequested + t.memoryBytes
    })
  }
  return nodes.map((node) =>
    nodeSnapshot(
      node,
      { ...(usage.get(node.id) ?? { pods: 0, cpuRequested: 0, memoryRequested: 0 }), recentFailures: failures.get(node.id) ?? [] },
      maxPods
    )
  )
}

export const plan = (input: PlanInput): Plan => {
  const nodes = new Map(input.nodes.map((n) => [n.id, n]))
  const gone = (id: NodeId) => {
    const node = nodes.get(id)
    return node === undefined || node.liveness === "Dead"
  }
  const draining = (id: NodeId | null) => id !== null && nodes.get(id)?.schedulable === "draining"
  const ready = (id: NodeId | null) => id !== null && nodes.get(id)?.liveness === "Ready"

  const lost = input.pods.filter((p) => p.desired === "run" && p.nodeId !== null && gone(p.nodeId))
  const lostIds = new Set(lost.map((p) => p.id))
  const forget = input.pods
    .filter((p) => p.desired === "retire" && (p.nodeId === null || gone(p.nodeId)))
    .map((p) => p.id)
  const running = input.pods.filter((p) => p.desired === "run" && !lostIds.has(p.id))
  const lingering = input.pods.filter((p) => p.desired === "retire" && p.nodeId !== null && !gone(p.nodeId))

  const retire: Array<Retirement> = []
  const retired = new Set<PodId>()
  const retireOne = (pod: PodRow, reason: string) => {
    if (retired.has(pod.id)) return
    retired.add(pod.id)
    retire.push({ pod, reason })
  }
  const wanted: Array<{ readonly deployment: DeploymentState; readonly index: number }> = []

  const known = new Set<DeploymentId>(input.deployments.map((d) => d.row.id))
  for (const pod of running) if (!known.has(pod.deploymentId)) retireOne(pod, "its deployment was removed")

  const runningByDeployment = groupBy(running, (p) => p.deploymentId)
  for (const deployment of input.deployments) {
    const { desired, row, spec } = deployment
    // a restart bumps the revision: every older pod is replaced like one of an older spec
    const revision = revisionOf(row)
    const pods = runningByDeployment.get(row.id) ?? []
    for (const pod of pods) if (pod.replicaIndex >= desired) retireOne(pod, `scaled to ${desired}`)

    // a new pod binds host ports (single replica): the old one must free them before it starts
    const newPublishes = desired === 1 && spec.ports.length > 0
    const holdsPorts = (pod: PodRow) => input.parseTemplate(pod.templateJson).publishPorts
    const byIndex = groupBy(pods.filter((p) => p.replicaIndex < desired), (p) => p.replicaIndex)
    let inFlight = 0
    const candidates: Array<{ readonly index: number; readonly stale: ReadonlyArray<PodRow> }> = []

    for (let index = 0; index < desired; index++) {
      const group = byIndex.get(index) ?? []
      const current = group.filter((p) => p.specHash === revision && !draining(p.nodeId)).sort(byPreference)
      const stale = group.filter((p) => !current.includes(p))
      // stale pods that serve nothing (not running) go at once; the others wait for their replacement to run
      for (const pod of stale) if (pod.status !== "running") retireOne(pod, "replaced")
      const serving = stale.filter((p) => !retired.has(p.id))
      for (const extra of current.slice(1)) retireOne(extra, `duplicate of pod ${current[0]!.id}`)
      const keep = current[0]

      if (keep === undefined) {
        if (serving.length > 0) {
          candidates.push({ index, stale: serving })
        } else if (
          newPublishes &&
          lingering.some((p) => p.deploymentId === row.id && p.replicaIndex === index && ready(p.nodeId) && holdsPorts(p))
        ) {
          inFlight++ // its predecessor still holds the host ports
        } else {
          wanted.push({ deployment, index })
        }
      } else if (serving.length > 0) {
        if (keep.status === "running") for (const pod of serving) retireOne(pod, `replaced by pod ${keep.id}`)
        else inFlight++
      }
    }

    for (const { index, stale } of candidates) {
      if (inFlight >= MAX_SURGE) break
      inFlight++
      const recreate = newPublishes && stale.some((p) => p.specHash !== revision && holdsPorts(p))
      if (recreate) for (const pod of stale) retireOne(pod, "replaced (the new pod needs its host ports)")
      else wanted.push({ deployment, index })
    }
  }

  // Placement: pending pods first (they have waited longest), then the new ones, all against one
  // board so spread really spreads; capacity counts every pod still on a node, retiring or not.
  const pending = running.filter((p) => p.nodeId === null && !retired.has(p.id))
  const fresh = wanted.map(({ deployment, index }): PodRow => {
    const template = templateOf(deployment.spec, deployment.desired)
    return {
      id: input.newPodId(),
      deploymentId: deployment.row.id,
      project: deployment.row.project,
      deploymentName: deployment.row.name,
      replicaIndex: index,
      nodeId: null,
      desired: "run",
      status: "pending",
      containerId: null,
      containerIp: null,
      restartCount: 0,
      message: null,
      image: deployment.spec.image,
      specHash: revisionOf(deployment.row),
      templateJson: JSON.stringify(template),
      createdAtMs: input.nowMs,
      ...noPodDetails
    }
  })
  const requests = [...pending, ...fresh].map((pod) => {
    const t = input.parseTemplate(pod.templateJson)
    return { cpu: t.cpu, memoryBytes: t.memoryBytes }
  })
  // nothing to place (a steady cluster's every pass): skip building the board of every node
  const placements = requests.length === 0
    ? []
    : placeMany(snapshotsOf(input.nodes, [...running, ...lingering], input.failures, input.maxPods, input.parseTemplate), requests, input.config, input.nowMs)

  const place: Array<{ readonly pod: PodRow; readonly changes: PodChanges }> = []
  const unplaced: Array<{ readonly pod: PodRow; readonly reason: string }> = []
  pending.forEach((pod, i) => {
    const result = placements[i]!
    if (Either.isRight(result)) {
      place.push({ pod, changes: { nodeId: result.right.nodeId, status: "creating", message: null } })
      return
    }
    unplaced.push({ pod, reason: result.left.message })
    if (pod.message !== result.left.message) place.push({ pod, changes: { message: result.left.message } })
  })
  const create = fresh.map((pod, i): PodRow => {
    const result = placements[pending.length + i]!
    if (Either.isRight(result)) return { ...pod, nodeId: result.right.nodeId, status: "creating" }
    const created = { ...pod, message: result.left.message }
    unplaced.push({ pod: created, reason: result.left.message })
    return created
  })

  return { lost, forget, retire, create, place, unplaced }
}
