// `--dns-mode embedded` on one node: the resolver (DnsServer, on an address DnsAddress makes local)
// answering from the master's records with this node's own pods overlaid from their live state
// (domain/dns/Overlay), re-read from the pod runtime every `dnsLocalRefresh` (200 ms by default).
//
// Reachability: there is no overlay network yet, so another node's pod IPs do not route from here;
// only this node's pods are answered (and only they identify who asks, since two nodes' engines may
// hand out the same container IP). Until a worker knows its node id (its first registration), no pod
// counts as local, so no `.internal` name has an address there.
import { Context, Duration, Effect, Layer, Option, Schedule, type Scope } from "effect"
import { DnsRevisionGap } from "../../domain/dns/DnsErrors.js"
import { type LocalPod, localKey, localRecords, overlay, type OverlaySelf } from "../../domain/dns/Overlay.js"
import { applyDelta, type DnsDelta, type DnsSnapshot, empty, fromSnapshot, type RecordSet } from "../../domain/dns/Records.js"
import { DNS_PORT, formatHostPort } from "../../domain/dns/Upstreams.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { DnsResolver, type DnsResolverShape } from "../../services/dns/DnsResolver.js"
import { NodeDns, type NodeDnsShape } from "../../services/dns/NodeDns.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import * as DnsAddress from "./DnsAddress.js"
import * as DnsServer from "./DnsServer.js"
import * as ResolvConf from "./ResolvConf.js"

/** Which node this is: shared by the overlay (which sets it) and the resolver (which reads it per query). */
export interface SelfCell {
  current: OverlaySelf | undefined
}

/**
 * The overlay over `resolver`: keeps the master's set, re-reads the local pods every `refresh` and
 * replaces the resolver's set whenever either changed. Scoped: the refresh loop ends with the scope.
 */
export const makeOverlay = (
  resolver: Pick<DnsResolverShape, "replace">,
  local: { readonly assigned: Effect.Effect<ReadonlyArray<LocalPod>> },
  self: SelfCell,
  refresh: Duration.DurationInput
): Effect.Effect<NodeDnsShape, never, Scope.Scope> =>
  Effect.gen(function*() {
    let pushed: RecordSet = empty
    // what the resolver holds was built from these
    let builtFrom: { readonly pushed: RecordSet; readonly self: OverlaySelf | undefined; readonly key: string } | undefined
    const lock = (yield* Effect.makeSemaphore(1)).withPermits(1)

    /** Rebuild the resolver's set when the master's set, this node's identity or its live pods changed. */
    const sync = lock(Effect.gen(function*() {
      const pods = yield* local.assigned
      const me = self.current
      const key = me === undefined ? "" : localKey(localRecords(pods, me))
      if (builtFrom !== undefined && builtFrom.pushed === pushed && builtFrom.self === me && builtFrom.key === key) return
      yield* resolver.replace({ revision: pushed.revision, records: overlay(pushed, me, pods) })
      builtFrom = { pushed, self: me, key }
    }))

    yield* sync.pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("DNS: could not read this node's pods", cause)),
      Effect.repeat(Schedule.spaced(refresh)),
      Effect.forkScoped
    )

    const replace = (snapshot: DnsSnapshot) =>
      Effect.suspend(() => {
        pushed = fromSnapshot(snapshot)
        return sync
      })

    const applyNext = (delta: DnsDelta): Effect.Effect<void, DnsRevisionGap> =>
      Effect.suspend(() => {
        const outcome = applyDelta(pushed, delta)
        switch (outcome._tag) {
          case "Stale":
            return Effect.void
          case "Gap":
            return Effect.fail(new DnsRevisionGap({ current: pushed.revision, received: delta.revision }))
          case "Applied":
            pushed = outcome.set
            return sync
        }
      })

    const identify = (me: OverlaySelf) =>
      Effect.suspend(() => {
        const known = self.current
        if (known !== undefined && known.id === me.id && known.name === me.name) return Effect.void
        self.current = { id: me.id, name: me.name }
        return sync
      })

    return NodeDns.of({
      mode: "embedded",
      identify,
      replace,
      applyDelta: applyNext,
      revision: Effect.sync(() => pushed.revision)
    })
  })

export interface NodeDnsOptions extends Omit<DnsServer.DnsServerOptions, "localNode" | "reachable"> {
  /** how often this node's pods are re-read (default 200 ms) */
  readonly refresh?: Duration.DurationInput | undefined
}

/** The resolver, its address and the overlay, for the scope. */
export const make = (options: NodeDnsOptions) =>
  Effect.gen(function*() {
    yield* DnsAddress.make(options.listen.host)
    const self: SelfCell = { current: undefined }
    const resolver = yield* DnsServer.make({
      ...options,
      localNode: () => self.current?.id,
      // no overlay network yet: another node's pod addresses are not reachable from here
      reachable: (record) => self.current !== undefined && record.nodeId === self.current.id
    })
    const nodeDns = yield* makeOverlay(resolver, yield* LocalWorkload, self, options.refresh ?? "200 millis")
    return { resolver, nodeDns }
  })

/** DnsResolver and NodeDns from `options` (tests: 127.0.0.1 and any port). */
export const layerWith = (options: NodeDnsOptions) =>
  Layer.scopedContext(
    Effect.map(make(options), ({ nodeDns, resolver }) => Context.make(DnsResolver, resolver).pipe(Context.add(NodeDns, nodeDns)))
  )

/**
 * `--dns-mode embedded` from DaemonConfig: --dns-listen, --dns-upstream (default: /etc/resolv.conf's
 * nameservers), --dns-ttl; or the no-op resolver with `--dns-mode noop`.
 */
export const layer = Layer.unwrapEffect(
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    if (config.dnsMode === "noop") return Layer.merge(DnsResolver.layerNoop, NodeDns.layerNoop)
    const upstreams = Option.isSome(config.dnsUpstreams) ? config.dnsUpstreams.value : yield* ResolvConf.upstreams()
    if (config.dnsListen.port !== DNS_PORT) {
      yield* Effect.logWarning(
        `DNS resolver on ${formatHostPort(config.dnsListen)}: pods are pointed at ${config.dnsListen.host}, but Docker forwards ` +
          `their lookups to port 53 only, so only this node itself can use this resolver`
      )
    }
    return layerWith({
      listen: config.dnsListen,
      upstreams,
      ttl: config.dnsTtl,
      refresh: config.dnsLocalRefresh
    })
  })
)
