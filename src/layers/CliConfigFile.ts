// The CLI's config file (~/.helyos/config.toml, or $HELYOS_CONFIG): named contexts (server, token, …),
// which one is current, and how a command picks its server and token. Saves are atomic, mode 0600.
import { Either, Option, Redacted, Schema } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TOML from "smol-toml"

/** Where the CLI talks to when nothing else says: a daemon on this machine. */
export const DEFAULT_SERVER = "http://127.0.0.1:6443"

/** The name of the context helyosd writes for the CLI on its own machine. */
export const LOCAL_CONTEXT = "local"

/** One context: a daemon and how to talk to it. Only `server` is required. */
export interface CliContext {
  readonly server: string
  readonly token?: Redacted.Redacted<string>
  readonly tokenName?: string
  readonly project?: string
  readonly insecure?: boolean
  /** base64 of the pinned CA PEM */
  readonly ca?: string
  readonly caSha256?: string
}

export interface CliConfig {
  readonly currentContext: Option.Option<string>
  /** in file order */
  readonly contexts: ReadonlyMap<string, CliContext>
}

export const emptyConfig: CliConfig = { currentContext: Option.none(), contexts: new Map() }

/** `HELYOS_CONFIG` when set and non-empty, else ~/.helyos/config.toml. */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.HELYOS_CONFIG || path.join(os.homedir() || "/var/lib/helyos", ".helyos", "config.toml")

// ---------------------------------------------------------------------------------------------
// Reading

/** The keys of a `[context.NAME]` section as written on disk; unknown keys are ignored. */
const ContextSection = Schema.Struct({
  server: Schema.String,
  token: Schema.optional(Schema.String),
  "token-name": Schema.optional(Schema.String),
  project: Schema.optional(Schema.String),
  insecure: Schema.optional(Schema.Boolean),
  ca: Schema.optional(Schema.String),
  "ca-sha256": Schema.optional(Schema.String)
})

const decodeSection = Schema.decodeUnknownEither(ContextSection)

const toContext = (section: typeof ContextSection.Type): CliContext => ({
  server: section.server,
  ...(section.token !== undefined && section.token !== "" ? { token: Redacted.make(section.token) } : {}),
  ...(section["token-name"] !== undefined ? { tokenName: section["token-name"] } : {}),
  ...(section.project !== undefined ? { project: section.project } : {}),
  ...(section.insecure !== undefined ? { insecure: section.insecure } : {}),
  ...(section.ca !== undefined ? { ca: section.ca } : {}),
  ...(section["ca-sha256"] !== undefined ? { caSha256: section["ca-sha256"] } : {})
})

const isTable = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Parse the file's text. Left: the file is not TOML at all. Sections that are not valid contexts are
 * skipped and reported in `warnings`. A legacy flat file (top-level server/token, no sections) is
 * read as one context named `default`.
 */
export const parseConfig = (
  text: string
): Either.Either<{ readonly config: CliConfig; readonly warnings: ReadonlyArray<string> }, string> => {
  let doc: Record<string, unknown>
  try {
    doc = TOML.parse(text)
  } catch (error) {
    return Either.left(error instanceof Error ? error.message.split("\n")[0]! : String(error))
  }
  const warnings: Array<string> = []
  const contexts = new Map<string, CliContext>()
  const sections = isTable(doc.context) ? doc.context : {}
  for (const [name, section] of Object.entries(sections)) {
    Either.match(decodeSection(section), {
      onLeft: () => warnings.push(`context '${name}' is ignored: it needs a string 'server'`),
      onRight: (ok) => contexts.set(name, toContext(ok))
    })
  }
  if (contexts.size === 0 && !isTable(doc.context) && typeof doc.server === "string") {
    Either.map(decodeSection(doc), (legacy) => contexts.set("default", toContext(legacy)))
  }
  const current = typeof doc["current-context"] === "string" && doc["current-context"] !== ""
    ? Option.some(doc["current-context"])
    : Option.none()
  return Either.right({ config: { currentContext: current, contexts }, warnings })
}

/**
 * Read the file. A missing file is simply no contexts; an unreadable or invalid one also reads as
 * no contexts, with a warning the caller prints.
 */
