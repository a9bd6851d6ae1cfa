// What a worker daemon counts about itself (its own pods and its master connection), served as
// Prometheus text on the worker's GET /metrics. A master counts pod events through its event log instead.
import { Context, Effect, Layer } from "effect"
import type { PodReport } from "../../domain/PodReport.js"
import type { DnsStats } from "../dns/DnsResolver.js"

export interface WorkerMetricsShape {
  /** One of this node's pod events (started | died | OOMKilled | restarted | ...), as the ping carries it. */
  readonly countPodEvent: (action: string) => Effect.Effect<void>
  /** The Connect stream to the master is up (first ack received) or down. */
  readonly setConnected: (connected: boolean) => Effect.Effect<void>
  /** One heartbeat (ping) sent to the master. */
  readonly countHeartbeat: Effect.Effect<void>
  /** One reconnect attempt after the stream to the master ended. */
  readonly countReconnect: Effect.Effect<void>
  /**
   * Everything, as Prometheus text format 0.0.4, with the pod gauge taken from `pods` and the DNS
   * series from this node's resolver (absent with --dns-mode noop).
   */
  readonly render: (
    pods: ReadonlyArray<PodReport>,
    dns?: { readonly stats: DnsStats; readonly records: number }
  ) => Effect.Effect<string>
}

const noop: WorkerMetricsShape = {
  countPodEvent: () => Effect.void,
  setConnected: () => Effect.void,
  countHeartbeat: Effect.void,
  countReconnect: Effect.void,
  render: () => Effect.succeed("")
}

/** A Reference (no-op by default): the agent and the pod runtime observe without requiring it. */
export class WorkerMetrics extends Context.Reference<WorkerMetrics>()("helyos/WorkerMetrics", {
  defaultValue: (): WorkerMetricsShape => noop
}) {
  static readonly layerNoop = Layer.succeed(WorkerMetrics, noop)
}
