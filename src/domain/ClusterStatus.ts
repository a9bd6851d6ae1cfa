// The one-screen summary of `helyos status` (GET /api/v1/status): mode, nodes, projects,
// deployments and pods counted by status. The counting is pure; the API feeds it the state.
import { Schema } from "effect"
import type { NodeStatus } from "./Node.js"
import type { DeploymentStatus, PodStatus } from "./Workload.js"

const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

export const ClusterKind = Schema.Literal("single-node", "cluster")
export type ClusterKind = typeof ClusterKind.Type

/** Every node status, lowercase as the JSON shows it. */
export const NodesByStatus = Schema.Struct({ ready: Count, notready: Count, draining: Count })

export const DeploymentCounts = Schema.Struct({
  total: Count,
  running: Count,
  stopped: Count,
  pending: Count,
  degraded: Count,
  failed: Count
})

export const PodCounts = Schema.Struct({
  total: Count,
  running: Count,
  restarting: Count,
  crashloopbackoff: Count,
  pending: Count,
  creating: Count,
  stopping: Count,
  stopped: Count,
  failed: Count
})

/**
 * Service discovery on the daemon answering: `embedded` with where its resolver listens and how many
 * records it answers from (its own pods' live state over the published set), or `noop`.
 */
export const DnsStatus = Schema.Struct({
  mode: Schema.Literal("noop", "embedded"),
  /** IP:PORT of this node's resolver; null with noop */
  listen: Schema.NullOr(Schema.String),
  records: Count,
  revision: Count
})
export type DnsStatus = typeof DnsStatus.Type

export const DNS_OFF: DnsStatus = { mode: "noop", listen: null, records: 0, revision: 0 }

/** What `helyos status --json` prints. */
export const ClusterStatus = Schema.Struct({
  cluster: ClusterKind,
  nodes: Count,
  nodes_by_status: NodesByStatus,
  projects: Count,
  deployments: DeploymentCounts,
  pods: PodCounts,
  /** an older daemon says nothing about DNS: shown as off */
  dns: Schema.optionalWith(DnsStatus, { default: () => DNS_OFF })
})
export type ClusterStatus = typeof ClusterStatus.Type

const nodeKey = { Ready: "ready", NotReady: "notready", Draining: "draining" } as const

/** Every count of a struct at 0, in the struct's field order (the order the JSON shows). */
const zeros = <Fields extends Schema.Struct.Fields>(struct: Schema.Struct<Fields>) =>
  Object.fromEntries(Object.keys(struct.fields).map((key) => [key, 0])) as { -readonly [K in keyof Fields]: number }

/** Count the state. A master daemon is a "cluster" even before any worker joins. */
export const summarizeCluster = (input: {
  readonly mode: "single" | "master" | "worker"
  readonly nodes: ReadonlyArray<{ readonly status: NodeStatus }>
  readonly projects: number
  readonly deployments: ReadonlyArray<{ readonly status: DeploymentStatus }>
  readonly pods: ReadonlyArray<{ readonly status: PodStatus }>
  readonly dns?: DnsStatus
}): ClusterStatus => {
  const nodes = zeros(NodesByStatus)
  for (const node of input.nodes) nodes[nodeKey[node.status]]++
  const deployments = { ...zeros(DeploymentCounts), total: input.deployments.length }
  for (const deployment of input.deployments) deployments[deployment.status]++
  const pods = { ...zeros(PodCounts), total: input.pods.length }
  for (const pod of input.pods) pods[pod.status]++
  return {
    cluster: input.mode === "single" ? "single-node" : "cluster",
    nodes: input.nodes.length,
    nodes_by_status: nodes,
    projects: input.projects,
    deployments,
    pods,
    dns: input.dns ?? DNS_OFF
  }
}
