// Start-up announcements of a master/single daemon: the API token, the join command, the master's own node.
import { Effect, Either, Logger, LogLevel, Option, Redacted } from "effect"
import * as os from "node:os"
import { type ApiScheme, isWildcardHost, urlOf } from "../../domain/ApiTlsPolicy.js"
import { LOCAL_CONTEXT } from "../../domain/CliContext.js"
import { ClusterEvent } from "../../domain/ClusterEvent.js"
import { NodeResources } from "../../domain/Node.js"
import { loadConfigForUpdate, seedLocalContext } from "../cli/ConfigFile.js"
import { ApiTls } from "../../services/security/ApiTls.js"
import { ClusterServer } from "../../services/cluster/ClusterServer.js"
import { ClusterTls } from "../../services/security/ClusterTls.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Events } from "../../services/observability/Events.js"
import { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import { ApiTokens } from "../../services/security/ApiTokens.js"
import { TokenVault } from "../../services/cluster/TokenVault.js"

/** The address others should dial: --advertise-addr, else a non-loopback IPv4 when bound to all, else the bind host. */
export const advertisedHost = (host: string, advertise: Option.Option<string>): string => {
  if (Option.isSome(advertise)) return advertise.value
  if (host !== "0.0.0.0" && host !== "::") return host
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address
  }
  return "127.0.0.1"
}

/**
 * The line that says the daemon serves: the address it is bound to and, when that is every address
 * (0.0.0.0, ::), the URLs it is reachable at — the advertised one first, then this host's own, then loopback.
 */
export const listeningLine = (options: {
  readonly mode: string
  readonly scheme: ApiScheme
  readonly host: string
  readonly port: number
  readonly advertiseAddr: Option.Option<string>
  readonly grpc: Option.Option<{ readonly host: string; readonly port: number }>
}): string => {
  const grpc = Option.match(options.grpc, { onNone: () => "", onSome: (g) => `cluster gRPC on ${g.host}:${g.port}` })
  if (!isWildcardHost(options.host)) {
    return `helyosd ${options.mode} listening on ${urlOf(options.scheme, options.host, options.port)}${grpc === "" ? "" : ` (${grpc})`}`
  }
  const own = Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).filter((a) => a.family === "IPv4" && !a.internal).map((a) => a.address))
  const hosts = [...new Set([...Option.toArray(options.advertiseAddr), ...own, "127.0.0.1"])]
  const reachable = hosts.map((h) => urlOf(options.scheme, h, options.port)).join(", ")
  return `helyosd ${options.mode} listening on ${urlOf(options.scheme, options.host, options.port)} (every address; reachable at ${reachable}${grpc === "" ? "" : `; ${grpc}`})`
}

/** A secret printed only at creation must never be filtered out by --log-level: it cannot be shown again. */
const shownOnce = (lines: ReadonlyArray<string>) =>
  Effect.forEach(lines, (line) => Effect.logInfo(line), { discard: true }).pipe(Logger.withMinimumLogLevel(LogLevel.Info))

/** Where the local CLI reaches this daemon (127.0.0.1 is in every self-signed certificate). */
const localServer = (scheme: ApiScheme, host: string, port: number) =>
  urlOf(scheme, isWildcardHost(host) ? "127.0.0.1" : host, port)

/** Make sure an API token exists; print a generated one once and seed the local CLI context. */
export const announceApiToken = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const tokens = yield* ApiTokens
  const tls = yield* ApiTls
  const known = yield* tokens.ensureDefault(config.apiToken)
  if (Option.isNone(known)) return yield* followLocalContext
  const { minted, token } = known.value
  if (minted) {
    yield* shownOnce([`API token generated (shown once) — export it for the CLI:`, `HELYOS_API_TOKEN=${Redacted.value(token)}`])
  }
  yield* Effect.try(() =>
    seedLocalContext({
      path: config.cliConfigPath,
      server: localServer(tls.scheme, config.host, config.port),
      token: Redacted.value(token),
      // an HTTPS daemon's context pins its CA, so the local CLI trusts it without a prompt
      ca: Option.getOrUndefined(tls.ca)
    })
  ).pipe(
    Effect.tap(() => Effect.logInfo(`CLI context 'local' written to ${config.cliConfigPath}`)),
    Effect.catchAll((e) => Effect.logWarning(`could not write the CLI config ${config.cliConfigPath}: ${String(e.error)}`))
  )
})

