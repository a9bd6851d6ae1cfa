// The CLI's contexts as data: the config file's TOML shape (parse and render, keeping what the CLI does
// not know), naming contexts and servers, and picking a command's server, token and TLS trust. No I/O:
// programs/cli/ConfigFile reads and writes the file.
import { Either, Option, Redacted, Schema } from "effect"
import * as TOML from "smol-toml"

/** Where the CLI talks to when nothing else says: a daemon on this machine. */
export const DEFAULT_SERVER = "http://127.0.0.1:6443"

/** The port a server URL gets when it names none (the REST API's port). */
export const DEFAULT_API_PORT = 6443

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
  /** keys of this section the CLI does not know, written back unchanged */
  readonly extra?: Readonly<Record<string, unknown>>
}

export interface CliConfig {
  readonly currentContext: Option.Option<string>
  /** in file order */
  readonly contexts: ReadonlyMap<string, CliContext>
  /** top-level keys and sections the CLI does not know, written back unchanged */
  readonly extra?: Readonly<Record<string, unknown>>
  /** `[context.NAME]` sections that are not valid contexts: skipped, but kept so a typo loses nothing */
  readonly invalidContexts?: Readonly<Record<string, unknown>>
}

export const emptyConfig: CliConfig = { currentContext: Option.none(), contexts: new Map() }

// ---------------------------------------------------------------------------------------------
// The file's text

/** The keys of a `[context.NAME]` section the CLI understands. */
const ContextSection = Schema.Struct({
  server: Schema.String,
  token: Schema.optional(Schema.String),
  "token-name": Schema.optional(Schema.String),
  project: Schema.optional(Schema.String),
  insecure: Schema.optional(Schema.Boolean),
  ca: Schema.optional(Schema.String),
  "ca-sha256": Schema.optional(Schema.String)
})

const KNOWN_CONTEXT_KEYS: ReadonlySet<string> = new Set(Object.keys(ContextSection.fields))
const KNOWN_TOP_KEYS: ReadonlySet<string> = new Set(["current-context", "context"])

const decodeSection = Schema.decodeUnknownEither(ContextSection)

const unknownKeys = (table: Record<string, unknown>, known: ReadonlySet<string>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(table).filter(([key]) => !known.has(key)))

const toContext = (section: typeof ContextSection.Type, extra: Record<string, unknown>): CliContext => ({
  server: section.server,
  ...(section.token !== undefined && section.token !== "" ? { token: Redacted.make(section.token) } : {}),
  ...(section["token-name"] !== undefined ? { tokenName: section["token-name"] } : {}),
  ...(section.project !== undefined ? { project: section.project } : {}),
  ...(section.insecure !== undefined ? { insecure: section.insecure } : {}),
  ...(section.ca !== undefined ? { ca: section.ca } : {}),
  ...(section["ca-sha256"] !== undefined ? { caSha256: section["ca-sha256"] } : {}),
  ...(Object.keys(extra).length > 0 ? { extra } : {})
})

