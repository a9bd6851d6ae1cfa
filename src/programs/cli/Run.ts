// Running one command's program: its failure becomes one `error: …` line on stderr and exit code 1;
// Ctrl-C (logs -f, events -f, top) interrupts it, and what stopping aborts is part of stopping: exit 0.
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import { CliError } from "./Connection.js"
import type { Program } from "./CommandLine.js"

/** The line(s) a failure prints: a CliError's message, else what went wrong unexpectedly. */
export const failureMessage = (cause: Cause.Cause<unknown>): string => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && failure.value instanceof CliError) return failure.value.message
  return `unexpected failure in helyos: ${String(Cause.squash(cause)).split("\n")[0]}`
}

export const runProgram = (program: Program): void => {
  const fiber = Effect.runFork(program)
  // a fiber waiting on nothing Node knows of (a Deferred) must not let the process end under it
  const keepAlive = setInterval(() => {}, 2 ** 31 - 1)
  let signalled = false
  const interrupt = () => {
    signalled = true
    Effect.runFork(Fiber.interrupt(fiber))
  }
  process.once("SIGINT", interrupt)
  process.once("SIGTERM", interrupt)
  fiber.addObserver((exit) => {
    clearInterval(keepAlive)
    process.off("SIGINT", interrupt)
    process.off("SIGTERM", interrupt)
    const failed = Exit.isFailure(exit) && !Cause.isInterruptedOnly(exit.cause)
    if (failed) process.stderr.write(`error: ${failureMessage(exit.cause)}\n`)
    process.exitCode = failed ? 1 : 0
    // after a signal, whatever the command left open (a stream's socket) must not keep it alive
    if (signalled) process.exit()
  })
}