/**
 * The token is stored only as a hash, so the local context keeps its own; but when this start changed
 * the scheme or the CA (e.g. --tls on after plain HTTP), the context follows, or the local CLI breaks.
 */
const followLocalContext = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const tls = yield* ApiTls
  const local = Either.match(loadConfigForUpdate(config.cliConfigPath), {
    onLeft: () => undefined,
    onRight: (c) => c.contexts.get(LOCAL_CONTEXT)
  })
  if (local?.token === undefined) return
  const server = localServer(tls.scheme, config.host, config.port)
  const sha256 = Option.getOrUndefined(Option.map(tls.ca, (ca) => ca.sha256))
  if (local.server === server && local.caSha256 === sha256) return
  const token = local.token
  yield* Effect.try(() =>
    seedLocalContext({ path: config.cliConfigPath, server, token: Redacted.value(token), ca: Option.getOrUndefined(tls.ca) })
  ).pipe(
    Effect.tap(() => Effect.logInfo(`CLI context 'local' now points at ${server}`)),
    Effect.catchAll((e) => Effect.logWarning(`could not update the CLI config ${config.cliConfigPath}: ${String(e.error)}`))
  )
})

/** With HTTPS, the exact command a remote user runs to log in with the CA pinned. */
export const announceLogin = (port: number) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const tls = yield* ApiTls
    if (tls.scheme !== "https") return
    const server = urlOf("https", advertisedHost(config.host, config.advertiseAddr), port)
    yield* Option.match(tls.ca, {
      onSome: (ca) => Effect.logInfo(`helyos login ${server} --ca-fingerprint ${ca.sha256}`),
      // a brought certificate: public roots, or the user's own --ca-file
      onNone: () => Effect.logInfo(`helyos login ${server}`)
    })
  })

/** Mint the join token on a master's first start and print the exact command workers run. */
export const announceJoinToken = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const vault = yield* TokenVault
  // a master always has its cluster CA (Modes provides it); read optionally so single mode type-checks
  const tls = yield* Effect.serviceOption(ClusterTls)
  if (Option.isNone(tls)) return yield* Effect.dieMessage("a master must have its cluster TLS material before announcing")
  const minted = yield* vault.ensureJoinToken
  if (Option.isNone(minted)) return
  const addr = advertisedHost(config.host, config.advertiseAddr)
  const port = Option.match(yield* Effect.serviceOption(ClusterServer), { onNone: () => config.grpcPort, onSome: (s) => s.port })
  yield* shownOnce([
    "join token generated — workers can join with:",
    // the fingerprint pins the master's cluster CA: a worker checks it before sending the token
    `helyosd --mode worker --join ${addr}:${port} --token ${Redacted.value(minted.value)} --ca-fingerprint ${tls.value.fingerprint}`,
    "(to keep the token out of ps: write it to a file only root can read and pass --token-file FILE instead, or set HELYOS_JOIN_TOKEN)"
  ])
})

/** The master (or single host) is a node too, with role Master. */
export const registerSelf = (resources: NodeResources) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const { node } = yield* registry.join({
      name: config.nodeName,
      // the host only, as for every worker (its ports are in the flags, not part of its address)
      address: advertisedHost(config.host, config.advertiseAddr),
      role: "Master",
      resources
    })
    // the event stream starts with this host, as it does with every worker that registers
    yield* (yield* Events).publish(ClusterEvent.NodeJoined({ nodeId: node.id, name: node.name }))
  })
