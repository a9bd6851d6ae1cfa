// How a `helyos` command reaches helyosd: the global flags, server/token resolution, the typed
// client derived from HelyosApi, and turning every failure into the one line a user reads.
import { Command, Options } from "@effect/cli"
import { HttpApiClient, HttpClient, HttpClientError, HttpClientRequest } from "@effect/platform"
import { Console, Data, Duration, Effect, Either, Option, ParseResult, Redacted } from "effect"
import { resolveContext } from "../../layers/CliConfigFile.js"
import { ApiError } from "../../services/api/HttpErrors.js"
import { HelyosApi } from "../../services/HelyosApi.js"

/** A failure the user reads: printed as `error: <message>`, exit code 1. */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

/** How long one request may take before the CLI gives up. */
const REQUEST_TIMEOUT = Duration.seconds(30)

/**
 * The connection flags. They belong to the root command (`helyos --server URL nodes`) and are
 * repeated on every command that talks to the daemon, so `helyos nodes --server URL` works too;
 * the command's own value wins over the root's.
 */
export const connectionOptions = {
  server: Options.text("server").pipe(
    Options.withDescription("helyosd URL (env HELYOS_SERVER; else the active context; else http://127.0.0.1:6443)"),
    Options.optional
  ),
  token: Options.redacted("token").pipe(
    Options.withDescription("API bearer token nxa-api_… (env HELYOS_API_TOKEN; else the active context)"),
    Options.optional
  ),
  context: Options.text("context").pipe(
    Options.withDescription("use this context of ~/.helyos/config.toml for one command"),
    Options.optional
  )
} as const

export type ConnectionFlags = {
  readonly server: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly context: Option.Option<string>
}

/** The root command without its subcommands: its parsed flags are a service its commands read. */
export const helyosRoot = Command.make("helyos", connectionOptions)

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/

/** `http(s)://host:port`, or the message saying what is wrong with it. */
const checkServer = (server: string): Either.Either<URL, string> => {
  try {
    const url = new URL(server)
    if (url.protocol === "http:" || url.protocol === "https:") return Either.right(url)
  } catch {
    // reported below
  }
  return Either.left(`invalid server URL '${server}': expected http(s)://host:port`)
}

const unreachable = (server: string) => `cannot reach helyosd at ${server} — is it running? Start it with: helyosd`

/** Turn any failure of a request into the line a user reads. */
const explain = (server: string, hasToken: boolean) => (error: unknown): Effect.Effect<never, CliError> => {
  if (error instanceof ApiError) {
    const hint = error.status === 401 && !hasToken ? " (no token: pass --token or set HELYOS_API_TOKEN)" : ""
    return Effect.fail(new CliError({ message: error.message + hint }))
  }
  if (HttpClientError.isHttpClientError(error)) {
    if (error._tag === "RequestError") {
      return Effect.fail(new CliError({
        message: error.reason === "Transport" ? unreachable(server) : `invalid request to ${server}: ${error.message}`
      }))
    }
    // a status the API does not declare: show its {"error"} if it has one
    const status = error.response.status
    return error.response.json.pipe(
      Effect.map((body) =>
        typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
          ? (body as { error: string }).error
          : `unexpected answer from helyosd at ${server} (HTTP ${status})`
      ),
      Effect.orElseSucceed(() => `unexpected answer from helyosd at ${server} (HTTP ${status})`),
      Effect.flatMap((message) => Effect.fail(new CliError({ message })))
    )
  }
  if (ParseResult.isParseError(error)) {
    return Effect.fail(new CliError({ message: `unexpected answer from helyosd at ${server} (is it a helyosd of this version?)` }))
  }
  const message = error instanceof Error || (typeof error === "object" && error !== null && "message" in error)
    ? String((error as { message: unknown }).message)
    : String(error)
  return Effect.fail(new CliError({ message }))
}

/**
 * Resolve server and token (flag > env > context > default), check the URL, and build the client.
 * `request(f)` runs one call with a timeout and readable errors.
 */
export const connect = (own: ConnectionFlags) =>
  Effect.gen(function*() {
    const root = yield* helyosRoot
    const flags = {
      server: Option.getOrUndefined(Option.orElse(own.server, () => root.server)),
      token: Option.getOrUndefined(Option.orElse(own.token, () => root.token)),
      context: Option.getOrUndefined(Option.orElse(own.context, () => root.context))
    }
    const { connection, warnings } = yield* Effect.sync(() => resolveContext({ flags }))
    for (const warning of warnings) yield* Console.error(`warning: ${warning}`)
    const resolved = yield* Either.mapLeft(connection, (message) => new CliError({ message }))
    const url = yield* Either.mapLeft(checkServer(resolved.server), (message) => new CliError({ message }))
    if (url.protocol === "http:" && !LOOPBACK.test(url.hostname) && Option.isSome(resolved.token)) {
      yield* Console.error(`warning: ${resolved.server} is plain HTTP: the token travels unencrypted`)
    }
    const client = yield* HttpApiClient.make(HelyosApi, {
      baseUrl: resolved.server,
      transformClient: Option.match(resolved.token, {
        onNone: () => (c: HttpClient.HttpClient) => c,
        onSome: (token) => HttpClient.mapRequest(HttpClientRequest.bearerToken(token))
      })
    })
    const hasToken = Option.isSome(resolved.token)
    const request = <A, E, R>(call: (api: typeof client) => Effect.Effect<A, E, R>) =>
      call(client).pipe(
        Effect.timeoutFail({
          duration: REQUEST_TIMEOUT,
          onTimeout: () => new CliError({ message: `helyosd at ${resolved.server} did not answer within ${Duration.format(REQUEST_TIMEOUT)}` })
        }),
        Effect.catchAll((error) => error instanceof CliError ? Effect.fail(error) : explain(resolved.server, hasToken)(error))
      )
    /** The raw client (base URL and token applied, no timeout): for streamed answers like logs. */
    const http = (yield* HttpClient.HttpClient).pipe(
      HttpClient.mapRequest(HttpClientRequest.prependUrl(resolved.server.replace(/\/+$/, ""))),
      HttpClient.mapRequest((req) =>
        Option.match(resolved.token, { onNone: () => req, onSome: (token) => HttpClientRequest.bearerToken(req, token) }))
    )
    /** Turn a raw call's failure into the line a user reads (as `request` does). */
    const explainError = (error: unknown) => explain(resolved.server, hasToken)(error)
    return { server: resolved.server, request, http, explainError }
  })
