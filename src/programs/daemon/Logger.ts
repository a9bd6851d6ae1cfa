// The daemon's log format: "<LEVEL> <message> key=value…", one line per entry, on stdout.
// Plain on purpose: the join-token line must read exactly as the clustering guide shows it.
import { Cause, HashMap, Logger } from "effect"

const render = (message: unknown): string =>
  Array.isArray(message) ? message.map(render).join(" ") : typeof message === "string" ? message : String(message)

export const PlainLogger = Logger.make(({ annotations, cause, logLevel, message }) => {
  let line = `${logLevel.label} ${render(message)}`
  for (const [key, value] of HashMap.toEntries(annotations)) line += ` ${key}=${render(value)}`
  if (!Cause.isEmpty(cause)) line += ` cause=${JSON.stringify(Cause.pretty(cause))}`
  process.stdout.write(line + "\n")
})

export const PlainLoggerLive = Logger.replace(Logger.defaultLogger, PlainLogger)
