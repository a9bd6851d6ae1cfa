// A worker's own metrics on prom-client, in a Registry of their own (never the process-global one).
// Same names as the master's where they mean the same thing, so one dashboard sums over every node.
import { Effect, Layer } from "effect"
import { Counter, Gauge, Registry } from "prom-client"
import { WorkerMetrics } from "../../services/observability/WorkerMetrics.js"
import { countsOf, dnsMetrics, makeRender, POD_STATUSES, podEventCounters, setByStatus } from "./PromKit.js"

export const make = Effect.gen(function*() {
  const registry = new Registry()
  const registers = [registry]

  const { containerEvents, podRestarts } = podEventCounters(registers)
  const podsByStatus = new Gauge({
    name: "helyos_pods",
    help: "Current number of this node's pods by status",
    labelNames: ["status"] as const,
    registers
  })
  const connected = new Gauge({
    name: "helyos_worker_connected",
    help: "1 while the worker's stream to the master is up, else 0",
    registers
  })
  const heartbeats = new Counter({ name: "helyos_worker_heartbeats_total", help: "Heartbeats sent to the master", registers })
  const reconnects = new Counter({
    name: "helyos_worker_reconnects_total",
    help: "Reconnects to the master after the stream ended",
    registers
  })
  // present from the first scrape, not only after the first event
  for (const event of ["started", "died", "oom"] as const) containerEvents.inc({ event }, 0)
  connected.set(0)

  const setDns = dnsMetrics(registers)
  const renderPage = yield* makeRender(registry)

  return WorkerMetrics.of({
    countPodEvent: (action) =>
      Effect.sync(() => {
        const { container, restart } = countsOf(action)
        if (restart) podRestarts.inc()
        if (container !== undefined) containerEvents.inc({ event: container })
      }),
    setConnected: (up) => Effect.sync(() => connected.set(up ? 1 : 0)),
    countHeartbeat: Effect.sync(() => heartbeats.inc()),
    countReconnect: Effect.sync(() => reconnects.inc()),
    render: (pods, dns) =>
      renderPage(() => {
        setByStatus(podsByStatus, POD_STATUSES, pods)
        if (dns !== undefined) setDns(dns)
      })
  })
})

/** A worker's metrics in a fresh prom-client Registry. */
export const layer = Layer.effect(WorkerMetrics, make)
