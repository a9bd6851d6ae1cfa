// `helyos login SERVER` and `helyos logout [NAME]`: pin the daemon's CA (a file, a fingerprint, or a
// typed confirmation on a terminal — never silently), validate the token with whoami over the pinned
// connection, and store the context; logout drops the token but keeps the server and the pin.
import { HttpApiClient, HttpClient, HttpClientError, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { Console, Duration, Effect, Either, Option, Redacted } from "effect"
import { X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as readline from "node:readline"
import {
  activeContext,
  type CliConfig,
  type CliContext,
  contextNameFor,
  contextNameProblem,
  encodeCa,
  normalizeServer,
  type ServerTrust
} from "../../domain/CliContext.js"
import { nameProblem } from "../../domain/DeploymentSpec.js"
import { colonHex, normalizeFingerprint, pemFingerprint, pinMatch } from "../../domain/Fingerprint.js"
import { SystemApi } from "../../services/api/SystemApi.js"
import { TokensApi } from "../../services/api/TokensApi.js"
import type { Globals } from "./CommandLine.js"
import { configPath, loadConfigForUpdate, writeConfig } from "./ConfigFile.js"
import { CliError, clientApi, httpClientFor, isLoopback, transportProblem } from "./Connection.js"
import { ask, hidden } from "./Prompts.js"

/** What login talks to: the public CA route and whoami. */
const LoginApi = clientApi(SystemApi).add(TokensApi)

/** How long login waits for /api/v1/ca and /api/v1/whoami. */
const LOGIN_REQUEST_TIMEOUT = Duration.seconds(10)

const fail = (message: string) => Effect.fail(new CliError({ message }))

const orFail = <A>(either: Either.Either<A, string>) => Either.mapLeft(either, (message) => new CliError({ message }))

/** A prompt needs a person: stdin and stderr both on a terminal. */
const interactive = () => process.stdin.isTTY === true && process.stderr.isTTY === true

// ---------------------------------------------------------------------------------------------
// Reading from the user

/** The first line of stdin (for --token-stdin); none when stdin ends first. */
const readStdinLine: Effect.Effect<Option.Option<string>, CliError> = Effect.async((resume) => {
  const lines = readline.createInterface({ input: process.stdin, terminal: false })
  let done = false
  const finish = (result: Effect.Effect<Option.Option<string>, CliError>) => {
    if (done) return
    done = true
    lines.close()
    process.stdin.pause() // let the process exit once the command is done
    resume(result)
  }
  lines.once("line", (line) => finish(Effect.succeed(Option.some(line))))
  lines.once("close", () => finish(Effect.succeed(Option.none())))
  process.stdin.once("error", (error) => finish(fail(`cannot read the token from stdin: ${error.message}`)))
  return Effect.sync(() => finish(Effect.succeed(Option.none())))
})

// ---------------------------------------------------------------------------------------------
// Talking to the daemon before a context exists

/** `{"error": "..."}` of a failed answer, if it has one. */
const errorOf = (response: HttpClientResponse.HttpClientResponse) =>
  response.json.pipe(
    Effect.map((body) => {
      const error = typeof body === "object" && body !== null ? (body as { error?: unknown }).error : undefined
      return typeof error === "string" ? Option.some(error) : Option.none<string>()
    }),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/**
 * HelyosApi's derived client on `server`, trusting `trust`, sending `token` if any. Only 2xx answers
 * reach the endpoints' schemas; any other status arrives as a ResponseError that login reads by its
 * status, so a proxy's error page is judged like helyosd's own `{"error"}`.
 */
const apiClient = (server: string, trust: ServerTrust, token: Option.Option<Redacted.Redacted<string>>) =>
  Effect.flatMap(httpClientFor(trust), (http) =>
    HttpApiClient.makeWith(LoginApi, {
      baseUrl: server,
      httpClient: HttpClient.filterStatusOk(Option.match(token, {
        onNone: () => http,
        onSome: (t) => HttpClient.mapRequest(http, HttpClientRequest.bearerToken(t))
      }))
    }))

/**
 * One call of login's, made readable: a timeout and transport failures explained, an answer other
 * than 200 handed to `onStatus`, one the endpoint's schema refuses reported as `undecodable`.
 */
const loginCall = <A, E>(
  server: string,
  trust: ServerTrust,
  call: Effect.Effect<A, E>,
  handlers: {
    readonly onStatus: (response: HttpClientResponse.HttpClientResponse) => Effect.Effect<A, CliError>
    readonly undecodable: string
  }
): Effect.Effect<A, CliError> =>
  call.pipe(
    Effect.timeoutFail({
      duration: LOGIN_REQUEST_TIMEOUT,
      onTimeout: () => new CliError({ message: `${server} did not answer within ${Duration.format(LOGIN_REQUEST_TIMEOUT)}` })
    }),
    Effect.catchAll((error: E | CliError) => {
      if (error instanceof CliError) return Effect.fail(error)
      if (HttpClientError.isHttpClientError(error)) {
        if (error._tag === "RequestError") {
          return fail(
            error.reason === "Transport"
              ? transportProblem(server, trust, Option.none(), error.cause)
              : `invalid request to ${server}: ${error.message}`
          )
        }
        if (error.response.status !== 200) return handlers.onStatus(error.response)
      }
      return fail(handlers.undecodable)
    })
  )

/** The CA the daemon serves, fetched WITHOUT verification (that is what pinning is for); none on 404. */
const fetchCa = (server: string) =>
  Effect.gen(function*() {
    const insecure: ServerTrust = { _tag: "Insecure" }
    const api = yield* apiClient(server, insecure, Option.none())
    const served = yield* loginCall(server, insecure, Effect.map(api.system.ca(), Option.some), {
      onStatus: (response) =>
        response.status === 404
          ? Effect.succeed(Option.none())
          : fail(`cannot fetch the CA of ${server}: HTTP ${response.status} (is it a helyosd?)`),
      undecodable: `${server} answered /api/v1/ca with something that is not a CA (is it a helyosd?)`
    })
    if (Option.isSome(served)) yield* orFail(certificateProblem(served.value.pem, `the CA served by ${server}`))
    return Option.map(served, (ca) => ca.pem)
  })

/** Validate the token with whoami over the connection the context will use. */
const whoami = (server: string, trust: ServerTrust, token: Redacted.Redacted<string>) =>
  Effect.gen(function*() {
    const api = yield* apiClient(server, trust, Option.some(token))
    return yield* loginCall(server, trust, api.tokens.whoami(), {
      onStatus: (response) =>
        response.status === 401
          ? fail(`token rejected by ${server}`)
          : Effect.flatMap(errorOf(response), (said) =>
            fail(Option.getOrElse(said, () => `unexpected answer from ${server} to /api/v1/whoami (HTTP ${response.status})`))),
      undecodable: `unexpected answer from ${server} to /api/v1/whoami (is it a helyosd of this version?)`
    })
  })

/** Left when `pem` holds no certificate. */
const certificateProblem = (pem: string, what: string): Either.Either<void, string> => {
  try {
    new X509Certificate(pem)
    return Either.void
  } catch {
    return Either.left(`${what} is not a PEM certificate`)
  }
}

// ---------------------------------------------------------------------------------------------
// Trust

interface Pin {
  readonly trust: ServerTrust
  /** what the context stores */
  readonly keys: Pick<CliContext, "ca" | "caSha256" | "insecure">
}

const pinned = (pem: string): Pin => {
  const sha256 = pemFingerprint(pem)
  return { trust: { _tag: "Pinned", pem, sha256: Option.some(sha256) }, keys: { ca: encodeCa(pem), caSha256: sha256 } }
}

const SYSTEM: Pin = { trust: { _tag: "System" }, keys: {} }

/** The documented refusal when the fetched CA is not the one the user expects. */
export const mismatchMessage = (expected: string, got: string) =>
  [
    "CA fingerprint mismatch — aborting (possible MITM)",
    `  expected: ${Option.getOrElse(Option.fromNullable(normalizeFingerprint(expected)).pipe(Option.map(colonHex)), () => expected)}`,
    `  got:      ${got}`
  ].join("\n")

interface TrustFlags {
  readonly caFile: Option.Option<string>
  readonly caFingerprint: Option.Option<string>
  readonly insecure: boolean
}

/** Decide what the new context trusts; nothing is written before this succeeds. */
const establishTrust = (server: string, flags: TrustFlags) =>
  Effect.gen(function*() {
    const url = new URL(server)
    if (url.protocol === "http:") {
      if (Option.isSome(flags.caFile) || Option.isSome(flags.caFingerprint) || flags.insecure) {
        return yield* fail(`${server} is plain HTTP: there is no certificate to pin or skip (use https:// for an HTTPS daemon)`)
      }
      if (!isLoopback(url)) yield* Console.error(`warning: ${server} is plain HTTP: the token and everything else travel unencrypted`)
      return SYSTEM
    }
    if (flags.insecure) {
      yield* Console.error(`warning: --insecure-skip-tls-verify: the connection to ${server} is encrypted but not authenticated`)
      return { trust: { _tag: "Insecure" }, keys: { insecure: true } } satisfies Pin
    }
    if (Option.isSome(flags.caFile)) {
      // out of band: no fetch; the file is the pin and whoami proves the server holds its certificate
      const file = flags.caFile.value
      const pem = yield* Effect.try({
        try: () => fs.readFileSync(file, "utf8"),
        catch: (error) => new CliError({ message: `cannot read --ca-file ${file}: ${(error as Error).message}` })
      })
      yield* orFail(certificateProblem(pem, `--ca-file ${file}`))
      return pinned(pem)
    }
    const fetched = yield* fetchCa(server)
    if (Option.isSome(flags.caFingerprint)) {
      const expected = flags.caFingerprint.value
      if (Option.isNone(fetched)) {
        return yield* fail(`${server} serves no self-signed CA to compare --ca-fingerprint with (TLS off or its own certificate): pass --ca-file, or no CA flag to use the system roots`)
      }
      const got = pemFingerprint(fetched.value)
      const match = pinMatch(expected, fetched.value)
      if (match === undefined) return yield* fail(mismatchMessage(expected, got))
      if (match === "legacy") {
        yield* Console.error(`note: ${expected} is a fingerprint of the form Helyos 0.1 printed (SHA-256 of the PEM text); the certificate's SHA-256 is ${got}`)
      }
      return pinned(fetched.value)
    }
    if (Option.isNone(fetched)) {
      // a brought certificate: the system roots must vouch for it (whoami will tell)
      yield* Console.error(`${server} serves no self-signed CA: verifying it against the system roots (pass --ca-file for a private CA)`)
      return SYSTEM
    }
    const fingerprint = pemFingerprint(fetched.value)
    if (!interactive()) {
      return yield* fail(
        `refusing to trust the CA of ${server} without confirmation (not a terminal): pass --ca-fingerprint <sha256> (printed in helyosd's log, or curl -sk ${server}/api/v1/ca on the server) or --ca-file <pem>`
      )
    }
    yield* Console.error(`The server ${server} presented a self-signed CA:\n  SHA-256: ${fingerprint}`)
    const answer = yield* ask("Trust and pin this CA? [y/N] ")
    if (!/^(y|yes)$/i.test(answer.trim())) return yield* fail("CA not trusted: nothing was written")
    return pinned(fetched.value)
  })

// ---------------------------------------------------------------------------------------------
// Token

interface TokenFlags {
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly tokenStdin: boolean
}

const nonEmptyToken = (text: string) => Option.map(Option.liftPredicate(text.trim(), (t) => t !== ""), Redacted.make)

/** --token, --token-stdin or $HELYOS_API_TOKEN; none means "prompt if a person is there". */
const givenToken = (flags: TokenFlags) =>
  Effect.gen(function*() {
    if (Option.isSome(flags.token)) return Option.some(flags.token.value)
    if (flags.tokenStdin) {
      const line = yield* readStdinLine
      return yield* Option.match(Option.flatMap(line, nonEmptyToken), {
        onNone: () => fail("--token-stdin: stdin held no token (expected one line)"),
        onSome: (token) => Effect.succeed(Option.some(token))
      })
    }
    return nonEmptyToken(process.env.HELYOS_API_TOKEN ?? "")
  })

const promptToken = (server: string) =>
  Effect.gen(function*() {
    const typed = yield* hidden(`API token for ${server}`)
    return yield* Option.match(nonEmptyToken(typed), {
      onNone: () => fail("no token given"),
      onSome: Effect.succeed
    })
  })

// ---------------------------------------------------------------------------------------------
// Saving

const save = (file: string, config: CliConfig) =>
  Effect.try({
    try: () => writeConfig(file, config),
    catch: (error) => new CliError({ message: `cannot write ${file}: ${(error as Error).message}` })
  })

// ---------------------------------------------------------------------------------------------
// Commands

export interface LoginInput {
  readonly server: string
  readonly name: string | undefined
  readonly token: string | undefined
  readonly tokenStdin: boolean
  readonly caFile: string | undefined
  readonly caFingerprint: string | undefined
  readonly insecureSkipTlsVerify: boolean
  readonly project: string | undefined
  readonly noSetCurrent: boolean
}

export const login = (input: LoginInput, globals: Globals) =>
  Effect.gen(function*() {
    const flags = {
      name: Option.fromNullable(input.name),
      caFile: Option.fromNullable(input.caFile),
      caFingerprint: Option.fromNullable(input.caFingerprint),
      insecure: input.insecureSkipTlsVerify,
      project: Option.fromNullable(input.project),
      tokenStdin: input.tokenStdin,
      noSetCurrent: input.noSetCurrent
    }
    const server = yield* orFail(normalizeServer(input.server))
    const exclusive = [Option.isSome(flags.caFile), Option.isSome(flags.caFingerprint), flags.insecure].filter(Boolean).length
    if (exclusive > 1) return yield* fail("pass only one of --ca-file, --ca-fingerprint and --insecure-skip-tls-verify")
    const token = Option.map(Option.fromNullable(input.token ?? globals.token), Redacted.make)
    if (Option.isSome(token) && flags.tokenStdin) return yield* fail("pass either --token or --token-stdin, not both")
    if (Option.isSome(flags.caFingerprint) && normalizeFingerprint(flags.caFingerprint.value) === undefined) {
      return yield* fail(`--ca-fingerprint '${flags.caFingerprint.value}' is not a SHA-256 fingerprint (64 hex digits, colons optional)`)
    }
    if (Option.isSome(flags.name)) {
      const problem = contextNameProblem(flags.name.value)
      if (problem !== undefined) return yield* fail(problem)
    }
    if (Option.isSome(flags.project)) {
      const problem = nameProblem(flags.project.value)
      if (problem !== undefined) return yield* fail(`invalid --project: ${problem}`)
    }
    const file = configPath()
    // refuse early if the file cannot be updated, before asking anyone anything
    yield* orFail(loadConfigForUpdate(file))

    const given = yield* givenToken({ token, tokenStdin: flags.tokenStdin })
    if (Option.isNone(given) && !interactive()) {
      return yield* fail("no token: pass --token, --token-stdin or set HELYOS_API_TOKEN (mint one with helyos auth token create NAME)")
    }
    const pin = yield* establishTrust(server, flags)
    const secret = Option.isSome(given) ? given.value : yield* promptToken(server)
    const me = yield* whoami(server, pin.trust, secret)

    // re-read: the file may have changed while we talked to the daemon or the user
    const config = yield* orFail(loadConfigForUpdate(file))
    const name = Option.getOrElse(flags.name, () => contextNameFor(server, config.contexts))
    const previous = config.contexts.get(name)
    // logging in again to the same server keeps the context's project; another server starts afresh
    const project = Option.orElse(flags.project, () => Option.fromNullable(previous?.server === server ? previous.project : undefined))
    const context: CliContext = {
      server,
      token: secret,
      tokenName: me.name,
      ...Option.match(project, { onNone: () => ({}), onSome: (p) => ({ project: p }) }),
      ...pin.keys,
      ...(previous?.extra !== undefined ? { extra: previous.extra } : {})
    }
    const contexts = new Map(config.contexts)
    contexts.set(name, context)
    yield* save(file, {
      ...config,
      contexts,
      currentContext: flags.noSetCurrent ? config.currentContext : Option.some(name)
    })
    const current = flags.noSetCurrent ? "" : ", now the current context"
    yield* Console.log(`Logged in to ${server} as ${me.name} (scope ${me.scope}): context '${name}'${current}`)
  })

export const logout = ({ name }: { readonly name: string | undefined }, globals: Globals) =>
  Effect.gen(function*() {
    const file = configPath()
    const config = yield* orFail(loadConfigForUpdate(file))
    const active = yield* orFail(activeContext(config, name ?? globals.context))
    if (Option.isNone(active)) return yield* fail("no active context to log out of: name one (helyos context ls)")
    const [contextName, context] = active.value
    if (context.token === undefined) {
      return yield* Console.log(`context '${contextName}' holds no token: nothing to do`)
    }
    const { token: _token, tokenName: _tokenName, ...kept } = context
    const contexts = new Map(config.contexts)
    contexts.set(contextName, kept)
    yield* save(file, { ...config, contexts })
    yield* Console.log(`Logged out of context '${contextName}': token removed, server and pinned CA kept`)
  })
