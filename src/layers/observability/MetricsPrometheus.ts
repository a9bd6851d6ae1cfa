// Metrics on prom-client, in a Registry of their own (never the process-global one, so two daemons in
// one test process never share counters). Counters and histograms are observed where things happen;
// the state gauges are set from the sample just before each render.
import { Duration, Effect, Layer } from "effect"
import { Counter, Gauge, Histogram, Registry } from "prom-client"
import { type ClusterSample, Metrics, type NodeGaugeStatus } from "../../services/observability/Metrics.js"
import { dnsMetrics, makeRender, POD_STATUSES, podEventCounters, setByStatus } from "./PromKit.js"

const NODE_STATUSES: ReadonlyArray<NodeGaugeStatus> = ["ready", "notready", "dead", "draining"]

/** A scheduling decision takes microseconds to milliseconds; a reconcile pass up to seconds. */
const SCHEDULE_BUCKETS = [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1]
const RECONCILE_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const seconds = (duration: Duration.Duration) => Duration.toMillis(duration) / 1000

export const make = Effect.gen(function*() {
  const registry = new Registry()
  const registers = [registry]
  const { containerEvents, podRestarts } = podEventCounters(registers)

  const httpRequests = new Counter({
    name: "helyos_http_requests_total",
    help: "Total HTTP requests",
    labelNames: ["method", "path", "status"] as const,
    registers
  })
  const httpDuration = new Histogram({
    name: "helyos_http_request_duration_seconds",
    help: "API request latency in seconds",
    labelNames: ["method", "path"] as const,
    registers
  })
  const scheduleDuration = new Histogram({
    name: "helyos_schedule_duration_seconds",
    help: "Time to take one scheduling decision, in seconds",
    labelNames: ["strategy"] as const,
    buckets: SCHEDULE_BUCKETS,
    registers
  })
  const deploymentOps = new Counter({
    name: "helyos_deployment_ops_total",
    help: "Deployment operations (deploy, scale, stop, remove)",
    labelNames: ["op"] as const,
    registers
  })
  const reconcileDuration = new Histogram({
    name: "helyos_reconcile_duration_seconds",
    help: "Time of one reconcile pass, in seconds",
    buckets: RECONCILE_BUCKETS,
    registers
  })
  const nodesTotal = new Gauge({ name: "helyos_nodes_total", help: "Current number of cluster nodes", registers })
  const podsTotal = new Gauge({ name: "helyos_pods_total", help: "Current number of pods", registers })
  const deploymentsTotal = new Gauge({
    name: "helyos_deployments_total",
    help: "Current number of deployments",
    registers
  })
  const nodesByStatus = new Gauge({
    name: "helyos_nodes",
    help: "Current number of nodes by status",
    labelNames: ["status"] as const,
    registers
  })
  const heartbeatAge = new Gauge({
    name: "helyos_node_heartbeat_age_seconds",
    help: "Seconds since each node's last heartbeat",
    labelNames: ["node"] as const,
    registers
  })
  const podsByStatus = new Gauge({
    name: "helyos_pods",
    help: "Current number of pods by status",
    labelNames: ["status"] as const,
    registers
  })

  const setDns = dnsMetrics(registers)

  const setGauges = (sample: ClusterSample) => {
    if (sample.dns !== undefined) setDns(sample.dns)
    nodesTotal.set(sample.nodes.length)
    podsTotal.set(sample.pods.length)
    deploymentsTotal.set(sample.deployments)
    setByStatus(nodesByStatus, NODE_STATUSES, sample.nodes)
    // reset first: a removed node's series disappears instead of freezing at its last age
    heartbeatAge.reset()
    for (const node of sample.nodes) {
      if (node.heartbeatAgeSeconds !== undefined) heartbeatAge.set({ node: node.name }, Math.max(0, node.heartbeatAgeSeconds))
    }
    setByStatus(podsByStatus, POD_STATUSES, sample.pods)
  }

  const renderPage = yield* makeRender(registry)

  return Metrics.of({
    observeHttp: ({ duration, method, path, status }) =>
      Effect.sync(() => {
        httpRequests.inc({ method, path, status: String(status) })
        httpDuration.observe({ method, path }, seconds(duration))
      }),
    observeSchedule: (strategy, duration) => Effect.sync(() => scheduleDuration.observe({ strategy }, seconds(duration))),
    observeReconcile: (duration) => Effect.sync(() => reconcileDuration.observe(seconds(duration))),
    countContainerEvent: (event) => Effect.sync(() => containerEvents.inc({ event })),
    countPodRestart: Effect.sync(() => podRestarts.inc()),
    countDeploymentOp: (op) => Effect.sync(() => deploymentOps.inc({ op })),
    render: (sample) => renderPage(() => setGauges(sample))
  })
})

/** Metrics in a fresh prom-client Registry. */
export const layer = Layer.effect(Metrics, make)
