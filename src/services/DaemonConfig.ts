// The daemon's configuration: one documented `defaults` record, built from flags in programs/ and by
// tests through `DaemonConfig.layer(overrides)`, so a test states only what it changes.
import { Context, Duration, Layer, Option, type Redacted } from "effect"
import * as os from "node:os"
import * as path from "node:path"
import { defaultThrottleRules, type ThrottleRules } from "../domain/AuthThrottle.js"
import type { HostPort } from "../domain/dns/Upstreams.js"
import { defaultRestartRules, type RestartRules } from "../domain/RestartRules.js"

export type DaemonMode = "single" | "master" | "worker"

/** --dns-mode: noop (no resolver; pods use Docker's DNS only) or embedded (a resolver on this node). */
export type DnsMode = "noop" | "embedded"

/**
 * The default address of every node's resolver: link-local, the same on every node (as Kubernetes'
 * NodeLocal DNSCache uses), put on an interface of its own when the host lacks it.
 */
export const DEFAULT_DNS_LISTEN: HostPort = { host: "169.254.20.10", port: 53 }

/** --overlay, --cluster-cidr, --wg-port: accepted and checked; they take effect with the overlay network (not yet). */
export interface OverlaySettings {
  readonly enabled: boolean
  /** the pod address pool the overlay will split among the nodes */
  readonly clusterCidr: string
  /** the WireGuard UDP port */
  readonly wgPort: number
}

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
  /** backoff, crash loop and reset numbers of this node's pods */
  readonly restartRules: RestartRules
  /** worker: port of its GET /health and /metrics on `host` (0 = any free one) */
  readonly metricsPort: number
  /** master: how often the reconciler runs when nothing wakes it earlier (changes and node events do) */
  readonly reconcileInterval: Duration.Duration
  /** every node: how often its pods are converged even when no engine event woke the loop */
  readonly resyncInterval: Duration.Duration
  /** SIGTERM-to-SIGKILL grace when a pod's container is removed */
  readonly stopGrace: Duration.Duration
  /** failed authentications per client address before 429 / RESOURCE_EXHAUSTED (REST and gRPC) */
  readonly authThrottle: ThrottleRules
  /** how long the engine may take to answer a ping before it counts as unavailable */
  readonly enginePingTimeout: Duration.Duration
  /**
   * worker: self-fencing. After this long without a word from the master, stop every pod here (the
   * master has probably replaced them); none = keep serving through any disconnection (the default).
   */
  readonly stopAfterDisconnect: Option.Option<Duration.Duration>
  /**
   * Service discovery. embedded: this node runs a resolver answering `<deployment>.<project>.internal`
   * and `<deployment>-<n>.<project>.internal` (a master also publishes the records to its workers),
   * and its pods are pointed at it; noop: neither, pods use Docker's DNS only.
   */
  readonly dnsMode: DnsMode
  /**
   * Where this node's resolver answers, UDP and TCP. Pods are pointed at its address, and Docker
   * forwards to port 53 only, so another port serves the node itself only.
   */
  readonly dnsListen: HostPort
  /** Where names outside `.internal` go, in order; none = the nameservers of /etc/resolv.conf, read at start. */
  readonly dnsUpstreams: Option.Option<ReadonlyArray<HostPort>>
  /** TTL of `.internal` answers: short, so a moved pod is not cached for long. */
  readonly dnsTtl: Duration.Duration
  /** How often the resolver overlays this node's own pods' live state on the master's records. */
  readonly dnsLocalRefresh: Duration.Duration
  /** accepted, not yet in effect (the overlay network is the next step) */
  readonly overlay: OverlaySettings
}

const homeDir = () => os.homedir() || "/var/lib/helyos"

/** The documented defaults: what `helyosd` with no flags runs with (docs §1.26). */
export const defaults: DaemonConfigShape = {
  mode: "single",
  host: "127.0.0.1",
  port: 6443,
  grpcPort: 6444,
  metricsPort: 6445,
  advertiseAddr: Option.none(),
  dataDir: path.join(homeDir(), ".helyos", "data"),
  nodeName: os.hostname(),
  apiToken: Option.none(),
  join: Option.none(),
  joinToken: Option.none(),
  heartbeatInterval: Duration.seconds(5),
  monitorInterval: Duration.seconds(10),
  notReadyAfter: Duration.seconds(30),
  deadAfter: Duration.seconds(60),
  reconnectCap: Duration.seconds(30),
  maxPods: 110,
  dockerSocket: "/var/run/docker.sock",
  cliConfigPath: path.join(homeDir(), ".helyos", "config.toml"),
  apiTls: { mode: "auto", certFile: Option.none(), keyFile: Option.none(), sans: [], insecureHttp: false },
  clusterTrust: { caFingerprint: Option.none(), insecureSkipCaVerify: false },
  restartRules: defaultRestartRules,
  reconcileInterval: Duration.seconds(1),
  resyncInterval: Duration.seconds(5),
  stopGrace: Duration.seconds(5),
  authThrottle: defaultThrottleRules,
  enginePingTimeout: Duration.seconds(5),
  // off, as in Nomad, Swarm and Kubernetes: a master that is down must never take the workloads with it
  stopAfterDisconnect: Option.none(),
  // off by default, as documented (docs §1.12); `--dns-mode embedded` turns it on
  dnsMode: "noop",
  dnsListen: DEFAULT_DNS_LISTEN,
  dnsUpstreams: Option.none(),
  // not the reference's 60 s: a pod that moved or stopped must not stay cached for a minute
  dnsTtl: Duration.seconds(5),
  // a local pod's change is answered within this (the master hears of it only with the next heartbeat)
  dnsLocalRefresh: Duration.millis(200),
  overlay: { enabled: false, clusterCidr: "172.20.0.0/16", wgPort: 51820 }
}

/**
 * Compressed timers for tests that run in real time: the documented ratios (heartbeat : NotReady :
 * dead = 1 : 10 : 20 here, 1 : 6 : 12 by default) at a fraction of a second, so failover takes ~2 s.
 */
export const fastTimers = {
  heartbeatInterval: Duration.millis(100),
  monitorInterval: Duration.millis(100),
  notReadyAfter: Duration.seconds(1),
  deadAfter: Duration.seconds(2),
  reconnectCap: Duration.seconds(1)
} satisfies Partial<DaemonConfigShape>

export class DaemonConfig extends Context.Tag("helyos/DaemonConfig")<DaemonConfig, DaemonConfigShape>() {
  /** `defaults` with `overrides` on top. */
  static readonly make = (overrides: Partial<DaemonConfigShape> = {}): DaemonConfigShape => ({ ...defaults, ...overrides })
  /** The config as a layer: `DaemonConfig.layer({ mode: "master", ...fastTimers })`. */
  static readonly layer = (overrides: Partial<DaemonConfigShape> = {}) => Layer.succeed(DaemonConfig, DaemonConfig.make(overrides))
}

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
