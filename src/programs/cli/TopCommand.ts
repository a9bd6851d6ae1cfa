// `helyos top`: a live view of nodes (CPU/MEM gauges, pods), pods and events, refreshed every 2 s and
// on every event of GET /api/v1/events; the keys (TopKeys) move through the panels, show a pod's logs,
// scale or remove its deployment. q, Esc or Ctrl-C quits and gives the terminal back as it was.
// Not on a terminal (or with --once): one plain snapshot, then exit 0.
import { HttpClientRequest } from "@effect/platform"
import { Clock, Console, Deferred, Duration, Effect, Either, Queue, Ref, Schedule, type Scope, Stream } from "effect"
import type { HelyosEvent } from "../../domain/HelyosEvent.js"
import type { PodView } from "../../domain/Workload.js"
import { EventsApi } from "../../services/api/EventsApi.js"
import { NodesApi } from "../../services/api/NodesApi.js"
import { WorkloadsApi } from "../../services/api/WorkloadsApi.js"
import type { Globals } from "./CommandLine.js"
import { CliError, clientApi, connect } from "./Connection.js"
import { sseItems, type StreamItem } from "./EventsCommands.js"
import { colourEnabled } from "./Render.js"
import { type Action, deploymentKey, initialView, keysOf, onKey, type Shown, type TopView } from "./TopKeys.js"
import { EVENTS_KEPT, panelRows, renderTop, sortedPods, type TopEvent, type TopState } from "./TopRender.js"

/** How often the panels are fetched again (events arrive as they happen). */
const REFRESH_EVERY = Duration.seconds(2)
/** After an event, wait this long before refreshing (an event burst then costs one refresh, not many). */
const EVENT_REFRESH_GAP = Duration.millis(250)
/** How long to wait before reopening a closed event stream. */
const RECONNECT_EVERY = Duration.seconds(5)
/** Events replayed when the stream opens, and polled while it is down. */
const EVENT_HISTORY = 20
/** Log lines the logs view asks for. */
const LOG_TAIL = 200
/** How long the logs view waits for them. */
const LOG_TIMEOUT = Duration.seconds(5)

const Api = clientApi(NodesApi).add(WorkloadsApi).add(EventsApi)

const connectTop = (globals: Globals) => connect(globals, Api)

type Connection = Effect.Effect.Success<ReturnType<typeof connectTop>>

const keep = (events: ReadonlyArray<TopEvent>) => events.slice(-EVENTS_KEPT)
const asEvents = (events: ReadonlyArray<HelyosEvent>): ReadonlyArray<TopEvent> =>
  events.map((event) => ({ _tag: "Event", event }))
const fromStream = (item: StreamItem): TopEvent =>
  item._tag === "Event" ? item : { _tag: "Note", text: item.warning }

/** Nodes (with live usage), pods and deployments; a failure is the line the user reads. */
const fetchPanels = ({ request }: Connection) =>
  Effect.all([
    request((api) => api.nodes.stats()),
    request((api) => api.workloads.pods({ urlParams: {} })),
    request((api) => api.workloads.deployments({ urlParams: {} }))
  ], { concurrency: 3 })

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

/** The last lines of one pod (`<pod> <line>` on the wire, shown without the pod's name). */
const podLogs = ({ explainError, http }: Connection, pod: PodView) =>
  Effect.gen(function*() {
    const route = `/api/v1/projects/${encodeURIComponent(pod.project)}/deployments/${encodeURIComponent(pod.deployment_name)}/logs`
    const response = yield* http.execute(
      HttpClientRequest.get(route, { urlParams: { tail: String(LOG_TAIL), pod: pod.name, follow: "false" } })
    )
    const body = yield* response.text
    if (response.status !== 200) {
      const said = Either.getOrUndefined(Either.try(() => (JSON.parse(body) as { error?: unknown }).error))
      return yield* new CliError({ message: typeof said === "string" ? said : `logs refused (HTTP ${response.status})` })
    }
    const prefix = `${pod.name} `
    return body.split("\n").filter((line) => line !== "").map((line) => line.startsWith(prefix) ? line.slice(prefix.length) : line)
  }).pipe(
    Effect.scoped,
    Effect.timeoutFail({ duration: LOG_TIMEOUT, onTimeout: () => new CliError({ message: "helyosd sent no logs in time" }) }),
    Effect.catchAll(explainError)
  )

