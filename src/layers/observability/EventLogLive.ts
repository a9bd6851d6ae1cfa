// EventLog in memory: a bounded recent history and, per subscriber, a bounded buffer that drops its
// oldest events when the subscriber falls behind and owes it a `Missed{count}` before the next event.
import { Chunk, Clock, Effect, Layer, Queue, Stream } from "effect"
import type { EventFeedItem, HelyosEvent } from "../../domain/HelyosEvent.js"
import { rfc3339 } from "../../domain/Time.js"
import { EventLog } from "../../services/observability/EventLog.js"

export interface EventLogOptions {
  /** events kept for `recent` and `?history=N`; default 1000 */
  readonly historySize?: number
  /** events buffered for one subscriber before its oldest are dropped (and counted); default 256 */
  readonly subscriberBuffer?: number
}

export const DEFAULT_HISTORY_SIZE = 1000
export const DEFAULT_SUBSCRIBER_BUFFER = 256

/** One live subscriber: its pending events, how many it lost, and a one-slot wake-up. */
interface Subscriber {
  buffer: Array<HelyosEvent>
  missed: number
  readonly wake: Queue.Queue<void>
}

export const make = (options: EventLogOptions = {}) =>
  Effect.sync(() => {
    const historySize = Math.max(1, options.historySize ?? DEFAULT_HISTORY_SIZE)
    const bufferSize = Math.max(1, options.subscriberBuffer ?? DEFAULT_SUBSCRIBER_BUFFER)
    // plain arrays: every change below is synchronous, so no interleaving can tear them
    const history: Array<HelyosEvent> = []
    const subscribers = new Set<Subscriber>()

    const record = (input: Omit<HelyosEvent, "timestamp">) =>
      Effect.map(Clock.currentTimeMillis, (nowMs) => {
        const event: HelyosEvent = {
          timestamp: rfc3339(nowMs),
          kind: input.kind,
          name: input.name,
          action: input.action,
          message: input.message
        }
        history.push(event)
        if (history.length > historySize) history.splice(0, history.length - historySize)
        for (const subscriber of subscribers) {
          subscriber.buffer.push(event)
          if (subscriber.buffer.length > bufferSize) {
            subscriber.buffer.shift()
            subscriber.missed++
          }
          subscriber.wake.unsafeOffer(undefined)
        }
      })

    /** Everything pending for a subscriber: what it missed first (those were older), then its events. */
    const drain = (subscriber: Subscriber): Chunk.Chunk<EventFeedItem> => {
      const items: Array<EventFeedItem> = []
      if (subscriber.missed > 0) items.push({ _tag: "Missed", count: subscriber.missed })
      for (const event of subscriber.buffer) items.push({ _tag: "Event", event })
      subscriber.missed = 0
      subscriber.buffer = []
      return Chunk.unsafeFromArray(items)
    }

    const subscribe = Effect.gen(function*() {
      const wake = yield* Queue.dropping<void>(1)
      const subscriber: Subscriber = { buffer: [], missed: 0, wake }
      yield* Effect.acquireRelease(
        Effect.sync(() => subscribers.add(subscriber)),
        () => Effect.zipRight(Effect.sync(() => subscribers.delete(subscriber)), Queue.shutdown(wake))
      )
      const next: Effect.Effect<Chunk.Chunk<EventFeedItem>> = Effect.flatMap(Queue.take(wake), () => {
        const items = drain(subscriber)
        // a wake-up whose events an earlier drain already took: wait for the next one
        return Chunk.isEmpty(items) ? next : Effect.succeed(items)
      })
      return Stream.repeatEffectChunk(next)
    })

    return EventLog.of({
      record,
      recent: (limit) =>
        Effect.sync(() => (limit <= 0 ? [] : history.slice(Math.max(0, history.length - Math.floor(limit))))),
      subscribe
    })
  })

/** The event log with its documented bounds. */
export const layer = Layer.effect(EventLog, make())
