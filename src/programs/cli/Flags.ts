// What the workload commands share: the project when -p is absent, and the -y guard.
import { Effect, Option } from "effect"
import { CliError } from "./Connection.js"
import { confirm } from "./Prompts.js"

/** The project when -p is absent and the context names none. */
export const DEFAULT_PROJECT = "default"

/** -p, else the active context's project, else `default`. */
export const projectOrDefault = (project: string | undefined, fromContext: Option.Option<string>): string =>
  project ?? Option.getOrElse(fromContext, () => DEFAULT_PROJECT)

/**
 * Go ahead only with -y, or when the user confirms on a terminal; without a terminal refuse,
 * saying to pass -y (a script must never hang on a prompt).
 */
export const confirmed = (yes: boolean, what: string) =>
  Effect.gen(function*() {
    if (yes) return
    if (process.stdin.isTTY !== true || process.stdout.isTTY !== true) {
      return yield* new CliError({ message: `refusing to ${what} without confirmation: pass -y (--yes)` })
    }
    const ok = yield* confirm(`${what[0]!.toUpperCase()}${what.slice(1)}?`)
    if (!ok) return yield* new CliError({ message: "cancelled" })
  })