const isTable = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/**
 * Parse the file's text. Left: the file is not TOML at all. Sections that are not valid contexts are
 * skipped and reported in `warnings` (and kept for the next save). A legacy flat file (top-level
 * server/token, no sections) is read as one context named `default`.
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
  const invalidContexts: Record<string, unknown> = {}
  const sections = isTable(doc.context) ? doc.context : {}
  for (const [name, section] of Object.entries(sections)) {
    Either.match(decodeSection(section), {
      onLeft: () => {
        warnings.push(`context '${name}' is ignored: it needs a string 'server' (and known keys of the right type)`)
        invalidContexts[name] = section
      },
      onRight: (ok) => contexts.set(name, toContext(ok, unknownKeys(section as Record<string, unknown>, KNOWN_CONTEXT_KEYS)))
    })
  }
  let extra = unknownKeys(doc, KNOWN_TOP_KEYS)
  if (contexts.size === 0 && !isTable(doc.context) && typeof doc.server === "string") {
    Either.map(decodeSection(doc), (legacy) => {
      contexts.set("default", toContext(legacy, {}))
      // the flat keys become the context's: the next save writes them in the new format
      extra = unknownKeys(extra, KNOWN_CONTEXT_KEYS)
    })
  }
  if (doc.context !== undefined && !isTable(doc.context)) extra.context = doc.context
  const current = typeof doc["current-context"] === "string" && doc["current-context"] !== ""
    ? Option.some(doc["current-context"])
    : Option.none()
  return Either.right({
    config: {
      currentContext: current,
      contexts,
      ...(Object.keys(extra).length > 0 ? { extra } : {}),
      ...(Object.keys(invalidContexts).length > 0 ? { invalidContexts } : {})
    },
    warnings
  })
}

const HEADER = "# Helyos CLI configuration, written by helyos and helyosd (comments are not kept; other keys are)\n"

const renderContext = (c: CliContext): Record<string, unknown> => ({
  server: c.server,
  ...(c.token !== undefined ? { token: Redacted.value(c.token) } : {}),
  ...(c.tokenName !== undefined ? { "token-name": c.tokenName } : {}),
  ...(c.project !== undefined ? { project: c.project } : {}),
  ...(c.insecure !== undefined ? { insecure: c.insecure } : {}),
  ...(c.ca !== undefined ? { ca: c.ca } : {}),
  ...(c.caSha256 !== undefined ? { "ca-sha256": c.caSha256 } : {}),
  ...unknownKeys(c.extra ?? {}, KNOWN_CONTEXT_KEYS)
})

/** The file's text: header, current-context, unknown top-level keys, then `[context.NAME]` sections. */
export const renderConfig = (config: CliConfig): string => {
  const context: Record<string, unknown> = { ...config.invalidContexts }
  for (const [name, c] of config.contexts) context[name] = renderContext(c)
  const doc = {
    ...(Option.isSome(config.currentContext) ? { "current-context": config.currentContext.value } : {}),
    ...unknownKeys(config.extra ?? {}, KNOWN_TOP_KEYS),
    context
  }
  return `${HEADER}${TOML.stringify(doc)}\n`
}

/** base64 of a PEM, as the `ca` key holds it. */
export const encodeCa = (pem: string): string => Buffer.from(pem, "utf8").toString("base64")

/** The PEM a `ca` key holds. */
export const decodeCa = (base64: string): string => Buffer.from(base64, "base64").toString("utf8")

// ---------------------------------------------------------------------------------------------
// The context helyosd seeds

/**
 * The config after helyosd learnt its API token: the context "local" added or updated (server, token
 * and, for an HTTPS daemon with its own CA, that CA pinned) and made current. Other contexts and
 * unknown keys are kept.
 */
export const withLocalContext = (
  existing: CliConfig,
  local: {
    readonly server: string
    readonly token: string
    readonly ca?: { readonly pem: string; readonly sha256: string } | undefined
  }
): CliConfig => {
  const { ca: _ca, caSha256: _sha, insecure: _insecure, ...previous } = existing.contexts.get(LOCAL_CONTEXT) ?? { server: "" }
  const contexts = new Map(existing.contexts)
  contexts.set(LOCAL_CONTEXT, {
    ...previous,
    server: local.server,
    token: Redacted.make(local.token),
    // the daemon knows its own CA: pin it, and drop a pin from an earlier start without one
    ...(local.ca !== undefined ? { ca: encodeCa(local.ca.pem), caSha256: local.ca.sha256 } : {})
  })
  return { ...existing, currentContext: Option.some(LOCAL_CONTEXT), contexts }
}

// ---------------------------------------------------------------------------------------------
// Names and server URLs

/** What a context may be called (it is a TOML key and a CLI argument). */
export const contextNameProblem = (name: string): string | undefined =>
  /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)
    ? undefined
    : `invalid context name '${name}': use letters, digits, '.', '_' and '-' (max 63, starting with a letter or digit)`

/**
 * `https://host:port` from what a user typed: a bare host gets https:// and :6443, a URL without a
 * port gets :6443. Left: not an http(s) URL of a server (a path, query or credentials are refused).
 */
