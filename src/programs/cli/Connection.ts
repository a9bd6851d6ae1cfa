// How a `helyos` command reaches helyosd: server/token resolution (flag > env > context > default),
// the HTTPS client that trusts only what the context says (its pinned CA, the system roots, or — when
// told — nothing), the typed client derived from the API groups a command uses, and turning every
// failure into one line.
import {
  HttpApi,
  type HttpApiGroup,
  HttpClient,
  HttpClientError,
  HttpClientRequest,
  type HttpClientResponse
} from "@effect/platform"
import * as HttpApiClient from "@effect/platform/HttpApiClient"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Console, Data, Duration, Effect, Either, Option, ParseResult, Redacted } from "effect"
import { X509Certificate } from "node:crypto"
import * as Http from "node:http"
import * as Https from "node:https"
import type { ServerTrust } from "../../domain/CliContext.js"
import { pinMatch } from "../../domain/Fingerprint.js"
import { ApiError, InternalError, InvalidRequest, RouteNotFound } from "../../services/api/HttpErrors.js"
import type { Globals } from "./CommandLine.js"
import { resolveContext } from "./ConfigFile.js"

/** A failure the user reads: printed as `error: <message>`, exit code 1. */
export class CliError extends Data.TaggedError("CliError")<{ readonly message: string }> {}

/** How long one request may take before the CLI gives up. */
const REQUEST_TIMEOUT = Duration.seconds(30)

/**
 * An API of just `group`, with the errors HelyosApi declares outside its groups (services/api/HelyosApi:
 * undecodable requests, unknown routes, internal errors), so a command's client decodes every answer
 * the daemon can give it while loading only the schemas it uses (`.add` more groups if it needs them).
 */
export const clientApi = <G extends HttpApiGroup.HttpApiGroup.Any>(group: G) =>
  HttpApi.make("helyos").add(group).addError(InvalidRequest).addError(RouteNotFound).addError(InternalError)

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/

/** Is this http(s) URL's host the machine itself? */
export const isLoopback = (url: URL): boolean => LOOPBACK.test(url.hostname)

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

// ---------------------------------------------------------------------------------------------
// The HTTP(S) client

/**
 * An HTTP client whose HTTPS connections trust exactly `trust`: a pinned CA replaces the system
 * roots (Node's `ca` option), Insecure checks nothing. Agents without keep-alive, so no socket
 * outlives its request and the process exits when the command is done.
 */
export const httpClientFor = (trust: ServerTrust): Effect.Effect<HttpClient.HttpClient> => {
  const tls: Https.AgentOptions = trust._tag === "Pinned"
    ? { ca: trust.pem }
    : trust._tag === "Insecure"
    ? { rejectUnauthorized: false }
    : {}
  return Effect.provideService(NodeHttpClient.make, NodeHttpClient.HttpAgent, {
    [NodeHttpClient.HttpAgentTypeId]: NodeHttpClient.HttpAgentTypeId,
    http: new Http.Agent({ keepAlive: false }),
    https: new Https.Agent({ ...tls, keepAlive: false })
  })
}

/** Node's error codes for a certificate the client does not accept. */
const CERTIFICATE_ERROR = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/

/** Node's error codes for a peer that does not speak TLS at all. */
const NOT_TLS = /ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|EPROTO/

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
    ? (cause as { code: string }).code
    : ""

const causeMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message.split("\n")[0]! : String(cause)

/** What to do about a certificate the client rejected, given what it was told to trust. */
const tlsHint = (server: string, trust: ServerTrust, context: Option.Option<string>): string => {
  if (trust._tag !== "Pinned") return `pin its CA with: helyos login ${server} --ca-fingerprint <sha256> (or --ca-file <pem>)`
  const where = Option.match(context, { onNone: () => "the pinned CA", onSome: (name) => `the CA pinned in context '${name}'` })
  return `its certificate does not chain to ${where}; if the daemon's CA changed, log in again: helyos login ${server} --ca-fingerprint <sha256>`
}

/** The one line for a connection that failed: a rejected certificate, a protocol mix-up, or no daemon. */
export const transportProblem = (
  server: string,
  trust: ServerTrust,
  context: Option.Option<string>,
  cause: unknown
): string => {
  const code = errorCode(cause)
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    // the chain may be fine: the certificate just does not name the address that was dialled
    const host = new URL(server).hostname.replace(/^\[(.*)\]$/, "$1")
    return `TLS verification of ${server} failed: its certificate does not name ${host} — dial a name it has, or restart helyosd with --tls-san ${host}`
  }
  if (CERTIFICATE_ERROR.test(code)) {
    return `TLS verification of ${server} failed: ${causeMessage(cause)} — ${tlsHint(server, trust, context)}`
  }
  if (server.startsWith("https:") && NOT_TLS.test(code)) {
    return `TLS handshake with ${server} failed: it does not speak HTTPS (for a plain-HTTP daemon use http://)`
  }
  if (server.startsWith("http:") && (code === "ECONNRESET" || code === "HPE_INVALID_CONSTANT")) {
    return `${server} closed the connection: if the daemon serves HTTPS, use https:// (helyos login ${server.replace(/^http:/, "https:")})`
  }
  return `cannot reach helyosd at ${server} — is it running? Start it with: helyosd`
}

/** The message of an `{"error": "..."}` body, if the body is one. */
const errorField = (body: unknown): string | undefined =>
  typeof body === "object" && body !== null && typeof (body as { error?: unknown }).error === "string"
    ? (body as { error: string }).error
    : undefined

