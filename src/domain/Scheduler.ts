// Where a pod runs. Pure: hard filters (pod slots, CPU, memory), then the weighted score of reference §6.
// Spread rewards free capacity, binpack rewards busy nodes; recent failures count against a node in both.
import { Either, Schema } from "effect"
import { type DeploymentSpec, parseMemory } from "./DeploymentSpec.js"
import { isEligible, type NodeId, type NodeRecord, type NodeRole } from "./Node.js"
import { InvalidSchedulerSetting, NoEligibleNode } from "./WorkloadErrors.js"

/** Pods one node may hold unless configured otherwise (Kubernetes' default, as the reference). */
export const DEFAULT_MAX_PODS = 110

/** A failure's weight falls by e every this many minutes ("decaying over about 10 minutes"). */
export const FAILURE_DECAY_MINUTES = 10

/** After an hour a failure weighs < 0.25 %: callers may forget failures older than this. */
export const FAILURE_MEMORY_MS = 60 * 60_000

// ---------------------------------------------------------------------------------------------
// Configuration (persisted as JSON, changed with `helyos cluster config set`).

const Weight = Schema.Number.pipe(Schema.finite())

export const SchedulerWeights = Schema.Struct({ cpu: Weight, memory: Weight, load: Weight, failure: Weight })
export type SchedulerWeights = typeof SchedulerWeights.Type

export const SchedulerStrategy = Schema.Literal("spread", "binpack", "custom")
export type SchedulerStrategy = typeof SchedulerStrategy.Type

export const SchedulerConfig = Schema.Struct({ strategy: SchedulerStrategy, weights: SchedulerWeights })
export type SchedulerConfig = typeof SchedulerConfig.Type

export const presets = {
  spread: { cpu: 0.35, memory: 0.35, load: 0.15, failure: 0.15 },
  binpack: { cpu: -0.30, memory: -0.30, load: -0.10, failure: 0.15 }
} as const satisfies Record<"spread" | "binpack", SchedulerWeights>

export const presetConfig = (strategy: keyof typeof presets): SchedulerConfig => ({
  strategy,
  weights: { ...presets[strategy] }
})

export const defaultSchedulerConfig: SchedulerConfig = presetConfig("spread")

const weightNames = ["cpu", "memory", "load", "failure"] as const
const numberPattern = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/

/**
 * `helyos cluster config set <key> <value>`: `scheduler spread|binpack` resets all weights to the
 * preset; `scheduler.weights.<cpu|memory|load|failure> <number>` sets one and the strategy becomes
 * custom. The failure weight may not be negative: a failure is always a penalty.
 */
export const applySetting = (
  config: SchedulerConfig,
  key: string,
  value: string | number
): Either.Either<SchedulerConfig, InvalidSchedulerSetting> => {
  const text = String(value).trim()
  const invalid = (expected?: string) =>
    Either.left(new InvalidSchedulerSetting(expected === undefined ? { key, value: text } : { key, value: text, expected }))
  if (key === "scheduler") {
    return text === "spread" || text === "binpack" ? Either.right(presetConfig(text)) : invalid("spread or binpack")
  }
  const weight = weightNames.find((name) => key === `scheduler.weights.${name}`)
  if (weight === undefined) return invalid()
  const number = typeof value === "number" ? value : numberPattern.test(text) ? Number(text) : Number.NaN
  if (!Number.isFinite(number)) return invalid("a finite number, like 0.35 or -0.3")
  if (weight === "failure" && number < 0) return invalid("a number ≥ 0 (failures are always a penalty)")
  return Either.right({ strategy: "custom", weights: { ...config.weights, [weight]: number } })
}

/** One `key = value` change, as `helyos cluster config set` sends it. */
export interface SchedulerSetting {
  readonly key: string
  readonly value: string | number
}

/** Several changes at once, all or none (a strategy first resets the weights, then weights apply). */
export const applySettings = (
  config: SchedulerConfig,
  settings: ReadonlyArray<SchedulerSetting>
): Either.Either<SchedulerConfig, InvalidSchedulerSetting> => {
  let next = config
  for (const setting of settings) {
    const applied = applySetting(next, setting.key, setting.value)
    if (Either.isLeft(applied)) return applied
    next = applied.right
  }
  return Either.right(next)
}

/**
 * The body of POST /api/v1/cluster/scheduler in each form clients send: ours `{key, value}`, the
 * reference's `{strategy}` and `{weights: {name, value}}`, and a weights object `{weights: {cpu: 0.5}}`
 * (with or without a strategy).
 */
