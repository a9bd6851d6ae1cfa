// Asking the person at the terminal (on stderr, so stdout stays the command's output): a line, a
// yes/no, and a value typed without echo. Callers check for a terminal first; Ctrl-C cancels.
import { Effect } from "effect"
import * as readline from "node:readline"
import { CliError } from "./Connection.js"

const cancelled = () => new CliError({ message: "cancelled" })

/** Ask and read one line typed on the terminal. */
export const ask = (question: string): Effect.Effect<string, CliError> =>
  Effect.async((resume) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr })
    let answered = false
    rl.on("SIGINT", () => {
      answered = true
      rl.close()
      process.stderr.write("\n")
      resume(Effect.fail(cancelled()))
    })
    rl.on("close", () => {
      if (!answered) resume(Effect.fail(cancelled())) // Ctrl-D
    })
    rl.question(question, (answer) => {
      answered = true
      rl.close()
      resume(Effect.succeed(answer))
    })
    return Effect.sync(() => rl.close())
  })

/** `message [y/N] `: true only for y or yes. */
export const confirm = (message: string): Effect.Effect<boolean, CliError> =>
  Effect.map(ask(`${message} [y/N] `), (answer) => /^(y|yes)$/i.test(answer.trim()))

/** The characters of a typed value: Enter ends it, Backspace removes one, Ctrl-C or Ctrl-D cancels. */
export const typedValue = (value: string, data: string): { readonly value: string; readonly done?: "enter" | "cancel" } => {
  let typed = value
  for (const char of data) {
    if (char === "\r" || char === "\n") return { value: typed, done: "enter" }
    if (char === "\u0003" || char === "\u0004") return { value: typed, done: "cancel" }
    if (char === "\u007f" || char === "\b") typed = typed.slice(0, -1)
    else if (char >= " ") typed += char
  }
  return { value: typed }
}

/** A value typed without echo (raw mode; the terminal is restored however it ends). */
export const hidden = (message: string): Effect.Effect<string, CliError> =>
  Effect.async((resume) => {
    const stdin = process.stdin
    process.stderr.write(`${message}: `)
    let value = ""
    const restore = () => {
      stdin.off("data", onData)
      stdin.setRawMode(false)
      stdin.pause()
    }
    const onData = (chunk: Buffer | string) => {
      const next = typedValue(value, chunk.toString())
      value = next.value
      if (next.done === undefined) return
      restore()
      process.stderr.write("\n")
      resume(next.done === "enter" ? Effect.succeed(value) : Effect.fail(cancelled()))
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on("data", onData)
    return Effect.sync(restore)
  })
