// `helyos top`: a live view of nodes (CPU/MEM gauges, pods), pods and events, refreshed every 2 s and
// on every event of GET /api/v1/events. q, Esc or Ctrl-C quits and gives the terminal back as it was.
// Not on a terminal (or with --once): one plain snapshot, then exit 0.
import { Command, Options } from "@effect/cli"
import { HttpClientRequest } from "@effect/platform"
import { Clock, Console, Deferred, Duration, Effect, Either, Queue, Ref, Schedule, Stream } from "effect"
import type { HelyosEvent } from "../../domain/HelyosEvent.js"
import { CliError, connect, connectionOptions } from "./Connection.js"
import { sseItems, type StreamItem } from "./EventsCommands.js"
import { colourEnabled } from "./Render.js"
import { EVENTS_KEPT, renderTop, type TopEvent, type TopState } from "./TopRender.js"

/** How often the panels are fetched again (events arrive as they happen). */
const REFRESH_EVERY = Duration.seconds(2)
/** After an event, wait this long before refreshing (an event burst then costs one refresh, not many). */
const EVENT_REFRESH_GAP = Duration.millis(250)
/** How long to wait before reopening a closed event stream. */
const RECONNECT_EVERY = Duration.seconds(5)
/** Events replayed when the stream opens, and polled while it is down. */
const EVENT_HISTORY = 20

type Connection = Effect.Effect.Success<ReturnType<typeof connect>>

const keep = (events: ReadonlyArray<TopEvent>) => events.slice(-EVENTS_KEPT)
const asEvents = (events: ReadonlyArray<HelyosEvent>): ReadonlyArray<TopEvent> =>
  events.map((event) => ({ _tag: "Event", event }))
const fromStream = (item: StreamItem): TopEvent =>
  item._tag === "Event" ? item : { _tag: "Note", text: item.warning }

/** Nodes (with live usage) and pods; a failure is the line the user reads. */
const fetchPanels = ({ request }: Connection) =>
  Effect.all([request((api) => api.nodes.stats()), request((api) => api.workloads.pods({ urlParams: {} }))], {
    concurrency: 2
  })

/** The recent events, or none when this helyosd has no event history to offer. */
const pollEvents = ({ request }: Connection) =>
  request((api) => api.events.recent({ urlParams: { limit: EVENT_HISTORY } })).pipe(
    Effect.map(({ events }) => ({ events: asEvents(events), source: "polling" as const })),
    Effect.orElseSucceed(() => ({ events: [] as ReadonlyArray<TopEvent>, source: "unavailable" as const }))
  )

/** One plain snapshot (no colour, no terminal control): what a pipe or a log file gets. */
const snapshot = (connection: Connection) =>
  Effect.gen(function*() {
    const [nodes, pods] = yield* fetchPanels(connection)
    const { events, source } = yield* pollEvents(connection)
    const state: TopState = {
      server: connection.server,
      nodes,
      pods,
      events,
      eventSource: source,
      problem: undefined,
      refreshedAtMs: yield* Clock.currentTimeMillis
    }
    const lines = renderTop(state, { rows: undefined, columns: undefined, colour: false, interactive: false })
    yield* Console.log(lines.join("\n"))
  })

const ESC = "\u001b"
const CTRL_C = "\u0003"
/** q, Ctrl-C, or Esc on its own (arrow keys also start with Esc, but come with more bytes). */
export const isQuit = (data: string) => data === ESC || data.includes(CTRL_C) || data.toLowerCase().includes("q")

/**
 * The terminal for as long as the scope lives: alternate screen, hidden cursor, raw keys. Released
 * on any exit (quit, error, interruption), so the user's shell comes back as it was.
 */
const takeTerminal = Effect.acquireRelease(
  Effect.sync(() => {
    process.stdout.write(`${ESC}[?1049h${ESC}[?25l`)
    process.stdin.setRawMode(true)
    process.stdin.setEncoding("utf8")
    process.stdin.resume()
  }),
  () =>
    Effect.sync(() => {
      process.stdin.setRawMode(false)
      process.stdin.pause()
      process.stdout.write(`${ESC}[?25h${ESC}[?1049l`)
    })
)

/** Events of a Node emitter as a stream, for as long as it is consumed. */
const emitterEvents = <A>(emitter: NodeJS.EventEmitter, name: string, map: (...args: Array<unknown>) => A) =>
  Stream.async<A>((emit) => {
    const listener = (...args: Array<unknown>) => void emit.single(map(...args))
    emitter.on(name, listener)
    return Effect.sync(() => void emitter.off(name, listener))
  })