export interface SchedulerRequest {
  readonly key?: string | undefined
  readonly value?: string | number | undefined
  readonly strategy?: string | undefined
  readonly weights?: Readonly<Record<string, string | number>> | undefined
}

const REQUEST_FORMS = `{"strategy": "spread"|"binpack"}, {"weights": {"cpu": 0.5, …}}, {"weights": {"name": "cpu", "value": 0.5}} or {"key": …, "value": …}`

/** The changes a request asks for, in order; an unknown weight or a body of no known form is refused. */
export const settingsOfRequest = (
  request: SchedulerRequest
): Either.Either<ReadonlyArray<SchedulerSetting>, InvalidSchedulerSetting> => {
  if (request.key !== undefined && request.value !== undefined) return Either.right([{ key: request.key, value: request.value }])
  const settings: Array<SchedulerSetting> = []
  if (request.strategy !== undefined) settings.push({ key: "scheduler", value: request.strategy })
  const weights = request.weights
  if (weights !== undefined) {
    const named = typeof weights.name === "string" && weights.value !== undefined && Object.keys(weights).length === 2
    const pairs: ReadonlyArray<readonly [string, string | number]> = named
      ? [[String(weights.name), weights.value!]]
      : Object.entries(weights)
    for (const [name, value] of pairs) {
      if (!(weightNames as ReadonlyArray<string>).includes(name)) {
        return Either.left(new InvalidSchedulerSetting({ key: `weights.${name}`, value: String(value), expected: "one of the weights cpu, memory, load, failure" }))
      }
      settings.push({ key: `scheduler.weights.${name}`, value })
    }
  }
  return settings.length > 0
    ? Either.right(settings)
    : Either.left(new InvalidSchedulerSetting({ key: "the request", value: JSON.stringify(request), expected: REQUEST_FORMS }))
}

// ---------------------------------------------------------------------------------------------
// Inputs.

/** One node as the scheduler sees it at one moment. */
export interface NodeSnapshot {
  readonly id: NodeId
  readonly name: string
  readonly role: NodeRole
  /** Ready and not draining */
  readonly eligible: boolean
  readonly cpuTotal: number
  readonly cpuAvailable: number
  readonly memoryTotal: number
  readonly memoryAvailable: number
  /** pods assigned to the node now */
  readonly pods: number
  readonly maxPods: number
  /** when pods failed on this node (epoch ms) */
  readonly recentFailures: ReadonlyArray<number>
}

/** What a pod asks for; 0 means no floor (best-effort). */
export interface PodRequest {
  readonly cpu: number
  readonly memoryBytes: number
}

export const bestEffort: PodRequest = { cpu: 0, memoryBytes: 0 }

/** The request a spec's `resources` make (best-effort without them). */
export const requestFor = (spec: Pick<DeploymentSpec, "resources">): PodRequest =>
  spec.resources === undefined
    ? bestEffort
    : { cpu: spec.resources.cpu, memoryBytes: parseMemory(spec.resources.memory) ?? 0 }

/**
 * A node's snapshot with capacity accounted by requests: available = total − what its pods asked for
 * (the live usage a worker reports is too noisy, and ignores pods not started yet).
 */
export const nodeSnapshot = (
  node: NodeRecord,
  usage: {
    readonly pods: number
    readonly cpuRequested: number
    readonly memoryRequested: number
    readonly recentFailures: ReadonlyArray<number>
  },
  maxPods: number = DEFAULT_MAX_PODS
): NodeSnapshot => ({
  id: node.id,
  name: node.name,
  role: node.role,
  eligible: isEligible(node),
  cpuTotal: node.resources.cpuCores,
  cpuAvailable: node.resources.cpuCores - usage.cpuRequested,
  memoryTotal: node.resources.memoryBytes,
  memoryAvailable: node.resources.memoryBytes - usage.memoryRequested,
  pods: usage.pods,
  maxPods,
  recentFailures: usage.recentFailures
})

// ---------------------------------------------------------------------------------------------
// Scoring.

/** min(1, Σ exp(−age_minutes / 10)): a failure now costs the full weight, one 10 minutes old e^−1 of it. */
export const failurePenalty = (recentFailures: ReadonlyArray<number>, nowMs: number): number => {
  let sum = 0
  for (const at of recentFailures) sum += Math.exp(-Math.max(0, nowMs - at) / 60_000 / FAILURE_DECAY_MINUTES)
  return Math.min(1, sum)
}

const round2 = (x: number) => Math.round(x * 100) / 100

