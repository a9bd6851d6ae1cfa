// Handlers of the event stream (SSE: history replay, then live events, lag warnings and keepalive
// comments, until the client goes away) and of the recent history, thin over EventLog.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Deferred, Duration, Effect, Schedule, Stream } from "effect"
import type { EventFeedItem } from "../../../domain/HelyosEvent.js"
import { EventLog } from "../../../services/observability/EventLog.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"

/** An idle stream still sends a comment this often, so proxies and load balancers keep it open. */
export const KEEPALIVE_INTERVAL = Duration.seconds(15)

/** One feed item as an SSE message. */
export const sseMessage = (item: EventFeedItem): string =>
  item._tag === "Event"
    ? `data: ${JSON.stringify(item.event)}\n\n`
    : `data: ${JSON.stringify({ warning: `missed ${item.count} events` })}\n\n`

export const SSE_KEEPALIVE = ": keepalive\n\n"

/** Sent first, once subscribed: flushes the headers, so a client that sees them is already subscribed. */
export const SSE_OPEN = ": connected\n\n"

const encoder = new TextEncoder()

/**
 * The text of one SSE response: a comment once subscribed, the last `history` events, then live events
 * (and lag warnings), a keepalive comment every KEEPALIVE_INTERVAL; ends when `closing` completes.
 * The subscription lives as long as the stream: it ends when the client disconnects.
 */
export const sseText = (
  log: EventLog["Type"],
  history: number,
  closing: Effect.Effect<void>
): Stream.Stream<string> => {
  const feed = Stream.unwrapScoped(Effect.gen(function*() {
    // subscribed before the history is read, so nothing falls between the two
    const live = yield* log.subscribe
    const past = yield* log.recent(history)
    const messages = Stream.concat(
      Stream.fromIterable(past.map((event): EventFeedItem => ({ _tag: "Event", event }))),
      live
    ).pipe(Stream.map(sseMessage))
    return Stream.concat(Stream.make(SSE_OPEN), messages)
  }))
  const keepalive = Stream.fromSchedule(Schedule.spaced(KEEPALIVE_INTERVAL)).pipe(Stream.as(SSE_KEEPALIVE))
  return Stream.merge(feed, keepalive, { haltStrategy: "either" }).pipe(Stream.interruptWhen(closing))
}

export const layer = HttpApiBuilder.group(HelyosApi, "events", (handlers) =>
  Effect.gen(function*() {
    const log = yield* EventLog
    // the API shutting down ends every open stream: the listener's close waits for open responses,
    // and this layer is released before the listener is
    const closing = yield* Deferred.make<void>()
    yield* Effect.addFinalizer(() => Deferred.succeed(closing, undefined))
    return handlers
      .handle("stream", ({ urlParams }) =>
        Effect.sync(() =>
          HttpServerResponse.stream(
            sseText(log, urlParams.history, Deferred.await(closing)).pipe(Stream.map((text) => encoder.encode(text))),
            {
              contentType: "text/event-stream",
              // the socket closes with the stream: a shutting-down server waits for no idle keep-alive
              headers: { "cache-control": "no-cache", "x-accel-buffering": "no", connection: "close" }
            }
          )
        ))
      // a limit beyond the history gives the whole history
      .handle("recent", ({ urlParams }) => Effect.map(log.recent(urlParams.limit), (events) => ({ events })))
  })
)
