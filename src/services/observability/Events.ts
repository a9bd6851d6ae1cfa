// In-process publish/subscribe of cluster events (monitor -> orchestrator, logs, future SSE).
import { Context, type Effect, type Queue, type Scope } from "effect"
import type { ClusterEvent } from "../../domain/ClusterEvent.js"

export class Events extends Context.Tag("helyos/Events")<Events, {
  readonly publish: (event: ClusterEvent) => Effect.Effect<void>
  /** A subscription that lives as long as the scope; subscribe before the events you need happen. */
  readonly subscribe: Effect.Effect<Queue.Dequeue<ClusterEvent>, never, Scope.Scope>
}>() {}