const liveView = (connection: Connection) =>
  Effect.gen(function*() {
    const state = yield* Ref.make<TopState>({
      server: connection.server,
      nodes: [],
      pods: [],
      events: [],
      eventSource: "polling",
      problem: undefined,
      refreshedAtMs: undefined
    })
    // one pending redraw is enough: a draw always shows the latest state
    const dirty = yield* Queue.sliding<void>(1)
    const redraw = Queue.offer(dirty, undefined).pipe(Effect.asVoid)
    const quit = yield* Deferred.make<void>()
    // an event asks for a refresh now (pods change as events happen); one pending request is enough
    const refreshSoon = yield* Queue.dropping<void>(1)

    const refresh = Effect.gen(function*() {
      const panels = yield* Effect.either(fetchPanels(connection))
      const polled = (yield* Ref.get(state)).eventSource === "live" ? undefined : yield* pollEvents(connection)
      const nowMs = yield* Clock.currentTimeMillis
      yield* Ref.update(state, (s) => ({
        ...s,
        ...Either.match(panels, {
          onLeft: (error) => ({ problem: error.message }),
          onRight: ([nodes, pods]) => ({ nodes, pods, problem: undefined, refreshedAtMs: nowMs })
        }),
        // the stream may have opened meanwhile: then its events win
        ...(polled === undefined || s.eventSource === "live" ? {} : { events: polled.events, eventSource: polled.source })
      }))
      yield* redraw
    })

    /** Follow the SSE stream (replaying recent history) until it fails or closes. */
    const follow = Effect.gen(function*() {
      const response = yield* connection.http.execute(
        HttpClientRequest.get("/api/v1/events", {
          urlParams: { history: String(EVENT_HISTORY) },
          headers: { accept: "text/event-stream" }
        })
      )
      if (response.status !== 200) return yield* new CliError({ message: `event stream refused (HTTP ${response.status})` })
      // the replayed history replaces whatever was polled before
      yield* Ref.update(state, (s) => ({ ...s, events: [], eventSource: "live" as const }))
      yield* sseItems(response.stream.pipe(Stream.decodeText())).pipe(
        Stream.runForEach((item) =>
          Effect.all([
            Ref.update(state, (s) => ({ ...s, events: keep([...s.events, fromStream(item)]) })),
            redraw,
            Queue.offer(refreshSoon, undefined)
          ])
        )
      )
    }).pipe(
      Effect.scoped,
      Effect.ignore,
      // closed or refused: poll with the panels until the stream opens again
      Effect.zipRight(Ref.update(state, (s) => ({ ...s, eventSource: "polling" as const }))),
      Effect.repeat(Schedule.spaced(RECONNECT_EVERY))
    )

    const draw = Effect.flatMap(Ref.get(state), (s) =>
      Effect.sync(() => {
        const lines = renderTop(s, {
          rows: process.stdout.rows,
          columns: process.stdout.columns,
          colour: colourEnabled(process.stdout, process.env),
          interactive: true
        })
        // raw mode: lines end in \r\n; each clears its rest, and the screen below the last is cleared
        process.stdout.write(`${ESC}[H${lines.map((line) => `${line}${ESC}[K`).join("\r\n")}${ESC}[J`)
      }))

    yield* takeTerminal
    yield* emitterEvents(process.stdin, "data", String).pipe(
      Stream.runForEach((data) => (isQuit(data) ? Deferred.succeed(quit, undefined) : Effect.void)),
      Effect.forkScoped
    )
    yield* emitterEvents(process.stdout, "resize", () => undefined).pipe(Stream.runForEach(() => redraw), Effect.forkScoped)
    yield* Queue.take(dirty).pipe(Effect.zipRight(draw), Effect.forever, Effect.forkScoped)
    yield* redraw
    // every 2 s, or shortly after an event (then the 2 s start again)
    yield* refresh.pipe(
      Effect.zipRight(
        Effect.raceFirst(Effect.zipRight(Queue.take(refreshSoon), Effect.sleep(EVENT_REFRESH_GAP)), Effect.sleep(REFRESH_EVERY))
      ),
      Effect.zipRight(Queue.takeAll(refreshSoon)),
      Effect.forever,
      Effect.forkScoped
    )
    yield* follow.pipe(Effect.forkScoped)
    yield* Deferred.await(quit)
  })

export const top = Command.make(
  "top",
  {
    once: Options.boolean("once").pipe(Options.withDescription("print one snapshot and exit (what a pipe gets anyway)")),
    ...connectionOptions
  },
  ({ once, ...flags }) =>
    Effect.gen(function*() {
      const connection = yield* connect(flags)
      const terminal = process.stdout.isTTY === true && process.stdin.isTTY === true
      if (once || !terminal) return yield* snapshot(connection)
      yield* liveView(connection)
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Live view of nodes, pods and events (q quits); a snapshot when not on a terminal"))
