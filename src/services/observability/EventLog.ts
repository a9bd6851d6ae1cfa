// The cluster's event stream: a bounded recent history plus live subscribers, each with a bounded
// buffer. A subscriber that falls behind loses the oldest events and is told how many it missed.
import { Context, type Effect, type Scope, type Stream } from "effect"
import type { EventFeedItem, EventKind, HelyosEvent } from "../../domain/HelyosEvent.js"

export class EventLog extends Context.Tag("helyos/EventLog")<EventLog, {
  /** Add an event, stamped with Effect's Clock. Never blocks on slow subscribers. */
  readonly record: (event: {
    readonly kind: EventKind
    readonly name: string
    readonly action: string
    readonly message: string
  }) => Effect.Effect<void>
  /** The most recent events (oldest first), at most `limit`. */
  readonly recent: (limit: number) => Effect.Effect<ReadonlyArray<HelyosEvent>>
  /** Events from now on for as long as the scope lives; `Missed` when this subscriber fell behind. */
  readonly subscribe: Effect.Effect<Stream.Stream<EventFeedItem>, never, Scope.Scope>
}>() {}
