// What the master's and a worker's Prometheus pages share, so one dashboard sums over every node and
// neither side reaches into the other's module: the pod event counters, the by-status gauge, the render.
import { Effect, Option } from "effect"
import { Counter, Gauge, type Registry } from "prom-client"
import { RESPONSE_CODES } from "../../domain/dns/Wire.js"
import { PodStatus } from "../../domain/Workload.js"
import type { DnsResolverShape, DnsStats } from "../../services/dns/DnsResolver.js"
import type { ContainerEvent } from "../../services/observability/Metrics.js"

/** Every pod status, so a by-status gauge shows 0 rather than no series for a status nothing has. */
export const POD_STATUSES: ReadonlyArray<PodStatus> = PodStatus.literals

/** The pod lifecycle counters, the same on the master and on workers so one dashboard sums them. */
export const podEventCounters = (registers: Array<Registry>) => ({
  containerEvents: new Counter({
    name: "helyos_container_events_total",
    help: "Container lifecycle events (started, died, oom)",
    labelNames: ["event"] as const,
    registers
  }),
  podRestarts: new Counter({ name: "helyos_pod_restarts_total", help: "Pod containers restarted in place", registers })
})

/** The pod actions that are container lifecycle events (137 is reported as OOMKilled). */
const CONTAINER_EVENTS: Partial<Record<string, ContainerEvent>> = {
  started: "started",
  died: "died",
  OOMKilled: "oom"
}

/** What one pod action adds to the counters (master and workers count alike). */
export const countsOf = (action: string): { readonly restart: boolean; readonly container: ContainerEvent | undefined } =>
  // a restart in place starts a new container too
  action === "restarted" ? { restart: true, container: "started" } : { restart: false, container: CONTAINER_EVENTS[action] }

/** Set a by-status gauge afresh: every known status present (0 when nothing has it), then count. */
export const setByStatus = (
  gauge: Gauge<"status">,
  statuses: ReadonlyArray<string>,
  items: Iterable<{ readonly status: string }>
) => {
  for (const status of statuses) gauge.set({ status }, 0)
  for (const item of items) gauge.inc({ status: item.status })
}

/**
 * The page of a registry, its gauges set just before by `setGauges`. One render at a time: a
 * scrape's gauges must not be overwritten by another's before they are read.
 */
export const makeRender = (registry: Registry) =>
  Effect.map(Effect.makeSemaphore(1), (lock) => (setGauges: () => void) =>
    lock.withPermits(1)(Effect.zipRight(Effect.sync(setGauges), Effect.promise(() => registry.metrics()))))

/** What the DNS series show: this node's resolver's counts (--dns-mode embedded) and the size of its set. */
export interface DnsSample {
  readonly stats: DnsStats
  readonly records: number
}

/**
 * The resolver's series, the same on the master and on workers: queries answered by response code
 * (`helyos_dns_queries_total{rcode}`), forwards and their failures, dropped packets, records held.
 * The resolver keeps the totals; the returned setter copies them in just before a render.
 */
export const dnsMetrics = (registers: Array<Registry>) => {
  const queries = new Counter({
    name: "helyos_dns_queries_total",
    help: "DNS queries answered by this node's resolver, by response code (NOERROR, NXDOMAIN, SERVFAIL, FORMERR, NOTIMP, REFUSED, OTHER)",
    labelNames: ["rcode"] as const,
    registers
  })
  const forwarded = new Counter({ name: "helyos_dns_forwarded_total", help: "DNS queries forwarded upstream (names outside .internal)", registers })
  const forwardFailures = new Counter({
    name: "helyos_dns_forward_failures_total",
    help: "Forwarded DNS queries answered SERVFAIL by this resolver (no upstream answered in time)",
    registers
  })
  const dropped = new Counter({
    name: "helyos_dns_dropped_total",
    help: "DNS packets left unanswered (shorter than a header, responses, an abusive TCP client's frames)",
    registers
  })
  const records = new Gauge({ name: "helyos_dns_records", help: "Pods in this node's DNS record set", registers })
  const copy = (counter: Counter, value: number) => {
    counter.reset()
    counter.inc(value)
  }
  return (sample: DnsSample) => {
    queries.reset()
    for (const rcode of RESPONSE_CODES) queries.inc({ rcode }, sample.stats.responses[rcode])
    copy(forwarded, sample.stats.forwarded)
    copy(forwardFailures, sample.stats.forwardFailures)
    copy(dropped, sample.stats.dropped)
    records.set(sample.records)
  }
}

/** The sample of a node's resolver when it runs one (--dns-mode embedded); undefined otherwise. */
export const dnsSampleOf = (resolver: Option.Option<DnsResolverShape>): Effect.Effect<DnsSample | undefined> =>
  Option.isNone(resolver) || Option.isNone(resolver.value.endpoint)
    ? Effect.succeed(undefined)
    : Effect.zipWith(resolver.value.stats, resolver.value.records, (stats, set) => ({ stats, records: set.pods.size }))
