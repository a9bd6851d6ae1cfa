// The nodes of the cluster: records, admin intent, liveness, sessions and last heartbeats.
// Last-heartbeat times live in memory (no SQLite write per ping); transitions are persisted.
import { Context, type Effect, type Redacted } from "effect"
import type { NodeNotFound, SessionInvalid } from "../../domain/Errors.js"
import type { Liveness, NodeId, NodeRecord, NodeResources, NodeRole, Schedulable } from "../../domain/Node.js"

export interface JoinRequest {
  readonly name: string
  readonly address: string
  readonly role: NodeRole
  readonly resources: NodeResources
}

export class NodeRegistry extends Context.Tag("helyos/NodeRegistry")<NodeRegistry, {
  /**
   * Record a node joining (or re-joining under the same name): keeps its id and admin intent, and
   * issues a fresh session secret that replaces any previous session. A new node is Ready; a returning
   * one keeps its liveness until a caught-up heartbeat (a NotReady or dead node may still run pods
   * that were replaced meanwhile).
   */
  readonly join: (req: JoinRequest) => Effect.Effect<{ readonly node: NodeRecord; readonly session: Redacted.Redacted<string> }>
  /** Check a node's session secret (constant time); NodeNotFound if the node was removed, SessionInvalid if the secret is stale. */
  readonly authenticate: (id: NodeId, session: string) => Effect.Effect<NodeRecord, NodeNotFound | SessionInvalid>
  /**
   * Record a heartbeat in memory. A NotReady/Dead node becomes Ready again (persisted) only when
   * `caughtUp` (default true): a returning worker that has not applied its current assignment yet
   * may still run pods that were replaced meanwhile, so it is heard but stays out of scheduling.
   */
  readonly heartbeat: (id: NodeId, resources: NodeResources, caughtUp?: boolean) => Effect.Effect<NodeRecord, NodeNotFound>
  /** Set liveness (the monitor's transitions). */
  readonly setLiveness: (id: NodeId, liveness: Liveness) => Effect.Effect<NodeRecord, NodeNotFound>
  /** Set admin intent by name (drain / undrain). Only an operator calls this. */
  readonly setSchedulable: (name: string, schedulable: Schedulable) => Effect.Effect<NodeRecord, NodeNotFound>
  /** Delete a node and revoke its session. */
  readonly remove: (name: string) => Effect.Effect<NodeRecord, NodeNotFound>
  readonly get: (id: NodeId) => Effect.Effect<NodeRecord, NodeNotFound>
  readonly findByName: (name: string) => Effect.Effect<NodeRecord, NodeNotFound>
  /** All nodes, by name, with in-memory heartbeat times. */
  readonly list: Effect.Effect<ReadonlyArray<NodeRecord>>
  /** Give every node a fresh grace period (last heartbeat = now): called once at master start. */
  readonly grantGrace: Effect.Effect<void>
}>() {}