/** What to tell the user of a streamed request answered with another status than 200: its `{"error"}`, if any. */
export const unexpectedAnswer = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(
    Effect.orElseSucceed(response.json, () => undefined),
    (body) => errorField(body) ?? `unexpected answer from helyosd (HTTP ${response.status})`
  )

/** Turn any failure of a request into the line a user reads. */
export const explainFailure = (
  server: string,
  options: { readonly hasToken: boolean; readonly trust: ServerTrust; readonly context: Option.Option<string> }
) =>
(error: unknown): Effect.Effect<never, CliError> => {
  if (error instanceof CliError) return Effect.fail(error)
  if (error instanceof ApiError) {
    const hint = error.status === 401 && !options.hasToken ? " (no token: pass --token or set HELYOS_API_TOKEN)" : ""
    return Effect.fail(new CliError({ message: error.message + hint }))
  }
  if (HttpClientError.isHttpClientError(error)) {
    if (error._tag === "RequestError") {
      return Effect.fail(new CliError({
        message: error.reason === "Transport"
          ? transportProblem(server, options.trust, options.context, error.cause)
          : `invalid request to ${server}: ${error.message}`
      }))
    }
    // a status the API does not declare: show its {"error"} if it has one
    const status = error.response.status
    return error.response.json.pipe(
      Effect.map((body) => errorField(body) ?? `unexpected answer from helyosd at ${server} (HTTP ${status})`),
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
 * A pinned CA must be a certificate, and the one its fingerprint names (a hand-edited file could
 * have changed either).
 */
const checkPin = (trust: ServerTrust, context: Option.Option<string>): Either.Either<void, string> => {
  if (trust._tag !== "Pinned") return Either.void
  const name = Option.getOrElse(context, () => "?")
  try {
    new X509Certificate(trust.pem)
  } catch {
    return Either.left(`context '${name}' holds an invalid pinned CA ('ca' is not a base64 PEM certificate): log in again`)
  }
  // a context saved by Helyos 0.1 holds the old rule's fingerprint: still the same CA
  if (Option.isSome(trust.sha256) && pinMatch(trust.sha256.value, trust.pem) === undefined) {
    return Either.left(`context '${name}': the pinned CA does not match its ca-sha256: log in again`)
  }
  return Either.void
}

// ---------------------------------------------------------------------------------------------
// connect

/**
 * Resolve server and token (flag > env > context > default) and TLS trust (the active context),
 * check the URL, and build the clients. `request(f)` runs one typed call with a timeout and
 * readable errors; `http` is the raw client for streams.
 */
export const connect = <Id extends string, Groups extends HttpApiGroup.HttpApiGroup.Any, ApiE, ApiR>(
  globals: Globals,
  api: HttpApi.HttpApi<Id, Groups, ApiE, ApiR>
) =>
  Effect.gen(function*() {
    const flags = {
      server: globals.server,
      token: globals.token === undefined ? undefined : Redacted.make(globals.token),
      context: globals.context
    }
    const { connection, warnings } = yield* Effect.sync(() => resolveContext({ flags }))
    for (const warning of warnings) yield* Console.error(`warning: ${warning}`)
    const resolved = yield* Either.mapLeft(connection, (message) => new CliError({ message }))
    const url = yield* Either.mapLeft(checkServer(resolved.server), (message) => new CliError({ message }))
    if (url.protocol === "http:" && !isLoopback(url) && Option.isSome(resolved.token)) {
      yield* Console.error(`warning: ${resolved.server} is plain HTTP: the token travels unencrypted`)
    }
    if (url.protocol === "https:") {
      yield* Either.mapLeft(checkPin(resolved.trust, resolved.context), (message) => new CliError({ message }))
      if (resolved.trust._tag === "Insecure") {
        const which = Option.match(resolved.context, { onNone: () => "", onSome: (name) => ` (context '${name}': insecure = true)` })
        yield* Console.error(`warning: TLS verification is off${which}: ${resolved.server} is not authenticated`)
      }
    }
    const base = yield* httpClientFor(resolved.trust)
    const withToken = (c: HttpClient.HttpClient) =>
      Option.match(resolved.token, {
        onNone: () => c,
        onSome: (token) => HttpClient.mapRequest(c, HttpClientRequest.bearerToken(token))
      })
    const client = yield* HttpApiClient.makeWith(api, { baseUrl: resolved.server, httpClient: withToken(base) })
    const explainError = explainFailure(resolved.server, {
      hasToken: Option.isSome(resolved.token),
      trust: resolved.trust,
      context: resolved.context
    })
    const request = <A, E, R>(call: (api: typeof client) => Effect.Effect<A, E, R>) =>
      call(client).pipe(
        Effect.timeoutFail({
          duration: REQUEST_TIMEOUT,
          onTimeout: () => new CliError({ message: `helyosd at ${resolved.server} did not answer within ${Duration.format(REQUEST_TIMEOUT)}` })
        }),
        Effect.catchAll(explainError)
      )
    /** The raw client (base URL and token applied, no timeout): for streamed answers like logs. */
    const http = withToken(base).pipe(HttpClient.mapRequest(HttpClientRequest.prependUrl(resolved.server)))
    return {
      server: resolved.server,
      /** the active context's default project, if it has one */
      project: resolved.project,
      context: resolved.context,
      request,
      http,
      explainError
    }
  })
