// Terminal output of the CLI: borderless tables, usage gauges and ages (pure functions; a tiny
// helper instead of a table library, since all we need is padded columns that ignore colour codes),
// and the --json printers.
import { Console, Effect, Schema } from "effect"

const ANSI = /\u001b\[[0-9;]*m/g

/** Visible width of a cell (colour codes take no room). */
const width = (text: string) => text.replace(ANSI, "").length

/** Left-aligned columns separated by two spaces, header first; no trailing spaces. */
export const renderTable = (headers: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((row) => width(row[i] ?? ""))))
  const line = (cells: ReadonlyArray<string>) =>
    cells.map((cell, i) => i === cells.length - 1 ? cell : cell + " ".repeat(widths[i]! - width(cell))).join("  ")
  return [line(headers), ...rows.map(line)].join("\n")
}

/** Should output be coloured? Only on a terminal, and never with NO_COLOR set (no-color.org). */
export const colourEnabled = (stream: { readonly isTTY?: boolean }, env: NodeJS.ProcessEnv): boolean =>
  stream.isTTY === true && env.NO_COLOR === undefined

const paint = (code: number, text: string) => `\u001b[${code}m${text}\u001b[0m`

const GAUGE_CELLS = 10
/** Usage at or above these fractions is shown yellow / red. */
const WARN_AT = 0.6
const ALERT_AT = 0.8

/**
 * `██████░░░░  60%`: the used share of `total` (used = total - available). "-" when the total is
 * unknown (0), e.g. a node that has not reported its resources yet.
 */
export const gauge = (total: number, available: number, colour: boolean): string => {
  if (!(total > 0)) return "-"
  const used = Math.min(1, Math.max(0, (total - available) / total))
  const filled = Math.round(used * GAUGE_CELLS)
  const bar = "█".repeat(filled) + "░".repeat(GAUGE_CELLS - filled)
  const percent = `${Math.round(used * 100)}%`.padStart(4)
  if (!colour) return `${bar} ${percent}`
  const code = used >= ALERT_AT ? 31 : used >= WARN_AT ? 33 : 32
  return `${paint(code, bar)} ${percent}`
}

/** How long ago, coarsely: "3s ago", "5m ago", "2h ago", "4d ago". A time in the future reads "0s ago". */
export const age = (thenMs: number, nowMs: number): string => {
  const seconds = Math.max(0, Math.floor((nowMs - thenMs) / 1000))
  if (seconds < 60) return `${seconds}s ago`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return `${minutes}m ago`
  const hours = Math.floor(minutes / 60)
  if (hours < 24) return `${hours}h ago`
  return `${Math.floor(hours / 24)}d ago`
}

/** `--json` output: the value, pretty-printed. */
export const printJson = (value: unknown) => Console.log(JSON.stringify(value, null, 2))

/** `--json` output of a value with a Schema: its encoded (wire) form, pretty-printed. */
export const printEncoded = <A, I>(schema: Schema.Schema<A, I>, value: A) =>
  Effect.flatMap(Schema.encode(schema)(value).pipe(Effect.orDie), printJson)
