// Flags shared by the workload commands: -p/--project (default: the context's, else `default`), --json, and the -y guard.
import { Options, Prompt } from "@effect/cli"
import { Effect, Option } from "effect"
import { CliError, connect, type ConnectionFlags } from "./Connection.js"

/** The project when -p is absent. */
export const DEFAULT_PROJECT = "default"

export const projectOption = Options.text("project").pipe(
  Options.withAlias("p"),
  Options.withDescription(`the project (default: the context's project, else ${DEFAULT_PROJECT})`),
  Options.optional
)

/** For list commands: absent means every project. */
export const projectFilter = Options.text("project").pipe(
  Options.withAlias("p"),
  Options.withDescription("only this project (default: every project)"),
  Options.optional
)

/** -p, else the active context's project, else `default`. */
const projectOrDefault = (project: Option.Option<string>, fromContext: Option.Option<string>): string =>
  Option.getOrElse(Option.orElse(project, () => fromContext), () => DEFAULT_PROJECT)

/** `connect`, with `project` resolved: -p, else the active context's project, else `default`. */
export const connectInProject = (flags: ConnectionFlags, project: Option.Option<string>) =>
  Effect.map(connect(flags), (connection) => ({ ...connection, project: projectOrDefault(project, connection.project) }))

export const jsonOption = Options.boolean("json").pipe(Options.withDescription("print the API's JSON"))

export const yesOption = Options.boolean("yes").pipe(Options.withAlias("y"), Options.withDescription("do not ask for confirmation"))

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
    const ok = yield* Prompt.confirm({ message: `${what[0]!.toUpperCase()}${what.slice(1)}?`, initial: false })
    if (!ok) return yield* new CliError({ message: "cancelled" })
  })
