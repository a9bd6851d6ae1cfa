// `helyos auth token create|ls|revoke` (named API tokens) and `helyos whoami` (the token in use).
import { Console, Duration, Effect, Either } from "effect"
import type { ApiTokenView, CreatedApiToken, WhoAmI } from "../../domain/ApiToken.js"
import { MAX_TTL_SECS } from "../../domain/ApiToken.js"
import { parseDuration } from "../../domain/Duration.js"
import { TokensApi } from "../../services/api/TokensApi.js"
import type { Globals } from "./CommandLine.js"
import { CliError, clientApi, connect } from "./Connection.js"
import { printJson, renderTable } from "./Render.js"

const Api = clientApi(TokensApi)

/** "3600" (seconds), "90m", "12h", "30d": a token lifetime in whole seconds, at least 1 s. */
export const parseTtlSecs = (text: string): Either.Either<number, string> =>
  Either.flatMap(parseDuration(text), (duration) => {
    const secs = Math.floor(Duration.toSeconds(duration))
    if (secs < 1) return Either.left(`--ttl must be at least 1s, got '${text}'`)
    if (secs > MAX_TTL_SECS) return Either.left(`--ttl must be at most 100 years, got '${text}'`)
    return Either.right(secs)
  })

/** `2026-07-01T12:00:00Z`: RFC 3339 to the second, as the docs print times. */
export const shortTime = (rfc3339: string): string => rfc3339.replace(/\.\d+Z$/, "Z")

/** The block printed once after `auth token create`: the secret and how to use it elsewhere. */
export const createdBlock = (created: CreatedApiToken, server: string): string =>
  [
    `✓ Created API token '${created.name}'`,
    "",
    "Token (shown once — save it now):",
    `  ${created.token}`,
    "",
    "Use it from another machine with:",
    `  helyos login ${server} --token ${created.token}`
  ].join("\n")

/** `auth token ls`: name, scope, expires, last used, revoked. */
export const tokensTable = (tokens: ReadonlyArray<ApiTokenView>): string =>
  tokens.length === 0
    ? "No API tokens."
    : renderTable(
      ["NAME", "SCOPE", "EXPIRES", "LAST USED", "REVOKED"],
      tokens.map((t) => [
        t.name,
        t.scope,
        t.expires_at === null ? "never" : shortTime(t.expires_at) + (t.expired ? " (expired)" : ""),
        t.last_used_at === null ? "never" : shortTime(t.last_used_at),
        t.revoked ? "yes" : "no"
      ])
    )

/** `whoami`: name and scope, then expiry and last use when set. */
export const whoamiLines = (me: WhoAmI): string =>
  [
    `name:  ${me.name}`,
    `scope: ${me.scope}`,
    ...(me.expires_at === null ? [] : [`expires: ${shortTime(me.expires_at)}`]),
    ...(me.last_used_at === null ? [] : [`last used: ${shortTime(me.last_used_at)}`])
  ].join("\n")

export const createToken = (
  { json, name, scope, ttl }: {
    readonly name: string
    readonly ttl: string | undefined
    readonly scope: "admin" | "read"
    readonly json: boolean
  },
  globals: Globals
) =>
  Effect.gen(function*() {
    const ttlSecs = ttl === undefined
      ? undefined
      : yield* Either.mapLeft(parseTtlSecs(ttl), (message) => new CliError({ message }))
    const { request, server } = yield* connect(globals, Api)
    const created = yield* request((api) =>
      api.tokens.create({ payload: ttlSecs === undefined ? { name, scope } : { name, scope, ttl_secs: ttlSecs } })
    )
    if (json) return yield* printJson(created)
    yield* Console.log(createdBlock(created, server))
  })

export const listTokens = ({ json }: { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const tokens = yield* request((api) => api.tokens.list())
    if (json) return yield* printJson(tokens)
    yield* Console.log(tokensTable(tokens))
  })

export const revokeToken = ({ name }: { readonly name: string }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.tokens.revoke({ path: { name } }))
    yield* Console.log(`API token '${name}' revoked`)
  })

export const whoami = ({ json }: { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const me = yield* request((api) => api.tokens.whoami())
    if (json) return yield* printJson(me)
    yield* Console.log(whoamiLines(me))
  })