export const normalizeServer = (input: string): Either.Either<string, string> => {
  const text = input.trim()
  const invalid = Either.left(`invalid server '${input}': expected HOST, HOST:PORT or http(s)://HOST[:PORT]`)
  const withScheme = (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) ? text : `https://${text}`).replace(/\/+$/, "")
  let url: URL
  try {
    url = new URL(withScheme)
  } catch {
    return invalid
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return invalid
  if (url.hostname === "" || url.username !== "" || url.password !== "") return invalid
  if (url.pathname !== "/" || url.search !== "" || url.hash !== "") return invalid
  // URL drops a port equal to the scheme's default, so look at what was typed
  const typedPort = /^[A-Za-z]+:\/\/(\[[^\]]*\]|[^/:?#]*):\d+$/.test(withScheme)
  return Either.right(typedPort ? `${url.protocol}//${url.host}` : `${url.protocol}//${url.hostname}:${DEFAULT_API_PORT}`)
}

/** `https://helyos.acme.internal:6443` → `helyos-acme-internal` (empty → `default`). */
export const baseContextName = (server: string): string => {
  let host = server
  try {
    host = new URL(server).hostname
  } catch {
    // not a URL: sanitise the text itself
  }
  const name = host.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63).replace(/-+$/, "")
  return name === "" ? "default" : name
}

/**
 * The context `helyos login SERVER` writes when no --name is given: the host's name, or the first of
 * NAME-2, NAME-3, … that is free. A context of that family already pointing at the same server is
 * reused, so logging in again refreshes it instead of piling up copies.
 */
export const contextNameFor = (server: string, contexts: ReadonlyMap<string, CliContext>): string => {
  const base = baseContextName(server)
  const candidate = (n: number) => n === 1 ? base : `${base}-${n}`
  for (let n = 1;; n++) {
    const existing = contexts.get(candidate(n))
    if (existing === undefined || existing.server === server) return candidate(n)
  }
}

/** How a context's connection is secured, as `helyos context ls` shows it. */
export type TlsMode = "pinned" | "system" | "insecure" | "http"

export const tlsMode = (context: Pick<CliContext, "server" | "insecure" | "ca">): TlsMode =>
  context.server.startsWith("http://")
    ? "http"
    : context.insecure === true
    ? "insecure"
    : context.ca !== undefined && context.ca !== ""
    ? "pinned"
    : "system"

// ---------------------------------------------------------------------------------------------
// Resolution

/** What the command line said (each may be absent). */
export interface ConnectionFlags {
  readonly server?: string | undefined
  readonly token?: Redacted.Redacted<string> | undefined
  readonly context?: string | undefined
}

/** Which certificates an HTTPS server must chain to. */
export type ServerTrust =
  | { readonly _tag: "System" }
  | { readonly _tag: "Insecure" }
  | { readonly _tag: "Pinned"; readonly pem: string; readonly sha256: Option.Option<string> }

export interface ResolvedConnection {
  readonly server: string
  /** no token: requests go out unauthenticated (the daemon answers 401 where one is needed) */
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** the active context, if any */
  readonly context: Option.Option<string>
  /** the active context's default project */
  readonly project: Option.Option<string>
  /** from the active context only (no flag or variable overrides it): pinned CA, insecure, or system roots */
  readonly trust: ServerTrust
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

const trustOf = (context: Option.Option<CliContext>): ServerTrust =>
  Option.match(context, {
    onNone: () => ({ _tag: "System" }),
    onSome: (c): ServerTrust =>
      c.insecure === true
        ? { _tag: "Insecure" }
        : c.ca !== undefined && c.ca !== ""
        ? { _tag: "Pinned", pem: decodeCa(c.ca), sha256: Option.fromNullable(c.caSha256) }
        : { _tag: "System" }
  })

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
      project: Option.flatMap(context, (c) => Option.fromNullable(c.project)),
      trust: trustOf(context)
    }
  })
