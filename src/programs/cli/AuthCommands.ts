// `helyos auth token create|ls|revoke` (named API tokens) and `helyos whoami` (the token in use).
import { Args, Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Console, Duration, Effect, Either, Option } from "effect"
import type { ApiTokenView, CreatedApiToken, WhoAmI } from "../../domain/ApiToken.js"
import { MAX_TTL_SECS } from "../../domain/ApiToken.js"
import { parseDuration } from "../../domain/Duration.js"
import { connect, connectionOptions } from "./Connection.js"
import { jsonOption } from "./Flags.js"
import { printJson, renderTable } from "./Render.js"

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

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("the token's name (lowercase letters, digits, '-')"))

const ttl = Options.text("ttl").pipe(
  Options.withDescription("lifetime: seconds (3600) or 90m, 12h, 30d; default: never expires"),
  Options.mapEffect((text) =>
    Either.match(parseTtlSecs(text), {
      onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(problem))),
      onRight: Effect.succeed
    })
  ),
  Options.optional
)

const scope = Options.choice("scope", ["admin", "read"]).pipe(
  Options.withDescription("admin (everything, the default) or read (GET requests only)"),
  Options.withDefault("admin" as const)
)

const create = Command.make(
  "create",
  { name, ttl, scope, json: jsonOption, ...connectionOptions },
  ({ json, name, scope, ttl, ...flags }) =>
    Effect.gen(function*() {
      const { request, server } = yield* connect(flags)
      const created = yield* request((api) =>
        api.tokens.create({
          payload: Option.match(ttl, { onNone: () => ({ name, scope }), onSome: (ttl_secs) => ({ name, scope, ttl_secs }) })
        })
      )
      if (json) return yield* printJson(created)
      yield* Console.log(createdBlock(created, server))
    })
).pipe(Command.withDescription("Mint a named API token (the secret is shown once)"))

const listCommand = (commandName: string) =>
  Command.make(commandName, { json: jsonOption, ...connectionOptions }, ({ json, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      const tokens = yield* request((api) => api.tokens.list())
      if (json) return yield* printJson(tokens)
      yield* Console.log(tokensTable(tokens))
    })).pipe(Command.withDescription("List API tokens (never their secrets)"))

const revoke = Command.make("revoke", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    yield* request((api) => api.tokens.revoke({ path: { name } }))
    yield* Console.log(`API token '${name}' revoked`)
  })).pipe(Command.withDescription("Revoke an API token: it is refused from now on (the name can be reused)"))

const token = Command.make("token").pipe(
  Command.withDescription("Named API tokens: create, ls (list), revoke"),
  Command.withSubcommands([create, listCommand("ls"), listCommand("list"), revoke])
)

export const auth = Command.make("auth").pipe(
  Command.withDescription("API tokens for the REST API"),
  Command.withSubcommands([token])
)

export const whoami = Command.make("whoami", { json: jsonOption, ...connectionOptions }, ({ json, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    const me = yield* request((api) => api.tokens.whoami())
    if (json) return yield* printJson(me)
    yield* Console.log(whoamiLines(me))
  })).pipe(Command.withDescription("Show the API token in use: name, scope, expiry, last use"))