/** Bytes as people read them: 512 MiB, 1.5 GiB. */
export const formatBytes = (bytes: number): string =>
  bytes >= 1024 ** 3
    ? `${round2(bytes / 1024 ** 3)} GiB`
    : bytes >= 1024 ** 2
    ? `${round2(bytes / 1024 ** 2)} MiB`
    : bytes >= 1024
    ? `${round2(bytes / 1024)} KiB`
    : `${bytes} B`

const unfitReason = (
  pods: number,
  maxPods: number,
  cpuAvailable: number,
  memoryAvailable: number,
  request: PodRequest
): string | undefined => {
  if (pods >= maxPods) return `pod limit reached (${pods}/${maxPods})`
  if (request.cpu > 0 && cpuAvailable < request.cpu) {
    return `needs ${round2(request.cpu)} CPU, ${round2(Math.max(0, cpuAvailable))} available`
  }
  if (request.memoryBytes > 0 && memoryAvailable < request.memoryBytes) {
    return `needs ${formatBytes(request.memoryBytes)} memory, ${formatBytes(Math.max(0, memoryAvailable))} available`
  }
  return undefined
}

const weighted = (
  w: SchedulerWeights,
  cpuTotal: number,
  cpuAvailable: number,
  memoryTotal: number,
  memoryAvailable: number,
  pods: number,
  maxPods: number,
  penalty: number,
  request: PodRequest
): number => {
  const cpuRatio = cpuTotal > 0 ? (cpuAvailable - request.cpu) / cpuTotal : 0
  const memoryRatio = memoryTotal > 0 ? Math.max(0, memoryAvailable - request.memoryBytes) / memoryTotal : 0
  const loadRatio = maxPods > 0 ? pods / maxPods : 1
  return w.cpu * cpuRatio + w.memory * memoryRatio - w.load * loadRatio - w.failure * penalty
}

/**
 * The node's score for this pod (higher wins), or why it cannot take it:
 * w_cpu·cpu_ratio + w_mem·mem_ratio − w_load·load_ratio − w_fail·fail_penalty, where the cpu and memory
 * ratios are the fractions left free after placement and load_ratio = pods / maxPods.
 */
export const score = (
  node: NodeSnapshot,
  request: PodRequest,
  config: SchedulerConfig,
  nowMs: number
): Either.Either<number, string> => {
  const reason = unfitReason(node.pods, node.maxPods, node.cpuAvailable, node.memoryAvailable, request)
  if (reason !== undefined) return Either.left(reason)
  return Either.right(weighted(
    config.weights,
    node.cpuTotal,
    node.cpuAvailable,
    node.memoryTotal,
    node.memoryAvailable,
    node.pods,
    node.maxPods,
    failurePenalty(node.recentFailures, nowMs),
    request
  ))
}

// ---------------------------------------------------------------------------------------------
// Placement.

export interface Placement {
  readonly nodeId: NodeId
  readonly nodeName: string
  readonly role: NodeRole
  readonly score: number
}

/** Scores closer than this are a tie (float noise must not beat the fewer-pods rule). */
const TIE = 1e-9

/**
 * The snapshots as columns: fixed facts plus mutable capacity, and the eligible workers and masters
 * as index lists, so placing many pods reads flat arrays and allocates nothing per node.
 */
interface Board {
  readonly nodes: ReadonlyArray<NodeSnapshot>
  readonly workers: Int32Array
  readonly masters: Int32Array
  readonly cpuTotal: Float64Array
  readonly memoryTotal: Float64Array
  readonly maxPods: Float64Array
  readonly penalty: Float64Array
  readonly cpuAvailable: Float64Array
  readonly memoryAvailable: Float64Array
  readonly pods: Float64Array
}

const boardOf = (nodes: ReadonlyArray<NodeSnapshot>, nowMs: number): Board => {
  const n = nodes.length
  const workers: Array<number> = []
  const masters: Array<number> = []
  const cpuTotal = new Float64Array(n)
  const memoryTotal = new Float64Array(n)
  const maxPods = new Float64Array(n)
  const penalty = new Float64Array(n)
  const cpuAvailable = new Float64Array(n)
  const memoryAvailable = new Float64Array(n)
  const pods = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const node = nodes[i]!
    if (node.eligible) (node.role === "Worker" ? workers : masters).push(i)
    cpuTotal[i] = node.cpuTotal
    memoryTotal[i] = node.memoryTotal
    maxPods[i] = node.maxPods
    penalty[i] = node.recentFailures.length === 0 ? 0 : failurePenalty(node.recentFailures, nowMs)
    cpuAvailable[i] = node.cpuAvailable
    memoryAvailable[i] = node.memoryAvailable
    pods[i] = node.pods
  }
  return {
    nodes,
    workers: Int32Array.from(workers),
    masters: Int32Array.from(masters),
    cpuTotal,
    memoryTotal,
    maxPods,
    penalty,
    cpuAvailable,
    memoryAvailable,
    pods
  }
}

