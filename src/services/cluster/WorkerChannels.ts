// Master side: the open Connect streams, one per worker, so anything on the master can talk to a worker.
import { Context, type Effect, type Queue, type Scope } from "effect"
import type { NodeId } from "../../domain/Node.js"
import type { MasterMessage } from "../../domain/MasterMessage.js"

export class WorkerChannels extends Context.Tag("helyos/WorkerChannels")<WorkerChannels, {
  /**
   * Attach a worker's stream (ClusterServer does this when Connect opens). Returns the outbox the
   * stream drains. A newer stream of the same node replaces the older one, which is ended.
   * Detaches when the scope closes.
   */
  readonly attach: (id: NodeId) => Effect.Effect<Queue.Dequeue<MasterMessage>, never, Scope.Scope>
  /** Queue a message for a connected worker; false when it is not connected. */
  readonly send: (id: NodeId, message: MasterMessage) => Effect.Effect<boolean>
  /** Tell a worker it was removed (a Removed message) and end its stream. */
  readonly evict: (id: NodeId, reason: string) => Effect.Effect<void>
  /** Nodes with an open stream right now. */
  readonly connected: Effect.Effect<ReadonlyArray<NodeId>>
}>() {}
