// What helyosd counts and times (served as Prometheus text on GET /metrics): observations are made
// where things happen; the state gauges are computed from a ClusterSample at scrape time.
import { Context, Effect, type Duration, Layer } from "effect"
import type { PodStatus } from "../../domain/Workload.js"
import type { DnsStats } from "../dns/DnsResolver.js"

/** The lifecycle events of containers that are counted (`helyos_container_events_total{event}`). */
export type ContainerEvent = "started" | "died" | "oom"

/** A node's state as the `helyos_nodes{status}` gauge splits it (dead is not folded into notready here). */
export type NodeGaugeStatus = "ready" | "notready" | "dead" | "draining"

/** The cluster state the gauges show, read from the state services when /metrics is scraped. */
export interface ClusterSample {
  readonly nodes: ReadonlyArray<{
    readonly name: string
    readonly status: NodeGaugeStatus
    /** seconds since its last heartbeat; undefined for a node that does not heartbeat (the master) */
    readonly heartbeatAgeSeconds: number | undefined
  }>
  readonly pods: ReadonlyArray<{ readonly status: PodStatus }>
  readonly deployments: number
  /** this node's resolver (--dns-mode embedded): its counts and the records it holds; absent with noop */
  readonly dns?: {
    readonly stats: DnsStats
    readonly records: number
  } | undefined
}

export interface MetricsShape {
  /** One answered API request; `path` is the route template (`/api/v1/nodes/:name`) or "unmatched". */
  readonly observeHttp: (request: {
    readonly method: string
    readonly path: string
    readonly status: number
    readonly duration: Duration.Duration
  }) => Effect.Effect<void>
  /** One scheduling decision (placing the pods of one reconcile pass) under `strategy`. */
  readonly observeSchedule: (strategy: string, duration: Duration.Duration) => Effect.Effect<void>
  /** One reconcile pass. */
  readonly observeReconcile: (duration: Duration.Duration) => Effect.Effect<void>
  /** A container started, died or was killed by OOM. */
  readonly countContainerEvent: (event: ContainerEvent) => Effect.Effect<void>
  /** A pod's container was restarted in place. */
  readonly countPodRestart: Effect.Effect<void>
  /** An operator's deployment operation (deploy, scale, stop, remove). */
  readonly countDeploymentOp: (op: string) => Effect.Effect<void>
  /** Everything, as Prometheus text exposition format 0.0.4, with the gauges taken from `sample`. */
  readonly render: (sample: ClusterSample) => Effect.Effect<string>
}

/** The Content-Type of `render`'s output. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

const noop: MetricsShape = {
  observeHttp: () => Effect.void,
  observeSchedule: () => Effect.void,
  observeReconcile: () => Effect.void,
  countContainerEvent: () => Effect.void,
  countPodRestart: Effect.void,
  countDeploymentOp: () => Effect.void,
  render: () => Effect.succeed("")
}

/**
 * A Reference (a Tag with a default): code that observes never has to require it, so the
 * orchestrator and API can be built in tests without metrics; the daemon provides the real one.
 */
export class Metrics extends Context.Reference<Metrics>()("helyos/Metrics", {
  defaultValue: (): MetricsShape => noop
}) {
  /** Counts nothing and renders an empty page. */
  static readonly layerNoop = Layer.succeed(Metrics, noop)
}
