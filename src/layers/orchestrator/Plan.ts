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

/** One pass: account for gone nodes, retire what is not wanted, roll what changed, place the rest. */
export const plan = (input: PlanInput): Plan => {
  const nodes = nodeFacts(input.nodes)
  const lost = lostPods(input.pods, nodes)
  const forget = forgottenRows(input.pods, nodes)
  const lostIds = new Set(lost.map((p) => p.id))
  const running = input.pods.filter((p) => p.desired === "run" && !lostIds.has(p.id))
  const lingering = lingeringPods(input.pods, nodes)

  const retire = orphans(running, input.deployments)
  const wanted: Array<{ readonly deployment: DeploymentState; readonly index: number }> = []
  const runningByDeployment = groupBy(running, (p) => p.deploymentId)
  for (const deployment of input.deployments) {
    const pods = runningByDeployment.get(deployment.row.id) ?? []
    retire.push(...scaleDown(pods, deployment.desired))
    const rolled = rollingReplace(deployment, pods, lingering, nodes, input.parseTemplate)
    retire.push(...rolled.retire)
    wanted.push(...rolled.wanted.map((index) => ({ deployment, index })))
  }

  const retired = new Set(retire.map((r) => r.pod.id))
  const pending = running.filter((p) => p.nodeId === null && !retired.has(p.id))
  return { lost, forget, retire, ...placePods(input, [...running, ...lingering], pending, newPods(input, wanted)) }
}

// ---------------------------------------------------------------------------------------------
// The steps, in the order `plan` takes them. Each is pure.

/** What the plan asks about a pod's node. */
interface NodeFacts {
  /** dead, or removed from the cluster: nobody will report on its pods again */
  readonly gone: (id: NodeId) => boolean
  /** drained: its pods move elsewhere, replacement first */
  readonly draining: (id: NodeId | null) => boolean
  readonly ready: (id: NodeId | null) => boolean
}

const nodeFacts = (records: ReadonlyArray<NodeRecord>): NodeFacts => {
  const nodes = new Map(records.map((n) => [n.id, n]))
  return {
    gone: (id) => {
      const node = nodes.get(id)
      return node === undefined || node.liveness === "Dead"
    },
    draining: (id) => id !== null && nodes.get(id)?.schedulable === "draining",
    ready: (id) => id !== null && nodes.get(id)?.liveness === "Ready"
  }
}

/** 'run' pods on a dead or removed node: failed; their replicas start again elsewhere. */
const lostPods = (pods: ReadonlyArray<PodRow>, nodes: NodeFacts) =>
  pods.filter((p) => p.desired === "run" && p.nodeId !== null && nodes.gone(p.nodeId))

/** Retired rows nobody will report gone (never placed, or their node is dead or removed): dropped. */
const forgottenRows = (pods: ReadonlyArray<PodRow>, nodes: NodeFacts) =>
  pods.filter((p) => p.desired === "retire" && (p.nodeId === null || nodes.gone(p.nodeId))).map((p) => p.id)

/** Retired pods still on a live node: they hold its capacity (and host ports) until it reports them gone. */
const lingeringPods = (pods: ReadonlyArray<PodRow>, nodes: NodeFacts) =>
  pods.filter((p) => p.desired === "retire" && p.nodeId !== null && !nodes.gone(p.nodeId))

/** Pods whose deployment was removed. */
const orphans = (running: ReadonlyArray<PodRow>, deployments: ReadonlyArray<DeploymentState>): Array<Retirement> => {
  const known = new Set<DeploymentId>(deployments.map((d) => d.row.id))
  return running.filter((pod) => !known.has(pod.deploymentId)).map((pod) => ({ pod, reason: "its deployment was removed" }))
}

/** Scale down (or stop: 0 desired): every pod at or above the desired count goes, the lowest indexes stay. */
const scaleDown = (pods: ReadonlyArray<PodRow>, desired: number): Array<Retirement> =>
  pods.filter((p) => p.replicaIndex >= desired).map((pod) => ({ pod, reason: `scaled to ${desired}` }))

/** One deployment's rollout, as each of its replica slots is looked at. */
interface Rollout {
  /** what a current pod was made from (spec hash, and the restart generation after a restart) */
  readonly revision: string
  /** a new pod binds host ports (single replica): the old one must free them before it starts */
  readonly newPublishes: boolean
  readonly holdsPorts: (pod: PodRow) => boolean
  readonly nodes: NodeFacts
  /** this deployment's retired pods still on a live node */
  readonly lingering: ReadonlyArray<PodRow>
}

/** What one replica slot needs once its stale and duplicate pods are dealt with. */
type SlotNeed =
  // a current pod serves it
  | { readonly _tag: "Settled" }
  // its replacement is coming up (not running yet), or the retired pod still holds the host ports
  | { readonly _tag: "InFlight" }
  // no pod at all: a new one now
  | { readonly _tag: "New" }
  // only stale pods serve it: a replacement starts when the surge allows
  | { readonly _tag: "Replace"; readonly stale: ReadonlyArray<PodRow> }

/**
 * One replica slot's pods. A pod of an older revision, or on a draining node, is stale: it is replaced
 * new-before-old (so a drain is a rolling replace whose new pods land elsewhere). A stale pod that
 * serves nothing goes at once; one that runs waits for its replacement to run. Extra current pods go.
 */