export const readConfig = (file: string): { readonly config: CliConfig; readonly warnings: ReadonlyArray<string> } => {
  let text: string
  try {
    text = fs.readFileSync(file, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { config: emptyConfig, warnings: [] }
    return { config: emptyConfig, warnings: [`cannot read ${file}: ${(error as Error).message}`] }
  }
  return Either.match(parseConfig(text), {
    onLeft: (problem) => ({ config: emptyConfig, warnings: [`ignoring ${file}: not valid TOML (${problem})`] }),
    onRight: ({ config, warnings }) => ({ config, warnings: warnings.map((w) => `${file}: ${w}`) })
  })
}

// ---------------------------------------------------------------------------------------------
// Writing

const HEADER = "# Helyos CLI configuration (written by helyos and helyosd; comments and unknown keys are not kept)\n"

/** The file's text: header, current-context, then one `[context.NAME]` per context (known keys only). */
export const renderConfig = (config: CliConfig): string => {
  const context: Record<string, Record<string, string | boolean>> = {}
  for (const [name, c] of config.contexts) {
    context[name] = {
      server: c.server,
      ...(c.token !== undefined ? { token: Redacted.value(c.token) } : {}),
      ...(c.tokenName !== undefined ? { "token-name": c.tokenName } : {}),
      ...(c.project !== undefined ? { project: c.project } : {}),
      ...(c.insecure !== undefined ? { insecure: c.insecure } : {}),
      ...(c.ca !== undefined ? { ca: c.ca } : {}),
      ...(c.caSha256 !== undefined ? { "ca-sha256": c.caSha256 } : {})
    }
  }
  const doc = {
    ...(Option.isSome(config.currentContext) ? { "current-context": config.currentContext.value } : {}),
    context
  }
  return `${HEADER}${TOML.stringify(doc)}\n`
}

/**
 * Save: copy the previous file to `<file>.bak`, write a temp file beside it with mode 0600, then
 * rename it over the original (a reader sees the old file or the new one, never half of one).
 * Throws on I/O errors.
 */
export const writeConfig = (file: string, config: CliConfig): void => {
  const dir = path.dirname(file)
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  if (fs.existsSync(file)) {
    const backup = `${file}.bak`
    fs.copyFileSync(file, backup)
    fs.chmodSync(backup, 0o600) // it holds tokens too
  }
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`)
  try {
    const fd = fs.openSync(temp, "w", 0o600)
    try {
      fs.fchmodSync(fd, 0o600) // a stale temp file keeps its old mode otherwise
      fs.writeFileSync(fd, renderConfig(config))
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    fs.renameSync(temp, file)
  } catch (error) {
    fs.rmSync(temp, { force: true })
    throw error
  }
}

/**
 * What helyosd calls when it knows its API token: add or update the context "local" (server and
 * token) and make it current. Other contexts are kept. Throws (and leaves the file alone) when the
 * existing file cannot be read or is not TOML, rather than replacing what a user wrote.
 */
export const seedLocalContext = (options: {
  readonly path: string
  readonly server: string
  readonly token: string
}): void => {
  let existing = emptyConfig
  if (fs.existsSync(options.path)) {
    existing = Either.getOrThrowWith(
      parseConfig(fs.readFileSync(options.path, "utf8")),
      (problem) => new Error(`${options.path} is not valid TOML (${problem}); not overwriting it`)
    ).config
  }
  const previous = existing.contexts.get(LOCAL_CONTEXT)
  const contexts = new Map(existing.contexts)
  contexts.set(LOCAL_CONTEXT, {
    ...previous,
    server: options.server,
    token: Redacted.make(options.token)
  })
  writeConfig(options.path, { currentContext: Option.some(LOCAL_CONTEXT), contexts })
}

// ---------------------------------------------------------------------------------------------
// Resolution

/** What the command line said (each may be absent). */
export interface ConnectionFlags {
  readonly server?: string | undefined
  readonly token?: Redacted.Redacted<string> | undefined
  readonly context?: string | undefined
}

export interface ResolvedConnection {
  readonly server: string
  /** no token: requests go out unauthenticated (the daemon answers 401 where one is needed) */
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** the active context, if any */
  readonly context: Option.Option<string>
  /** the active context's default project */
  readonly project: Option.Option<string>
}

const nonEmpty = (s: string | undefined): Option.Option<string> =>
  s !== undefined && s.trim() !== "" ? Option.some(s.trim()) : Option.none()

/**
 * The active context: --context NAME (unknown ⇒ Left), else `current-context` when it exists, else
 * the only context when there is exactly one, else none.
 */
export const activeContext = (
  config: CliConfig,
  explicit: string | undefined
): Either.Either<Option.Option<readonly [string, CliContext]>, string> => {
  const pick = (name: string) => Option.map(Option.fromNullable(config.contexts.get(name)), (c) => [name, c] as const)
  if (explicit !== undefined) {
    return Option.match(pick(explicit), {
      onNone: () => Either.left(`no context named '${explicit}'`),
      onSome: (found) => Either.right(Option.some(found))
    })
  }
  const current = Option.flatMap(config.currentContext, pick)
  if (Option.isSome(current)) return Either.right(current)
  if (config.contexts.size === 1) return Either.right(pick([...config.contexts.keys()][0]!))
  return Either.right(Option.none())
}

/**
 * Server and token, each resolved on its own: flag > environment (HELYOS_SERVER / HELYOS_API_TOKEN)
 * > active context > default (server only: http://127.0.0.1:6443).
 */
export const resolveConnection = (
  config: CliConfig,
  flags: ConnectionFlags,
  env: NodeJS.ProcessEnv
): Either.Either<ResolvedConnection, string> =>
  Either.map(activeContext(config, flags.context), (active) => {
    const context = Option.map(active, ([, c]) => c)
    const server = nonEmpty(flags.server).pipe(
      Option.orElse(() => nonEmpty(env.HELYOS_SERVER)),
      Option.orElse(() => Option.flatMap(context, (c) => nonEmpty(c.server))),
      Option.getOrElse(() => DEFAULT_SERVER)
    )
    const token = Option.fromNullable(flags.token).pipe(
      Option.filter((t) => Redacted.value(t) !== ""),
      Option.orElse(() => Option.map(nonEmpty(env.HELYOS_API_TOKEN), Redacted.make)),
      Option.orElse(() => Option.flatMap(context, (c) => Option.fromNullable(c.token)))
    )
    return {
      server: server.replace(/\/+$/, ""),
      token,
      context: Option.map(active, ([name]) => name),
      project: Option.flatMap(context, (c) => Option.fromNullable(c.project))
    }
  })

/**
 * The CLI's reader: load the config file (HELYOS_CONFIG or ~/.helyos/config.toml) and resolve the
 * connection for one command. Left: an unknown --context. Warnings are for stderr.
 */
export const resolveContext = (options: {
  readonly flags: ConnectionFlags
  readonly env?: NodeJS.ProcessEnv
  readonly path?: string
}): { readonly connection: Either.Either<ResolvedConnection, string>; readonly warnings: ReadonlyArray<string> } => {
  const env = options.env ?? process.env
  const { config, warnings } = readConfig(options.path ?? configPath(env))
  return { connection: resolveConnection(config, options.flags, env), warnings }
}
