// /api/v1/events: the cluster's event stream as Server-Sent Events (optionally replaying recent
// history first) and /api/v1/events/recent: the bounded recent history as JSON.
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { HelyosEvent } from "../../domain/HelyosEvent.js"
import { Authorization } from "./Authorization.js"

const Count = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

/** `?history=N`: replay the last N events before following (default 0). */
export const StreamParams = Schema.Struct({
  history: Schema.optionalWith(Count, { exact: true, default: () => 0 })
})

/** `?limit=N`: at most N events (default 100; more than the history holds gives the whole history). */
export const RecentParams = Schema.Struct({
  limit: Schema.optionalWith(Count, { exact: true, default: () => 100 })
})

export const RecentEvents = Schema.Struct({
  /** oldest first */
  events: Schema.Array(HelyosEvent)
})
export type RecentEvents = typeof RecentEvents.Type

/** The stream: `data: {json}\n\n` per event, `data: {"warning":"missed N events"}` after a lag, `: keepalive` comments. */
export const EventStreamText = HttpApiSchema.Text({ contentType: "text/event-stream" })

export class EventsApi extends HttpApiGroup.make("events")
  .add(HttpApiEndpoint.get("stream", "/api/v1/events").setUrlParams(StreamParams).addSuccess(EventStreamText))
  .add(HttpApiEndpoint.get("recent", "/api/v1/events/recent").setUrlParams(RecentParams).addSuccess(RecentEvents))
  .middleware(Authorization)
{}
