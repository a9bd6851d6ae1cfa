// `helyos context ls|use|current|rm|rename|set`: the named connections in ~/.helyos/config.toml.
// Every change goes through one read-modify-save, which keeps keys the CLI does not know.
import { Console, Effect, Either, Option } from "effect"
import { nameProblem } from "../../domain/DeploymentSpec.js"
import {
  activeContext,
  type CliConfig,
  type CliContext,
  contextNameProblem,
  normalizeServer,
  tlsMode
} from "../../domain/CliContext.js"
import { configPath, loadConfigForUpdate, readConfig, writeConfig } from "./ConfigFile.js"
import type { Globals } from "./CommandLine.js"
import { CliError } from "./Connection.js"
import { renderTable } from "./Render.js"

const fail = (message: string) => Effect.fail(new CliError({ message }))

const orFail = <A>(either: Either.Either<A, string>) => Either.mapLeft(either, (message) => new CliError({ message }))

/** The table of `context ls`: `*` before the active context, `-` for no project. */
export const contextsTable = (config: CliConfig, active: Option.Option<string>): string =>
  config.contexts.size === 0
    ? "No contexts. Log in with: helyos login SERVER"
    : renderTable(
      ["  NAME", "SERVER", "PROJECT", "TLS"],
      [...config.contexts].map(([name, c]) => [
        `${Option.contains(active, name) ? "*" : " "} ${name}`,
        c.server,
        c.project ?? "-",
        tlsMode(c)
      ])
    )

/** Load, change, save (a .bak of the previous file, atomically, mode 0600). */
const update = (change: (config: CliConfig) => Effect.Effect<CliConfig, CliError>) =>
  Effect.gen(function*() {
    const file = configPath()
    const config = yield* orFail(loadConfigForUpdate(file))
    const next = yield* change(config)
    yield* Effect.try({
      try: () => writeConfig(file, next),
      catch: (error) => new CliError({ message: `cannot write ${file}: ${(error as Error).message}` })
    })
  })

const existing = (config: CliConfig, name: string) =>
  Option.match(Option.fromNullable(config.contexts.get(name)), {
    onNone: () => fail(`no context named '${name}' (see helyos context ls)`),
    onSome: (context) => Effect.succeed(context)
  })

const validName = (name: string) => {
  const problem = contextNameProblem(name)
  return problem === undefined ? Effect.void : fail(problem)
}

export const list = (globals: Globals) =>
  Effect.gen(function*() {
    const { config, warnings } = readConfig(configPath())
    for (const warning of warnings) yield* Console.error(`warning: ${warning}`)
    const active = yield* orFail(activeContext(config, globals.context))
    yield* Console.log(contextsTable(config, Option.map(active, ([name]) => name)))
  })

export const use = ({ name }: { readonly name: string }) =>
  Effect.gen(function*() {
    let server = ""
    yield* update((config) =>
      Effect.map(existing(config, name), (context) => {
        server = context.server
        return { ...config, currentContext: Option.some(name) }
      })
    )
    yield* Console.log(`Switched to context '${name}' (${server})`)
  })

export const current = (globals: Globals) =>
  Effect.gen(function*() {
    const { config, warnings } = readConfig(configPath())
    for (const warning of warnings) yield* Console.error(`warning: ${warning}`)
    const active = yield* orFail(activeContext(config, globals.context))
    if (Option.isNone(active)) return yield* fail("no active context (log in with helyos login SERVER, or helyos context use NAME)")
    const [name, context] = active.value
    yield* Console.log(`${name}  ${context.server}`)
  })

export const remove = ({ name }: { readonly name: string }) =>
  Effect.gen(function*() {
    yield* update((config) =>
      Effect.map(existing(config, name), () => {
        const contexts = new Map(config.contexts)
        contexts.delete(name)
        return {
          ...config,
          contexts,
          currentContext: Option.filter(config.currentContext, (c) => c !== name)
        }
      })
    )
    yield* Console.log(`Removed context '${name}' (server, token and pinned CA)`)
  })

export const rename = ({ next, old }: { readonly old: string; readonly next: string }) =>
  Effect.gen(function*() {
    yield* validName(next)
    yield* update((config) =>
      Effect.gen(function*() {
        const context = yield* existing(config, old)
        if (old !== next && config.contexts.has(next)) return yield* fail(`a context named '${next}' already exists`)
        // keep the file order: the renamed context stays where it was
        const contexts = new Map([...config.contexts].map(([n, c]) => n === old ? [next, context] : [n, c]))
        return {
          ...config,
          contexts,
          currentContext: Option.map(config.currentContext, (c) => c === old ? next : c)
        }
      })
    )
    yield* Console.log(`Renamed context '${old}' to '${next}'`)
  })

export const set = (input: { readonly name: string; readonly server: string | undefined; readonly project: string | undefined }) =>
  Effect.gen(function*() {
    const { name } = input
    const server = Option.fromNullable(input.server)
    const project = Option.fromNullable(input.project)
    yield* validName(name)
    const url = yield* Option.match(server, {
      onNone: () => Effect.succeed(Option.none<string>()),
      onSome: (s) => Effect.map(orFail(normalizeServer(s)), Option.some)
    })
    if (Option.isSome(project) && project.value !== "") {
      const problem = nameProblem(project.value)
      if (problem !== undefined) return yield* fail(`invalid --project: ${problem}`)
    }
    if (Option.isNone(url) && Option.isNone(project)) return yield* fail("nothing to set: pass --server and/or --project")
    let created = false
    let keptSecrets = false
    yield* update((config) =>
      Effect.gen(function*() {
        const before = config.contexts.get(name)
        if (before === undefined && Option.isNone(url)) {
          return yield* fail(`no context named '${name}': pass --server to create it`)
        }
        created = before === undefined
        keptSecrets = before !== undefined && Option.isSome(url) && url.value !== before.server &&
          (before.token !== undefined || before.ca !== undefined)
        const { project: _project, ...rest }: CliContext = before ?? { server: "" }
        const keptProject = Option.match(project, {
          onNone: () => Option.fromNullable(before?.project),
          onSome: (p) => Option.liftPredicate(p, (s) => s !== "")
        })
        const context: CliContext = {
          ...rest,
          server: Option.getOrElse(url, () => rest.server),
          ...Option.match(keptProject, { onNone: () => ({}), onSome: (p) => ({ project: p }) })
        }
        const contexts = new Map(config.contexts)
        contexts.set(name, context)
        return { ...config, contexts }
      })
    )
    yield* Console.log(created ? `Created context '${name}'` : `Updated context '${name}'`)
    if (keptSecrets) {
      yield* Console.error(`note: context '${name}' keeps its token and pinned CA for the new server; replace them with helyos login`)
    }
  })
