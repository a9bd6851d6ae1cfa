// Nodes: who they are (role), whether an operator lets work land on them (schedulable),
// and whether they are alive (liveness). The status users see is derived, never stored.
import { Schema } from "effect"

export const NodeId = Schema.String.pipe(Schema.brand("NodeId"))
export type NodeId = typeof NodeId.Type

export const NodeRole = Schema.Literal("Master", "Worker")
export type NodeRole = typeof NodeRole.Type

/** Admin intent: only an operator changes it (drain / undrain); survives restarts. */
export const Schedulable = Schema.Literal("active", "draining")
export type Schedulable = typeof Schedulable.Type

/** Liveness: only the heartbeat path and the monitor change it. Dead = NotReady and handed over once. */
export const Liveness = Schema.Literal("Ready", "NotReady", "Dead")
export type Liveness = typeof Liveness.Type

/** What users see: exactly Ready, NotReady or Draining. */
export const NodeStatus = Schema.Literal("Ready", "NotReady", "Draining")
export type NodeStatus = typeof NodeStatus.Type

export class NodeResources extends Schema.Class<NodeResources>("NodeResources")({
  cpuCores: Schema.Number,
  memoryBytes: Schema.Number,
  cpuAvailable: Schema.Number,
  memoryAvailable: Schema.Number
}) {
  static readonly empty = new NodeResources({ cpuCores: 0, memoryBytes: 0, cpuAvailable: 0, memoryAvailable: 0 })
}

export class NodeRecord extends Schema.Class<NodeRecord>("NodeRecord")({
  id: NodeId,
  name: Schema.String,
  address: Schema.String,
  role: NodeRole,
  schedulable: Schedulable,
  liveness: Liveness,
  resources: NodeResources,
  /** epoch ms of the last heartbeat (in memory on the master; persisted on transitions) */
  lastHeartbeatMs: Schema.Number,
  joinedAtMs: Schema.Number
}) {}

/** The status a user sees: a drain always wins; a dead node reads NotReady. */
export const nodeStatus = (node: Pick<NodeRecord, "schedulable" | "liveness">): NodeStatus =>
  node.schedulable === "draining" ? "Draining" : node.liveness === "Ready" ? "Ready" : "NotReady"

/** May the scheduler place new pods here? Ready, not draining. */
export const isEligible = (node: Pick<NodeRecord, "schedulable" | "liveness">): boolean =>
  node.schedulable === "active" && node.liveness === "Ready"

/** Node names: what --node-name accepts (DNS-label-like, up to 63 chars). */
export const NodeName = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/, {
    message: () => "node name must start with a letter or digit and use only letters, digits, '.' and '-' (max 63)"
  })
)
