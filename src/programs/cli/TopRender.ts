// What `helyos top` draws: a pure function from what it knows (nodes, pods, events), the view the keys
// made (TopKeys: focus, selections, overlays) and the size of the screen to the lines to print. The
// terminal handling lives in TopCommand.
import type { HelyosEvent } from "../../domain/HelyosEvent.js"
import { rfc3339 } from "../../domain/Time.js"
import { podStatusLabel, type PodView } from "../../domain/Workload.js"
import type { NodeStatsView } from "../../services/api/NodesApi.js"
import { gauge, renderTable } from "./Render.js"
import { deploymentKey, HELP_LINES, initialView, KEY_HINT, type Panel, selectedRow, type TopView } from "./TopKeys.js"

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

/** Pods in the order the panel lists them: by project, then name (web-2 before web-10). */
export const sortedPods = (pods: ReadonlyArray<PodView>): ReadonlyArray<PodView> =>
  [...pods].sort((a, b) => a.project.localeCompare(b.project) || a.name.localeCompare(b.name, undefined, { numeric: true }))

const podRows = (pods: ReadonlyArray<PodView>) =>
  pods.length === 0
    ? ["No pods."]
    : renderTable(
      ["NAME", "PROJECT", "NODE", "STATUS", "RESTARTS"],
      sortedPods(pods).map((p) => [p.name, p.project, p.node ?? "-", podStatusLabel(p.status), String(p.restart_count)])
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

/**
 * The rows of a panel with the selection shown: `> ` before the selected row of the focused panel
 * (in reverse video with colour), two spaces before the others. `header` rows are never selected.
 */
const marked = (table: ReadonlyArray<string>, header: number, selected: number | undefined, colour: boolean) =>
  table.map((line, i) => {
    if (i < header) return `  ${line}`
    if (i - header !== selected) return `  ${line}`
    return colour ? `\u001b[7m> ${line}\u001b[0m` : `> ${line}`
  })

/**
 * At most `room` lines of a panel's table (its header first, if any) that include the selected row:
 * the rows before or after the window are counted (`… 3 more`).
 */
const windowed = (table: ReadonlyArray<string>, header: number, selected: number | undefined, room: number) => {
  if (table.length <= room || selected === undefined) return { lines: fit(table, room), offset: 0 }
  const rows = table.slice(header)
  const space = Math.max(1, room - header)
  // the first rows, and "… n more" below them, when they hold the selection
  if (selected < space - 1) return { lines: fit(table, room), offset: 0 }
  // else "… n more" above, the rows up to the selection, and below them what is left, if anything
  const last = selected === rows.length - 1
  const shown = Math.max(1, space - (last ? 1 : 2))
  const start = Math.min(Math.max(0, selected - shown + 1), rows.length - shown)
  const below = start + shown < rows.length ? [`… ${rows.length - start - shown} more`] : []
  return {
    lines: [...table.slice(0, header), `… ${start} more`, ...rows.slice(start, start + shown), ...below],
    offset: 1 - start
  }
}

interface PanelLines {
  readonly title: string
  /** the panel's table (or one message line) */
  readonly lines: ReadonlyArray<string>
  /** header rows of `lines` (1 for a table, 0 for a message or events) */
  readonly header: number
  /** data rows */
  readonly rows: number
}

/** The pod panel's rows, the node panel's and the events': what the keys move through. */
export const panelRows = (state: TopState): Readonly<Record<Panel, number>> => ({
  nodes: state.nodes.length,
  pods: state.pods.length,
  events: state.events.length
})

/** The prompt or message line above the key hint. */
const statusLine = (view: TopView, colour: boolean): ReadonlyArray<string> => {
  const overlay = view.overlay
  if (overlay._tag === "Scale") {
    const now = overlay.current === undefined ? "" : ` (now ${overlay.current})`
    return [`scale ${deploymentKey(overlay.deployment)} to${now}: ${overlay.typed}_   Enter applies · Esc cancels`]
  }
  if (overlay._tag === "Delete") {
    const d = `${overlay.pod.project}/${overlay.pod.deployment_name}`
    return [bold(`delete pod ${overlay.pod.name}: this removes deployment ${d} and its ${overlay.pods} pod(s). Sure? y/N`, colour)]
  }
  return view.message === undefined ? [] : [view.message]
}

/** The whole screen, top to bottom; `view` (the live view's focus, selections, overlay) defaults to the initial one. */
export const renderTop = (state: TopState, screen: Screen, view: TopView = initialView): ReadonlyArray<string> => {
  const { colour } = screen
  const when = state.refreshedAtMs === undefined ? "" : ` · ${rfc3339(state.refreshedAtMs).slice(11, 19)} UTC`
  const header = [`helyos top · ${state.server}${when}`]
  if (state.problem !== undefined) header.push(colour ? `\u001b[31m! ${state.problem}\u001b[0m` : `! ${state.problem}`)
  const footer = screen.interactive ? [...statusLine(view, colour), KEY_HINT] : []
  const clipAll = (lines: ReadonlyArray<string>) => lines.map((line) => clip(line, screen.columns))

  if (screen.interactive && view.overlay._tag === "Help") {
    return clipAll([...header, "", ...HELP_LINES].slice(0, screen.rows ?? Infinity))
  }
  if (screen.interactive && view.overlay._tag === "Logs") {
    const { lines, pod, problem } = view.overlay
    const title = bold(`LOGS ${pod.project}/${pod.name} (last lines; Esc or l goes back)`, colour)
    const body = problem !== undefined ? [`! ${problem}`] : lines === undefined ? ["Loading…"] : lines.length === 0 ? ["No log lines."] : lines
    const room = screen.rows === undefined ? body.length : Math.max(1, screen.rows - header.length - 2 - footer.length)
    return clipAll([...header, "", title, ...body.slice(-room), ...footer])
  }

  // before the first answer there is nothing to show yet, which is not "no nodes"
  const loading = state.refreshedAtMs === undefined && state.problem === undefined
  const sourceNote = state.eventSource === "live" ? "live" : state.eventSource === "polling" ? "polled" : "unavailable"
  const panels: Record<Panel, PanelLines> = {
    nodes: {
      title: `NODES (${state.nodes.length})`,
      lines: loading ? ["Loading…"] : nodeRows(state.nodes, colour),
      header: loading || state.nodes.length === 0 ? 0 : 1,
      rows: loading ? 0 : state.nodes.length
    },
    pods: {
      title: `PODS (${state.pods.length})`,
      lines: loading ? ["Loading…"] : podRows(state.pods),
      header: loading || state.pods.length === 0 ? 0 : 1,
      rows: loading ? 0 : state.pods.length
    },
    events: {
      title: `EVENTS (${sourceNote})`,
      lines: eventLines(state.events, state.eventSource),
      header: 0,
      rows: state.events.length
    }
  }

  // unbounded (a snapshot): everything, the newest events last
  if (!screen.interactive) {
    const page = (["nodes", "pods", "events"] as const).flatMap((panel, i) => [
      ...(i === 0 ? [] : [""]),
      bold(panels[panel].title, colour),
      ...panels[panel].lines
    ])
    const all = [...header, "", ...page]
    return clipAll(screen.rows === undefined ? all : all.slice(0, screen.rows))
  }

  // a live screen: nodes first (few), then the newest events, and pods get the rest
  const selection = (panel: Panel) => panels[panel].rows === 0 ? undefined : selectedRow(view, panel, panels[panel].rows)
  const fixed = header.length + 3 /* blank lines */ + 3 /* titles */ + footer.length
  let room = Math.max(0, (screen.rows ?? Infinity) - fixed)
  const shownLines = (panel: Panel, space: number) => {
    const { header: head, lines } = panels[panel]
    const chosen = selection(panel)
    const { lines: visible, offset } = windowed(lines, head, chosen, space)
    const focusedRow = view.focus === panel && chosen !== undefined ? chosen + offset : undefined
    return marked(visible, head, focusedRow, colour)
  }
  const nodesRoom = Math.min(panels.nodes.lines.length, Math.max(2, Math.floor(room / 3)))
  const shownNodes = shownLines("nodes", nodesRoom)
  room -= shownNodes.length
  const eventRoom = Math.min(EVENT_ROWS, panels.events.lines.length, Math.max(1, Math.floor(room / 3)))
  const shownEvents = shownLines("events", eventRoom)
  room -= shownEvents.length
  const shownPods = shownLines("pods", Math.max(1, room))
  const title = (panel: Panel) => {
    const text = panels[panel].title
    return view.focus === panel ? bold(`[${text}]`, colour) : ` ${text}`
  }
  const page = [
    ...header,
    "",
    title("nodes"),
    ...shownNodes,
    "",
    title("pods"),
    ...shownPods,
    "",
    title("events"),
    ...shownEvents,
    ...footer
  ]
  return clipAll(screen.rows === undefined ? page : page.slice(0, screen.rows))
}
