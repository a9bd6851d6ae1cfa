// The host's own resolvers, the default upstreams of the node-local resolver: the nameserver lines of
// /etc/resolv.conf (never a public address the operator did not choose).
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import { formatHostPort, type HostPort, upstreamsFromResolvConf } from "../../domain/dns/Upstreams.js"

export const RESOLV_CONF = "/etc/resolv.conf"

/** The nameservers in `path` (at most three, port 53); none, with a warning, when it cannot be read. */
export const upstreams = (path: string = RESOLV_CONF): Effect.Effect<ReadonlyArray<HostPort>> =>
  Effect.tryPromise(() => readFile(path, "utf8")).pipe(
    Effect.map(upstreamsFromResolvConf),
    Effect.tap((found) =>
      found.length === 0
        ? Effect.logWarning(`no nameserver in ${path}: give the DNS upstreams explicitly`)
        : Effect.logDebug(`DNS upstreams from ${path}: ${found.map(formatHostPort).join(", ")}`)
    ),
    Effect.catchAll((error) =>
      Effect.logWarning(`cannot read ${path} (${error.cause instanceof Error ? error.cause.message : String(error.cause)}): give the DNS upstreams explicitly`).pipe(
        Effect.as<ReadonlyArray<HostPort>>([])
      )
    )
  )
