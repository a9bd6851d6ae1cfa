// /api/v1/nodes: list, drain, undrain, remove. The wire shape is snake_case (helyosd's JSON contract).
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { DateTime, Schema } from "effect"
import { NodeNotDrained, NodeNotFound } from "../../domain/Errors.js"
import { NodeId, NodeName, type NodeRecord, NodeRole, NodeStatus, nodeStatus } from "../../domain/Node.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

/** The master runs the control plane: removing it would orphan the cluster, so it is refused outright. */
export class MasterNotRemovable extends Schema.TaggedError<MasterNotRemovable>()("MasterNotRemovable", {
  name: Schema.String
}) {
  override get message() {
    return `node '${this.name}' is the cluster master and cannot be removed`
  }
}

const snake = <S extends Schema.Schema.Any>(schema: S, key: string) =>
  Schema.propertySignature(schema).pipe(Schema.fromKey(key))

const Count = Schema.Number.pipe(Schema.int(), Schema.nonNegative())

export class NodeResourcesView extends Schema.Class<NodeResourcesView>("NodeResourcesView")({
  cpuCores: snake(Schema.Number, "cpu_cores"),
  memoryBytes: snake(Schema.Number, "memory_bytes"),
  cpuAvailable: snake(Schema.Number, "cpu_available"),
  memoryAvailable: snake(Schema.Number, "memory_available"),
  /** the same figure as the node's `pods` (kept for the documented resources shape) */
  runningPods: snake(Count, "running_pods")
}) {}

/** A node as `GET /api/v1/nodes` and `helyos nodes --json` show it. Times are RFC 3339 (UTC). */
export class NodeView extends Schema.Class<NodeView>("NodeView")({
  id: NodeId,
  name: Schema.String,
  address: Schema.String,
  role: NodeRole,
  status: NodeStatus,
  resources: NodeResourcesView,
  pods: Count,
  lastHeartbeat: snake(Schema.DateTimeUtc, "last_heartbeat"),
  joinedAt: snake(Schema.DateTimeUtc, "joined_at")
}) {
  /** The view of a record holding `pods` pods: status derived, never stored. */
  static fromRecord(node: NodeRecord, pods: number): NodeView {
    return new NodeView({
      id: node.id,
      name: node.name,
      address: node.address,
      role: node.role,
      status: nodeStatus(node),
      resources: new NodeResourcesView({
        cpuCores: node.resources.cpuCores,
        memoryBytes: node.resources.memoryBytes,
        cpuAvailable: node.resources.cpuAvailable,
        memoryAvailable: node.resources.memoryAvailable,
        runningPods: pods
      }),
      pods,
      lastHeartbeat: DateTime.unsafeMake(node.lastHeartbeatMs),
      joinedAt: DateTime.unsafeMake(node.joinedAtMs)
    })
  }
}

/** Live usage of one node (`GET /api/v1/nodes/stats`, the Nodes panel of `helyos top`); lowercase role and status. */
export const NodeStatsView = Schema.Struct({
  name: Schema.String,
  role: Schema.Literal("master", "worker"),
  status: Schema.Literal("ready", "notready", "draining"),
  cpu_cores: Schema.Number,
  cpu_usage_percent: Schema.Number,
  memory_total_bytes: Schema.Number,
  memory_used_bytes: Schema.Number,
  pod_count: Count
})
export type NodeStatsView = typeof NodeStatsView.Type

/** A node's stats from the resources it (or, for this host, the OS right now) reports. */
export const nodeStats = (node: NodeRecord, resources: NodeRecord["resources"], pods: number): NodeStatsView => {
  const cores = resources.cpuCores
  const usedCores = Math.min(cores, Math.max(0, cores - resources.cpuAvailable))
  return {
    name: node.name,
    role: node.role === "Master" ? "master" : "worker",
    status: ({ Ready: "ready", NotReady: "notready", Draining: "draining" } as const)[nodeStatus(node)],
    cpu_cores: cores,
    // one decimal: the estimate is not finer than that
    cpu_usage_percent: cores > 0 ? Math.round((usedCores / cores) * 1000) / 10 : 0,
    memory_total_bytes: resources.memoryBytes,
    memory_used_bytes: Math.min(resources.memoryBytes, Math.max(0, resources.memoryBytes - resources.memoryAvailable)),
    pod_count: pods
  }
}

export const NodeNotFoundError = httpError(NodeNotFound, 404)
export const NodeNotDrainedError = httpError(NodeNotDrained, 409)
export const MasterNotRemovableError = httpError(MasterNotRemovable, 409)

const NodePath = Schema.Struct({ name: NodeName })

/** A query flag: exactly "true" or "false" (anything else is a 422, never a silent false). */
export const QueryFlag = Schema.transform(
  // one refinement (not a union of literals) so a bad value yields one readable issue
  Schema.String.pipe(
    Schema.filter((text) => text === "true" || text === "false" || `must be "true" or "false", got ${JSON.stringify(text)}`)
  ),
  Schema.Boolean,
  { strict: true, decode: (text) => text === "true", encode: (flag) => (flag ? "true" : "false") }
)

/** `?force=true` removes a node that is not drained. */
const RemoveParams = Schema.Struct({
  force: Schema.optionalWith(QueryFlag, { exact: true, default: () => false })
})

export class NodesApi extends HttpApiGroup.make("nodes")
  .add(HttpApiEndpoint.get("list", "/api/v1/nodes").addSuccess(Schema.Array(NodeView)))
  .add(HttpApiEndpoint.get("stats", "/api/v1/nodes/stats").addSuccess(Schema.Array(NodeStatsView)))
  .add(
    HttpApiEndpoint.post("drain", "/api/v1/nodes/:name/drain")
      .setPath(NodePath)
      .addSuccess(NodeView)
      .addError(NodeNotFoundError)
  )
  .add(
    HttpApiEndpoint.post("undrain", "/api/v1/nodes/:name/undrain")
      .setPath(NodePath)
      .addSuccess(NodeView)
      .addError(NodeNotFoundError)
  )
  .add(
    // 204 on success
    HttpApiEndpoint.del("remove", "/api/v1/nodes/:name")
      .setPath(NodePath)
      .setUrlParams(RemoveParams)
      .addError(NodeNotFoundError)
      .addError(NodeNotDrainedError)
      .addError(MasterNotRemovableError)
  )
  .middleware(Authorization)
{}