const reviewSlot = (
  rollout: Rollout,
  index: number,
  pods: ReadonlyArray<PodRow>
): { readonly retire: ReadonlyArray<Retirement>; readonly need: SlotNeed } => {
  const current = pods.filter((p) => p.specHash === rollout.revision && !rollout.nodes.draining(p.nodeId)).sort(byPreference)
  const stale = pods.filter((p) => !current.includes(p))
  const serving = stale.filter((p) => p.status === "running")
  const [keep, ...duplicates] = current
  const retire: Array<Retirement> = [
    ...stale.filter((p) => p.status !== "running").map((pod) => ({ pod, reason: "replaced" })),
    ...duplicates.map((pod) => ({ pod, reason: `duplicate of pod ${keep!.id}` }))
  ]
  if (keep === undefined) {
    if (serving.length > 0) return { retire, need: { _tag: "Replace", stale: serving } }
    const portsHeld = rollout.newPublishes && rollout.lingering.some((p) =>
      p.replicaIndex === index && rollout.nodes.ready(p.nodeId) && rollout.holdsPorts(p)
    )
    return { retire, need: portsHeld ? { _tag: "InFlight" } : { _tag: "New" } }
  }
  if (serving.length === 0) return { retire, need: { _tag: "Settled" } }
  if (keep.status !== "running") return { retire, need: { _tag: "InFlight" } }
  return { retire: [...retire, ...serving.map((pod) => ({ pod, reason: `replaced by pod ${keep.id}` }))], need: { _tag: "Settled" } }
}

/**
 * Start replacements for the slots only stale pods serve, while fewer than MAX_SURGE are in flight.
 * A new single-replica pod that needs the host ports an old pod holds cannot start beside it: the old
 * one goes first and its slot is filled on a later pass (a short gap rather than a failed bind).
 */
const startReplacements = (
  rollout: Rollout,
  waiting: ReadonlyArray<{ readonly index: number; readonly stale: ReadonlyArray<PodRow> }>,
  alreadyInFlight: number
): { readonly retire: ReadonlyArray<Retirement>; readonly wanted: ReadonlyArray<number> } => {
  const retire: Array<Retirement> = []
  const wanted: Array<number> = []
  let inFlight = alreadyInFlight
  for (const { index, stale } of waiting) {
    if (inFlight >= MAX_SURGE) break
    inFlight++
    const recreate = rollout.newPublishes && stale.some((p) => p.specHash !== rollout.revision && rollout.holdsPorts(p))
    if (recreate) retire.push(...stale.map((pod) => ({ pod, reason: "replaced (the new pod needs its host ports)" })))
    else wanted.push(index)
  }
  return { retire, wanted }
}

/** Every slot below the desired count: what goes, and which indexes get a new pod (slot order, then surge). */
const rollingReplace = (
  deployment: DeploymentState,
  pods: ReadonlyArray<PodRow>,
  lingering: ReadonlyArray<PodRow>,
  nodes: NodeFacts,
  parseTemplate: ParseTemplate
): { readonly retire: ReadonlyArray<Retirement>; readonly wanted: ReadonlyArray<number> } => {
  const { desired, row, spec } = deployment
  const rollout: Rollout = {
    // a restart bumps the revision: every older pod is replaced like one of an older spec
    revision: revisionOf(row),
    newPublishes: desired === 1 && spec.ports.length > 0,
    holdsPorts: (pod) => parseTemplate(pod.templateJson).publishPorts,
    nodes,
    lingering: lingering.filter((p) => p.deploymentId === row.id)
  }
  const byIndex = groupBy(pods.filter((p) => p.replicaIndex < desired), (p) => p.replicaIndex)
  const retire: Array<Retirement> = []
  const wanted: Array<number> = []
  const waiting: Array<{ readonly index: number; readonly stale: ReadonlyArray<PodRow> }> = []
  let inFlight = 0
  for (let index = 0; index < desired; index++) {
    const slot = reviewSlot(rollout, index, byIndex.get(index) ?? [])
    retire.push(...slot.retire)
    if (slot.need._tag === "New") wanted.push(index)
    else if (slot.need._tag === "InFlight") inFlight++
    else if (slot.need._tag === "Replace") waiting.push({ index, stale: slot.need.stale })
  }
  const started = startReplacements(rollout, waiting, inFlight)
  return { retire: [...retire, ...started.retire], wanted: [...wanted, ...started.wanted] }
}

/** New pending rows for the wanted slots, each with its template frozen from the spec now. */
const newPods = (
  input: PlanInput,
  wanted: ReadonlyArray<{ readonly deployment: DeploymentState; readonly index: number }>
): Array<PodRow> =>
  wanted.map(({ deployment, index }): PodRow => ({
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
    templateJson: JSON.stringify(templateOf(deployment.spec, deployment.desired)),
    createdAtMs: input.nowMs,
    ...noPodDetails
  }))

/**
 * Placement: pending pods first (they have waited longest), then the new ones, all against one board
 * so spread really spreads; capacity counts every pod still on a node (`onNodes`), retiring or not.
 * A pod no node can take stays pending with the scheduler's reason (written only when it changed).
 */
const placePods = (
  input: PlanInput,
  onNodes: ReadonlyArray<PodRow>,
  pending: ReadonlyArray<PodRow>,
  fresh: ReadonlyArray<PodRow>
): Pick<Plan, "create" | "place" | "unplaced"> => {
  const requests = [...pending, ...fresh].map((pod) => {
    const t = input.parseTemplate(pod.templateJson)
    return { cpu: t.cpu, memoryBytes: t.memoryBytes }
  })
  // nothing to place (a steady cluster's every pass): skip building the board of every node
  const placements = requests.length === 0
    ? []
    : placeMany(snapshotsOf(input.nodes, onNodes, input.failures, input.maxPods, input.parseTemplate), requests, input.config, input.nowMs)

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
  return { create, place, unplaced }
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