const ESC = "\u001b"

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
    const scope: Scope.Scope = yield* Effect.scope
    const state = yield* Ref.make<TopState>({
      server: connection.server,
      nodes: [],
      pods: [],
      events: [],
      eventSource: "polling",
      problem: undefined,
      refreshedAtMs: undefined
    })
    const view = yield* Ref.make<TopView>(initialView)
    /** desired replicas by `project/name` */
    const replicas = yield* Ref.make<ReadonlyMap<string, number>>(new Map())
    // one pending redraw is enough: a draw always shows the latest state
    const dirty = yield* Queue.sliding<void>(1)
    const redraw = Queue.offer(dirty, undefined).pipe(Effect.asVoid)
    const quit = yield* Deferred.make<void>()
    // an event or an action asks for a refresh now; one pending request is enough
    const refreshSoon = yield* Queue.dropping<void>(1)

    /** Show the logs of `pod` in the logs view, if it is still open on that pod. */
    const loadLogs = (pod: PodView) =>
      Effect.gen(function*() {
        const result = yield* Effect.either(podLogs(connection, pod))
        yield* Ref.update(view, (v) =>
          v.overlay._tag === "Logs" && v.overlay.pod.id === pod.id
            ? {
              ...v,
              overlay: Either.match(result, {
                onLeft: (error) => ({ ...v.overlay, problem: error.message }) as TopView["overlay"],
                onRight: (lines) => ({ ...v.overlay, lines, problem: undefined }) as TopView["overlay"]
              })
            }
            : v)
        yield* redraw
      })

    const refresh = Effect.gen(function*() {
      const panels = yield* Effect.either(fetchPanels(connection))
      const polled = (yield* Ref.get(state)).eventSource === "live" ? undefined : yield* pollEvents(connection)
      const nowMs = yield* Clock.currentTimeMillis
      if (Either.isRight(panels)) {
        yield* Ref.set(replicas, new Map(panels.right[2].map((d) => [deploymentKey({ project: d.project, name: d.name }), d.replicas])))
      }
      yield* Ref.update(state, (s) => ({
        ...s,
        ...Either.match(panels, {
          onLeft: (error) => ({ problem: error.message }),
          onRight: ([nodes, pods]) => ({ nodes, pods, problem: undefined, refreshedAtMs: nowMs })
        }),
        // the stream may have opened meanwhile: then its events win
        ...(polled === undefined || s.eventSource === "live" ? {} : { events: polled.events, eventSource: polled.source })
      }))
      const open = (yield* Ref.get(view)).overlay
      if (open._tag === "Logs") yield* loadLogs(open.pod)
      yield* redraw
    })

    /** What a key asked for, carried out in the background (the keys keep working meanwhile). */
    const perform = (action: Action): Effect.Effect<void> => {
      const report = (message: string) => Ref.update(view, (v) => ({ ...v, message })).pipe(Effect.zipRight(redraw))
      const done = (effect: Effect.Effect<string, CliError>) =>
        effect.pipe(
          Effect.catchAll((error) => Effect.succeed(error.message)),
          Effect.flatMap(report),
          Effect.zipRight(Queue.offer(refreshSoon, undefined)),
          Effect.forkIn(scope),
          Effect.asVoid
        )
      switch (action._tag) {
        case "Quit":
          return Deferred.succeed(quit, undefined).pipe(Effect.asVoid)
        case "Logs":
          return loadLogs(action.pod).pipe(Effect.forkIn(scope), Effect.asVoid)
        case "Scale": {
          const { deployment, replicas: count } = action
          return done(connection.request((api) =>
            api.workloads.scale({ path: { project: deployment.project, name: deployment.name }, payload: { replicas: count } })
          ).pipe(Effect.map((d) => `deployment ${deploymentKey(deployment)} scaled to ${d.replicas} replica(s)`)))
        }
        case "Remove": {
          const { deployment } = action
          return done(connection.request((api) =>
            api.workloads.remove({ path: { project: deployment.project, name: deployment.name } })
          ).pipe(Effect.as(`deployment ${deploymentKey(deployment)} removed`)))
        }
      }
    }

    const onInput = (data: string) =>
      Effect.forEach(keysOf(data), (key) =>
        Effect.gen(function*() {
          const s = yield* Ref.get(state)
          const shown: Shown = { rows: panelRows(s), pods: sortedPods(s.pods), replicas: yield* Ref.get(replicas) }
          const step = onKey(yield* Ref.get(view), key, shown)
          yield* Ref.set(view, step.view)
          if (step.action !== undefined) yield* perform(step.action)
          yield* redraw
        }), { discard: true })

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

    const draw = Effect.flatMap(Effect.all([Ref.get(state), Ref.get(view)]), ([s, v]) =>
      Effect.sync(() => {
        const lines = renderTop(s, {
          rows: process.stdout.rows,
          columns: process.stdout.columns,
          colour: colourEnabled(process.stdout, process.env),
          interactive: true
        }, v)
        // raw mode: lines end in \r\n; each clears its rest, and the screen below the last is cleared
        process.stdout.write(`${ESC}[H${lines.map((line) => `${line}${ESC}[K`).join("\r\n")}${ESC}[J`)
      }))

    yield* takeTerminal
    yield* emitterEvents(process.stdin, "data", String).pipe(Stream.runForEach(onInput), Effect.forkScoped)
    yield* emitterEvents(process.stdout, "resize", () => undefined).pipe(Stream.runForEach(() => redraw), Effect.forkScoped)
    yield* Queue.take(dirty).pipe(Effect.zipRight(draw), Effect.forever, Effect.forkScoped)
    yield* redraw
    // every 2 s, or shortly after an event or an action (then the 2 s start again)
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

export const top = ({ once }: { readonly once: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const connection = yield* connectTop(globals)
    const terminal = process.stdout.isTTY === true && process.stdin.isTTY === true
    if (once || !terminal) return yield* snapshot(connection)
    yield* liveView(connection)
  }).pipe(Effect.scoped)