/** The best of these candidates that fits, or -1. Ties: fewer pods, then name. */
const best = (
  board: Board,
  candidates: Int32Array,
  request: PodRequest,
  w: SchedulerWeights
): { index: number; score: number } => {
  const { cpuAvailable, cpuTotal, maxPods, memoryAvailable, memoryTotal, nodes, penalty, pods } = board
  const cpuRequest = request.cpu
  const memoryRequest = request.memoryBytes
  let bestIndex = -1
  let bestScore = Number.NEGATIVE_INFINITY
  for (let c = 0; c < candidates.length; c++) {
    const i = candidates[c]!
    const cpu = cpuAvailable[i]!
    const memory = memoryAvailable[i]!
    const count = pods[i]!
    const limit = maxPods[i]!
    if (count >= limit) continue
    if (cpuRequest > 0 && cpu < cpuRequest) continue
    if (memoryRequest > 0 && memory < memoryRequest) continue
    const s = weighted(w, cpuTotal[i]!, cpu, memoryTotal[i]!, memory, count, limit, penalty[i]!, request)
    if (bestIndex < 0 || s > bestScore + TIE) {
      bestIndex = i
      bestScore = s
    } else if (s >= bestScore - TIE) {
      const other = pods[bestIndex]!
      if (count < other || (count === other && nodes[i]!.name < nodes[bestIndex]!.name)) {
        bestIndex = i
        bestScore = s
      }
    }
  }
  return { index: bestIndex, score: bestScore }
}

const MAX_REASONS = 5

const noNodeReason = (board: Board, request: PodRequest): string => {
  const { nodes } = board
  if (nodes.length === 0) return "no nodes are registered"
  const reasons: Array<string> = []
  let unfit = 0
  let notEligible = 0
  for (const role of ["Worker", "Master"] as const) {
    nodes.forEach((node, i) => {
      if (node.role !== role) return
      if (!node.eligible) {
        notEligible++
        return
      }
      unfit++
      if (reasons.length < MAX_REASONS) {
        const why = unfitReason(board.pods[i]!, node.maxPods, board.cpuAvailable[i]!, board.memoryAvailable[i]!, request)
        reasons.push(`${node.name}: ${why ?? "does not fit"}`)
      }
    })
  }
  if (unfit === 0) return `no node is Ready (${notEligible} NotReady or draining)`
  const more = unfit > reasons.length ? [`and ${unfit - reasons.length} more`] : []
  const skipped = notEligible > 0 ? [`${notEligible} not Ready or draining`] : []
  return [...reasons, ...more, ...skipped].join("; ")
}

const placeOn = (board: Board, request: PodRequest, config: SchedulerConfig): Either.Either<Placement, NoEligibleNode> => {
  let chosen = best(board, board.workers, request, config.weights)
  // the master runs pods only when no worker can
  if (chosen.index < 0) chosen = best(board, board.masters, request, config.weights)
  if (chosen.index < 0) return Either.left(new NoEligibleNode({ reason: noNodeReason(board, request) }))
  const i = chosen.index
  board.cpuAvailable[i]! -= request.cpu
  board.memoryAvailable[i]! -= request.memoryBytes
  board.pods[i]! += 1
  const node = board.nodes[i]!
  return Either.right({ nodeId: node.id, nodeName: node.name, role: node.role, score: chosen.score })
}

/**
 * Pick a node for one pod: the best-scoring eligible worker that fits; a master only when no worker
 * can take it; otherwise NoEligibleNode with each node's reason.
 */
export const place = (
  nodes: ReadonlyArray<NodeSnapshot>,
  request: PodRequest,
  config: SchedulerConfig,
  nowMs: number
): Either.Either<Placement, NoEligibleNode> => placeOn(boardOf(nodes, nowMs), request, config)

/**
 * Place pods one after another, each seeing the capacity the earlier ones took (so spread really
 * spreads). One result per request, in order; a pod that fits nowhere does not stop the rest.
 */
export const placeMany = (
  nodes: ReadonlyArray<NodeSnapshot>,
  requests: ReadonlyArray<PodRequest>,
  config: SchedulerConfig,
  nowMs: number
): ReadonlyArray<Either.Either<Placement, NoEligibleNode>> => {
  const board = boardOf(nodes, nowMs)
  return requests.map((request) => placeOn(board, request, config))
}
