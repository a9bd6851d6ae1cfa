// Start-up announcements of a master/single daemon: the API token, the join command, the master's own node.
import { Effect, Logger, LogLevel, Option, Redacted } from "effect"
import * as os from "node:os"
import { NodeResources } from "../../domain/Node.js"
import { seedLocalContext } from "../../layers/CliConfigFile.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { NodeRegistry } from "../../services/NodeRegistry.js"
import { TokenVault } from "../../services/TokenVault.js"

/** The address others should dial: --advertise-addr, else a non-loopback IPv4 when bound to all, else the bind host. */
export const advertisedHost = (host: string, advertise: Option.Option<string>): string => {
  if (Option.isSome(advertise)) return advertise.value
  if (host !== "0.0.0.0" && host !== "::") return host
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === "IPv4" && !a.internal) return a.address
  }
  return "127.0.0.1"
}

/** A secret printed only at creation must never be filtered out by --log-level: it cannot be shown again. */
const shownOnce = (lines: ReadonlyArray<string>) =>
  Effect.forEach(lines, (line) => Effect.logInfo(line), { discard: true }).pipe(Logger.withMinimumLogLevel(LogLevel.Info))

/** Where the local CLI reaches this daemon. */
const localServer = (host: string, port: number) =>
  `http://${host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host}:${port}`

/** Make sure an API token exists; print a generated one once and seed the local CLI context. */
export const announceApiToken = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const vault = yield* TokenVault
  const known = yield* vault.ensureApiToken(config.apiToken)
  if (Option.isNone(known)) return
  const { minted, token } = known.value
  if (minted) {
    yield* shownOnce([`API token generated (shown once) — export it for the CLI:`, `HELYOS_API_TOKEN=${Redacted.value(token)}`])
  }
  yield* Effect.try(() =>
    seedLocalContext({ path: config.cliConfigPath, server: localServer(config.host, config.port), token: Redacted.value(token) })
  ).pipe(
    Effect.tap(() => Effect.logInfo(`CLI context 'local' written to ${config.cliConfigPath}`)),
    Effect.catchAll((e) => Effect.logWarning(`could not write the CLI config ${config.cliConfigPath}: ${String(e.error)}`))
  )
})

/** Mint the join token on a master's first start and print the exact command workers run. */
export const announceJoinToken = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const vault = yield* TokenVault
  const minted = yield* vault.ensureJoinToken
  if (Option.isNone(minted)) return
  const addr = advertisedHost(config.host, config.advertiseAddr)
  yield* shownOnce([
    "join token generated — workers can join with:",
    `helyosd --mode worker --join ${addr}:${config.grpcPort} --token ${Redacted.value(minted.value)}`
  ])
})

/** The master (or single host) is a node too, with role Master. */
export const registerSelf = (resources: NodeResources) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* NodeRegistry
    yield* registry.join({
      name: config.nodeName,
      address: `${advertisedHost(config.host, config.advertiseAddr)}:${config.grpcPort}`,
      role: "Master",
      resources
    })
  })
