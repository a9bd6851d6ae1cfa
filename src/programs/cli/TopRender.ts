// What `helyos top` draws: a pure function from what it knows (nodes, pods, events) and the size of
// the screen to the lines to print. The terminal handling lives in TopCommand.
import type { HelyosEvent } from "../../domain/HelyosEvent.js"
import { rfc3339 } from "../../domain/Time.js"
import { podStatusLabel, type PodView } from "../../domain/Workload.js"
import type { NodeStatsView } from "../../services/api/NodesApi.js"
import { gauge, renderTable } from "./Render.js"

/** One line of the Events panel: an event, or a note from the stream (e.g. "missed 5 events"). */
export type TopEvent =
  | { readonly _tag: "Event"; readonly event: HelyosEvent }
  | { readonly _tag: "Note"; readonly text: string }

/** Where the Events panel gets its lines: the live stream, polling the recent list, or nowhere. */
export type EventSource = "live" | "polling" | "unavailable"

export interface TopState {
  readonly server: string
  readonly nodes: ReadonlyArray<NodeStatsView>
  readonly pods: ReadonlyArray<PodView>
  /** oldest first */
  readonly events: ReadonlyArray<TopEvent>
  readonly eventSource: EventSource
  /** why the last refresh failed (the panels keep what they showed before) */
  readonly problem: string | undefined
  /** epoch ms of the last successful refresh */
  readonly refreshedAtMs: number | undefined
}

export interface Screen {
  /** terminal size; undefined: unbounded (a snapshot prints everything) */
  readonly rows: number | undefined
  readonly columns: number | undefined
  readonly colour: boolean
  /** the key hint on the last line (live view only) */
  readonly interactive: boolean
}

/** How many events the view keeps (and the snapshot shows at most). */
export const EVENTS_KEPT = 100
/** Events shown on a live screen at most, so pods keep most of the room. */
const EVENT_ROWS = 8

const ANSI = /\u001b\[[0-9;]*m/g

/** Cut a line to `columns` visible characters; colour codes take no room and are closed if cut. */
export const clip = (line: string, columns: number | undefined): string => {
  if (columns === undefined || line.replace(ANSI, "").length <= columns) return line
  let out = ""
  let shown = 0
  for (let i = 0; i < line.length && shown < columns;) {
    const code = /^\u001b\[[0-9;]*m/.exec(line.slice(i))
    if (code !== null) {
      out += code[0]
      i += code[0].length
    } else {
      out += line[i]
      shown++
      i++
    }
  }
  return out.includes("\u001b[") ? `${out}\u001b[0m` : out
}

const bold = (text: string, colour: boolean) => (colour ? `\u001b[1m${text}\u001b[0m` : text)

/** HH:MM:SS of an RFC 3339 UTC timestamp (the time of day is what a live view needs). */
const clock = (timestamp: string) => /T(\d\d:\d\d:\d\d)/.exec(timestamp)?.[1] ?? timestamp

const nodeRows = (nodes: ReadonlyArray<NodeStatsView>, colour: boolean) =>
  nodes.length === 0
    ? ["No nodes."]
    : renderTable(
      ["NAME", "ROLE", "STATUS", "CPU", "MEM", "PODS"],
      nodes.map((n) => [
        n.name,
        n.role,
        n.status,
        gauge(n.cpu_cores > 0 ? 100 : 0, 100 - n.cpu_usage_percent, colour),
        gauge(n.memory_total_bytes, n.memory_total_bytes - n.memory_used_bytes, colour),
        String(n.pod_count)
      ])
    ).split("\n")

const podRows = (pods: ReadonlyArray<PodView>) =>
  pods.length === 0
    ? ["No pods."]
    : renderTable(
      ["NAME", "PROJECT", "NODE", "STATUS", "RESTARTS"],
      [...pods]
        .sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name, undefined, { numeric: true }))
        .map((p) => [p.name, p.project, p.node ?? "-", podStatusLabel(p.status), String(p.restart_count)])
    ).split("\n")

const eventLines = (events: ReadonlyArray<TopEvent>, source: EventSource) => {
  if (events.length === 0) return [source === "unavailable" ? "Events are unavailable on this helyosd." : "No events yet."]
  return events.map((item) =>
    item._tag === "Note"
      ? `! ${item.text}`
      : [clock(item.event.timestamp), item.event.kind, item.event.name, item.event.action, item.event.message].join("  ")
  )
}

/** Keep a table's header and as many rows as `room` allows, saying how many were left out. */
const fit = (table: ReadonlyArray<string>, room: number): ReadonlyArray<string> => {
  if (table.length <= room) return table
  const kept = Math.max(1, room - 1)
  return [...table.slice(0, kept), `… ${table.length - kept} more`]
}

/** The whole screen, top to bottom. */
export const renderTop = (state: TopState, screen: Screen): ReadonlyArray<string> => {
  const { colour } = screen
  const when = state.refreshedAtMs === undefined ? "" : ` · ${rfc3339(state.refreshedAtMs).slice(11, 19)} UTC`
  const header = [`helyos top · ${state.server}${when}`]
  if (state.problem !== undefined) header.push(colour ? `\u001b[31m! ${state.problem}\u001b[0m` : `! ${state.problem}`)

  // before the first answer there is nothing to show yet, which is not "no nodes"
  const loading = state.refreshedAtMs === undefined && state.problem === undefined
  const nodes = loading ? ["Loading…"] : nodeRows(state.nodes, colour)
  const pods = loading ? ["Loading…"] : podRows(state.pods)
  const sourceNote = state.eventSource === "live" ? "live" : state.eventSource === "polling" ? "polled" : "unavailable"
  const allEvents = eventLines(state.events, state.eventSource)
  const footer = screen.interactive ? ["q quits · refreshes every 2 s and on every event"] : []

  const titled = (title: string, count: number | undefined, body: ReadonlyArray<string>) => [
    bold(count === undefined ? title : `${title} (${count})`, colour),
    ...body
  ]
  const page = (shownNodes: ReadonlyArray<string>, shownPods: ReadonlyArray<string>, shownEvents: ReadonlyArray<string>) => [
    ...header,
    "",
    ...titled("NODES", state.nodes.length, shownNodes),
    "",
    ...titled("PODS", state.pods.length, shownPods),
    "",
    ...titled(`EVENTS (${sourceNote})`, undefined, shownEvents),
    ...footer
  ]
  // unbounded (a snapshot): everything, the newest events last
  if (screen.rows === undefined) return page(nodes, pods, allEvents).map((line) => clip(line, screen.columns))
  // a live screen: nodes first (few), then the newest events, and pods get the rest
  const fixed = header.length + 3 /* blank lines */ + 3 /* titles */ + footer.length
  let room = Math.max(0, screen.rows - fixed)
  const shownNodes = fit(nodes, Math.min(nodes.length, Math.max(2, Math.floor(room / 3))))
  room -= shownNodes.length
  const eventRoom = Math.min(EVENT_ROWS, allEvents.length, Math.max(1, Math.floor(room / 3)))
  const shownEvents = allEvents.slice(-eventRoom)
  room -= shownEvents.length
  const shownPods = fit(pods, Math.max(1, room))
  return page(shownNodes, shownPods, shownEvents).slice(0, screen.rows).map((line) => clip(line, screen.columns))
}
