// `helyos events`: the cluster's recent events, and with -f the live stream after them (until Ctrl-C).
import { HttpClientRequest } from "@effect/platform"
import { Console, Effect, Either, Schema, Stream } from "effect"
import { HelyosEvent } from "../../domain/HelyosEvent.js"
import { EventsApi } from "../../services/api/EventsApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect, unexpectedAnswer } from "./Connection.js"
import { printJson } from "./Render.js"

/** How many past events are shown when --limit is absent. */
const DEFAULT_LIMIT = 100

/** `2026-11-24T22:03:04Z  pod  web-0  restarted  exited with code 1; restart 2 in 2s` */
export const eventLine = (event: HelyosEvent): string =>
  [event.timestamp.replace(/\.\d+Z$/, "Z"), event.kind, event.name, event.action, event.message].join("  ")

/** What one SSE message of /api/v1/events carries. */
export type StreamItem =
  | { readonly _tag: "Event"; readonly event: HelyosEvent }
  | { readonly _tag: "Warning"; readonly warning: string }

const Warning = Schema.Struct({ warning: Schema.String })
const decodeItem = Schema.decodeUnknownEither(Schema.parseJson(Schema.Union(HelyosEvent, Warning)))

/**
 * The messages of an SSE text stream: `data:` lines joined per message (a blank line ends one),
 * comments (`: keepalive`) skipped; a message that is no event nor warning is reported, not fatal.
 */
export const sseItems = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<StreamItem, E, R> =>
  text.pipe(
    Stream.splitLines,
    Stream.mapAccum([] as ReadonlyArray<string>, (data, line): [ReadonlyArray<string>, ReadonlyArray<string>] => {
      if (line === "") return [[], data.length > 0 ? [data.join("\n")] : []]
      if (line.startsWith("data:")) return [[...data, line.slice(5).replace(/^ /, "")], []]
      return [data, []] // comments and fields we do not use
    }),
    Stream.flattenIterables,
    Stream.map((payload): StreamItem =>
      Either.match(decodeItem(payload), {
        onLeft: () => ({ _tag: "Warning", warning: `unreadable event from helyosd: ${payload.slice(0, 200)}` }),
        onRight: (item) => ("warning" in item ? { _tag: "Warning", warning: item.warning } : { _tag: "Event", event: item })
      })
    )
  )

export const events = (
  { follow, json, limit }: { readonly limit: number | undefined; readonly follow: boolean; readonly json: boolean },
  globals: Globals
) =>
  Effect.gen(function*() {
    const count = limit ?? DEFAULT_LIMIT
    const { explainError, http, request } = yield* connect(globals, clientApi(EventsApi))
    if (!follow) {
      const { events } = yield* request((api) => api.events.recent({ urlParams: { limit: count } }))
      if (json) return yield* printJson(events)
      if (events.length === 0) return yield* Console.log("No events.")
      for (const event of events) yield* Console.log(eventLine(event))
      return
    }
    const response = yield* http.execute(
      HttpClientRequest.get("/api/v1/events", {
        urlParams: { history: String(count) },
        headers: { accept: "text/event-stream" }
      })
    ).pipe(Effect.catchAll(explainError))
    if (response.status !== 200) return yield* explainError({ message: yield* unexpectedAnswer(response) })
    // one line per event as it comes (JSON lines with --json); lag warnings go to stderr
    yield* sseItems(response.stream.pipe(Stream.decodeText())).pipe(
      Stream.runForEach((item) =>
        item._tag === "Warning"
          ? Console.error(`warning: ${item.warning}`)
          : Console.log(json ? JSON.stringify(item.event) : eventLine(item.event))
      ),
      Effect.catchAll(explainError)
    )
    return yield* explainError({ message: "helyosd closed the event stream" })
  }).pipe(Effect.scoped)
