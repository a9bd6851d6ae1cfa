// The daemon's configuration, built from flags in programs/ and constructed directly by tests.
import { Context, Duration, Option, type Redacted } from "effect"
import type { RestartRules } from "../domain/RestartRules.js"

/** The documented restart ladder, for configs built in code (tests spread it as they do `defaultApiTls`). */
export { defaultRestartRules } from "../domain/RestartRules.js"

export type DaemonMode = "single" | "master" | "worker"

/** How the REST API is served (--tls and friends). */
export interface ApiTlsSettings {
  /** auto: HTTPS unless bound to loopback; on: always HTTPS; off: plain HTTP (guarded) */
  readonly mode: "auto" | "on" | "off"
  /** bring-your-own certificate and key (PEM files); both or neither */
  readonly certFile: Option.Option<string>
  readonly keyFile: Option.Option<string>
  /** extra SANs for the self-signed server certificate (--tls-san, repeatable) */
  readonly sans: ReadonlyArray<string>
  /** allow plain HTTP on a non-loopback bind (only with --tls off and an API token) */
  readonly insecureHttp: boolean
}

/** How a worker decides to trust the master's cluster CA before sending its join token. */
export interface ClusterTrust {
  /** --ca-fingerprint sha256:<hex> printed by the master */
  readonly caFingerprint: Option.Option<string>
  /** join without verifying the master (warned loudly) */
  readonly insecureSkipCaVerify: boolean
}

export const defaultApiTls: ApiTlsSettings = {
  mode: "auto",
  certFile: Option.none(),
  keyFile: Option.none(),
  sans: [],
  insecureHttp: false
}

export const defaultClusterTrust: ClusterTrust = { caFingerprint: Option.none(), insecureSkipCaVerify: false }

export interface DaemonConfigShape {
  readonly mode: DaemonMode
  /** REST bind host and port */
  readonly host: string
  readonly port: number
  /** cluster gRPC port (master serves on it) */
  readonly grpcPort: number
  readonly advertiseAddr: Option.Option<string>
  readonly dataDir: string
  /** this node's name (defaults to the hostname) */
  readonly nodeName: string
  readonly apiToken: Option.Option<Redacted.Redacted<string>>
  /** worker: master gRPC address HOST:PORT and the join token */
  readonly join: Option.Option<string>
  readonly joinToken: Option.Option<Redacted.Redacted<string>>
  /** timers, all owned by the master (workers learn the heartbeat interval at registration) */
  readonly heartbeatInterval: Duration.Duration
  readonly monitorInterval: Duration.Duration
  readonly notReadyAfter: Duration.Duration
  readonly deadAfter: Duration.Duration
  /** cap of the worker's reconnect backoff (1 s doubling up to this) */
  readonly reconnectCap: Duration.Duration
  /** most pods one node may run (scheduler filter) */
  readonly maxPods: number
  /** where the Docker engine listens */
  readonly dockerSocket: string
  /** path of the CLI config the daemon seeds on first start */
  readonly cliConfigPath: string
  readonly apiTls: ApiTlsSettings
  readonly clusterTrust: ClusterTrust
  /** backoff, crash loop and reset numbers of this node's pods (tests spread `defaultRestartRules`) */
  readonly restartRules: RestartRules
  /** worker: port of its GET /health and /metrics on `host` (0 = any free one); absent = `defaultWorkerMetricsPort` */
  readonly metricsPort?: number
}

/** Where a worker serves /health and /metrics unless --metrics-port says otherwise. */
export const defaultWorkerMetricsPort = 6445

export class DaemonConfig extends Context.Tag("helyos/DaemonConfig")<DaemonConfig, DaemonConfigShape>() {}

/** The documented defaults for the timers. */
export const defaultTimers = {
  heartbeatInterval: Duration.seconds(5),
  monitorInterval: Duration.seconds(10),
  notReadyAfter: Duration.seconds(30),
  deadAfter: Duration.seconds(60),
  reconnectCap: Duration.seconds(30)
} as const

/** Refuse timer combinations that cannot work; the message is the one line a user reads. */
export const timerProblem = (t: {
  readonly heartbeatInterval: Duration.Duration
  readonly monitorInterval: Duration.Duration
  readonly notReadyAfter: Duration.Duration
  readonly deadAfter: Duration.Duration
}): string | undefined => {
  const ms = (d: Duration.Duration) => Duration.toMillis(d)
  if (ms(t.heartbeatInterval) <= 0) return "--heartbeat-interval must be greater than 0"
  if (ms(t.monitorInterval) <= 0) return "--monitor-interval must be greater than 0"
  if (ms(t.notReadyAfter) <= ms(t.heartbeatInterval)) {
    return "--not-ready-after must be longer than --heartbeat-interval (or every worker flaps NotReady)"
  }
  if (ms(t.deadAfter) <= ms(t.notReadyAfter)) return "--dead-after must be longer than --not-ready-after"
  return undefined
}
