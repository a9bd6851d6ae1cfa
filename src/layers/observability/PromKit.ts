// What the master's and a worker's Prometheus pages share, so one dashboard sums over every node and
// neither side reaches into the other's module: the pod event counters, the by-status gauge, the render.
import { Effect } from "effect"
import { Counter, type Gauge, type Registry } from "prom-client"
import { PodStatus } from "../../domain/Workload.js"
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
