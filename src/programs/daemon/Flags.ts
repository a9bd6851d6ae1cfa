// helyosd's flags (@effect/cli) and how they become a DaemonConfig. Bad combinations are refused here.
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as Options from "@effect/cli/Options"
import * as ValidationError from "@effect/cli/ValidationError"
import { Config, Duration, Effect, Either, Option, Redacted } from "effect"
import { isIP } from "node:net"
import * as path from "node:path"
import { formatHostPort, type HostPort, parseHostPort, parseUpstream } from "../../domain/dns/Upstreams.js"
import { apiTlsProblem } from "../../domain/ApiTlsPolicy.js"
import { formatDuration, parseDuration } from "../../domain/Duration.js"
import { normalizeFingerprint } from "../../domain/Fingerprint.js"
import { joinTokenProblem, apiTokenProblem } from "../../domain/Tokens.js"
import { type DaemonConfigShape, defaults, type OverlaySettings, timerProblem } from "../../services/DaemonConfig.js"

const duration = (name: string, fallback: Duration.Duration, description: string) =>
  Options.text(name).pipe(
    Options.withDescription(`${description} (e.g. 500ms, 5s, 1m)`),
    defaultTo(formatDuration(fallback)),
    Options.mapEffect((text) =>
      Either.match(parseDuration(text), {
        onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--${name}: ${problem}`))),
        onRight: Effect.succeed
      })
    )
  )

/** A default that `--help` shows too. */
const defaultTo = <A, B extends A>(value: B, shown: string = String(value)) => (self: Options.Options<A>): Options.Options<A> =>
  self.pipe(Options.withDescription(`default: ${shown}`), Options.withDefault(value as A))

export const daemonFlags = {
  mode: Options.choice("mode", ["single", "master", "worker"]).pipe(
    Options.withDescription("single: one host; master: also serves the cluster (gRPC); worker: joins a master"),
    defaultTo("single" as const)
  ),
  host: Options.text("host").pipe(
    Options.withDescription("REST API (and master gRPC; worker: /health and /metrics) bind address"),
    defaultTo(defaults.host)
  ),
  port: Options.integer("port").pipe(Options.withDescription("REST API port"), defaultTo(defaults.port)),
  grpcPort: Options.integer("grpc-port").pipe(Options.withDescription("cluster gRPC port (master)"), defaultTo(defaults.grpcPort)),
  metricsPort: Options.integer("metrics-port").pipe(
    Options.withDescription(
      "worker: port of GET /health and /metrics (plain HTTP on --host; public routes only, so a non-loopback bind is fine; 0 = any free port, logged)"
    ),
    defaultTo(defaults.metricsPort)
  ),
  advertiseAddr: Options.text("advertise-addr").pipe(
    Options.withDescription("address workers and clients should dial (printed in the join command)"),
    Options.optional
  ),
  dataDir: Options.text("data-dir").pipe(
    Options.withDescription("where helyos.db lives"),
    defaultTo(defaults.dataDir, "~/.helyos/data")
  ),
  nodeName: Options.text("node-name").pipe(
    Options.withDescription("this node's name; lets several workers share a machine"),
    defaultTo(defaults.nodeName, "the hostname")
  ),
  apiToken: Options.redacted("api-token").pipe(
    Options.withDescription("REST bearer token nxa-api_… (env HELYOS_API_TOKEN); generated on first start if absent"),
    Options.withFallbackConfig(Config.redacted("HELYOS_API_TOKEN")),
    Options.optional
  ),
  join: Options.text("join").pipe(Options.withDescription("worker: the master's gRPC address HOST:PORT"), Options.optional),
  token: Options.redacted("token").pipe(
    Options.withDescription("worker: the join token nxa_… (env HELYOS_JOIN_TOKEN; or --token-file, which keeps it out of ps)"),
    Options.withFallbackConfig(Config.redacted("HELYOS_JOIN_TOKEN")),
    Options.optional
  ),
  tokenFile: Options.fileText("token-file").pipe(
    Options.withDescription("worker: read the join token from this file (mode 0600; surrounding white space is ignored)"),
    Options.optional
  ),
  apiTokenFile: Options.fileText("api-token-file").pipe(
    Options.withDescription("read the REST bearer token from this file instead of --api-token (keeps it out of ps)"),
    Options.optional
  ),
  heartbeatInterval: duration("heartbeat-interval", defaults.heartbeatInterval, "master: how often workers heartbeat"),
  monitorInterval: duration("monitor-interval", defaults.monitorInterval, "master: how often silent workers are checked"),
  notReadyAfter: duration("not-ready-after", defaults.notReadyAfter, "master: silence after which a worker is NotReady"),
  deadAfter: duration("dead-after", defaults.deadAfter, "master: silence after which a worker is dead and its pods move"),
  reconnectMax: duration("reconnect-max", defaults.reconnectCap, "worker: cap of the reconnect backoff (1s doubling)"),
  stopAfterDisconnect: Options.text("stop-after-disconnect").pipe(
    Options.withDescription(
      "worker: stop this node's pods after this long without the master (e.g. 60s, the master's --dead-after: no replica then runs twice during a partition, but a master outage stops them too); default: keep serving"
    ),
    Options.optional,
    Options.mapEffect(Option.match({
      onNone: () => Effect.succeed(Option.none<Duration.Duration>()),
      onSome: (text) =>
        Either.match(parseDuration(text), {
          onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--stop-after-disconnect: ${problem}`))),
          onRight: (d) => Effect.succeed(Option.some(d))
        })
    }))
  ),
  maxPods: Options.integer("max-pods").pipe(Options.withDescription("most pods per node"), defaultTo(defaults.maxPods)),
  logLevel: Options.choice("log-level", ["trace", "debug", "info", "warn", "warning", "error"]).pipe(
    Options.withDescription("least severe level that is logged"),
    defaultTo("info" as const)
  ),
  dockerSocket: Options.text("docker-socket").pipe(
    Options.withDescription("the Docker engine socket"),
    defaultTo(defaults.dockerSocket)
  ),
  tls: Options.choice("tls", ["auto", "on", "off"]).pipe(
    Options.withDescription("REST API TLS: auto = HTTPS unless bound to loopback; on; off"),
    defaultTo("auto" as const)
  ),
  tlsCert: Options.text("tls-cert").pipe(
    Options.withDescription("PEM certificate to serve instead of the self-signed one (needs --tls-key)"),
    Options.optional
  ),
  tlsKey: Options.text("tls-key").pipe(Options.withDescription("PEM private key of --tls-cert"), Options.optional),
  tlsSan: Options.text("tls-san").pipe(
    Options.withDescription("extra DNS name or IP for the self-signed certificate (repeatable)"),
    Options.repeated
  ),
  insecureHttp: Options.boolean("insecure-http").pipe(
    Options.withDescription("allow plain HTTP on a non-loopback address (only with --tls off and an API token)")
  ),
  caFingerprint: Options.text("ca-fingerprint").pipe(
    Options.withDescription("worker: the master's cluster CA fingerprint sha256:<hex> (printed in the join command)"),
    Options.optional
  ),
  insecureSkipCaVerify: Options.boolean("insecure-skip-ca-verify").pipe(
    Options.withDescription("worker: join without verifying the master's certificate (unsafe)")
  ),
  // the restart ladder of this node's pods (documented numbers; tests shrink them)
  restartBackoffBase: duration("restart-backoff-base", defaults.restartRules.backoffBase, "delay before a pod's first restart; doubles each restart"),
  restartBackoffMax: duration("restart-backoff-max", defaults.restartRules.backoffCap, "longest delay between two restarts of a pod"),
  crashloopAfter: Options.integer("crashloop-after").pipe(
    Options.withDescription("restarts without recovery after which a pod is CrashLoopBackoff"),
    defaultTo(defaults.restartRules.crashLoopAfter)
  ),
  healthyResetAfter: duration("healthy-reset-after", defaults.restartRules.resetAfter, "continuous health after which a pod's restart counter resets"),
  // service discovery (docs §1.12): every node that runs pods runs its own resolver
  dnsMode: Options.choice("dns-mode", ["noop", "embedded"]).pipe(
    Options.withDescription(
      "service discovery. embedded: a resolver on this node answers <deployment>.<project>.internal and <deployment>-<n>.<project>.internal " +
        "(other names go upstream) and this node's pods are pointed at it; a master also pushes the records to its workers, so give it to " +
        "every node. noop: no resolver, pods use Docker's DNS only"
    ),
    defaultTo("noop" as const)
  ),
  dnsListen: Options.text("dns-listen").pipe(
    Options.withDescription(
      "embedded: the resolver's IP:PORT, UDP and TCP. The default is a link-local address, the same on every node (as Kubernetes' " +
        "NodeLocal DNSCache uses): when this host lacks it, helyosd adds it on an interface 'helyos-dns' of its own (needs root) and " +
        "removes it on exit. Pods are pointed at this IP, and Docker forwards their lookups to port 53 only"
    ),
    defaultTo(formatHostPort(defaults.dnsListen))
  ),
  dnsUpstream: Options.text("dns-upstream").pipe(
    Options.withDescription(
      "embedded: where names outside .internal go, IP[:PORT], tried in order (repeatable); default: the nameservers of this host's " +
        "/etc/resolv.conf (a loopback one such as 127.0.0.53 is fine: the resolver asks from the host, not from a pod)"
    ),
    Options.repeated
  ),
  dnsTtl: duration("dns-ttl", defaults.dnsTtl, "embedded: TTL of .internal answers (whole seconds)"),
  masterIp: Options.text("master-ip").pipe(
    Options.withDescription(
      "accepted as the reference documents it. Here every node runs its own resolver (pods are pointed at --dns-listen), so on a " +
        "master this is only the address to advertise when --advertise-addr is absent; elsewhere it is ignored"
    ),
    Options.optional
  ),
  overlay: Options.boolean("overlay").pipe(
    Options.withDescription("the WireGuard overlay between the nodes' pods: takes effect with the overlay (not yet); accepted so the documented commands start")
  ),
  clusterCidr: Options.text("cluster-cidr").pipe(
    Options.withDescription("the overlay's pod address pool: takes effect with the overlay (not yet)"),
    defaultTo(defaults.overlay.clusterCidr)
  ),
  wgPort: Options.integer("wg-port").pipe(
    Options.withDescription("the overlay's WireGuard UDP port: takes effect with the overlay (not yet)"),
    defaultTo(defaults.overlay.wgPort)
  )
} as const

type OptionValue<O> = O extends Options.Options<infer A> ? A : never

export type DaemonFlags = {
  readonly [K in keyof typeof daemonFlags]: OptionValue<(typeof daemonFlags)[K]>
}

/** A secret from its flag or from its file flag (never both); a file's content is trimmed. */
const secretFrom = (
  value: Option.Option<Redacted.Redacted<string>>,
  file: Option.Option<readonly [path: string, content: string]>,
  names: readonly [flag: string, fileFlag: string]
): Either.Either<Option.Option<Redacted.Redacted<string>>, string> => {
  if (Option.isNone(file)) return Either.right(value)
  if (Option.isSome(value)) return Either.left(`${names[0]} and ${names[1]} both give the token: keep one`)
  const text = file.value[1].trim()
  if (text === "") return Either.left(`${names[1]} ${file.value[0]} is empty`)
  return Either.right(Option.some(Redacted.make(text)))
}

const isIpv4Cidr = (text: string): boolean => {
  const match = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(text)
  return match !== null && isIP(match[1]!) === 4 && Number(match[2]) <= 32
}

/** The DNS flags, checked: --dns-listen one address (pods are pointed at it), upstreams as IPs, a TTL in whole seconds. */
const dnsSettings = (flags: DaemonFlags): Either.Either<Pick<DaemonConfigShape, "dnsListen" | "dnsUpstreams" | "dnsTtl">, string> => {
  const listen = parseHostPort(flags.dnsListen)
  if (Either.isLeft(listen)) return Either.left(`--dns-listen: ${listen.left}`)
  if (listen.right.host === "0.0.0.0" || listen.right.host === "::") {
    return Either.left("--dns-listen must be one address, not 0.0.0.0 or ::, because pods are pointed at it (the default 169.254.20.10:53 works on every node)")
  }
  const upstreams: Array<HostPort> = []
  for (const text of flags.dnsUpstream) {
    const upstream = parseUpstream(text)
    if (Either.isLeft(upstream)) return Either.left(`--dns-upstream: ${upstream.left}`)
    upstreams.push(upstream.right)
  }
  const ttlMs = Duration.toMillis(flags.dnsTtl)
  if (ttlMs % 1000 !== 0 || ttlMs > 86_400_000) return Either.left("--dns-ttl must be whole seconds, at most 1d (DNS carries seconds)")
  return Either.right({
    dnsListen: listen.right,
    dnsUpstreams: upstreams.length === 0 ? Option.none() : Option.some(upstreams),
    dnsTtl: flags.dnsTtl
  })
}

/** --overlay and its flags: checked now, in effect with the overlay network (not yet). */
const overlaySettings = (flags: DaemonFlags): Either.Either<OverlaySettings, string> => {
  if (!isIpv4Cidr(flags.clusterCidr)) return Either.left(`--cluster-cidr must be an IPv4 CIDR such as 172.20.0.0/16, got '${flags.clusterCidr}'`)
  if (flags.wgPort < 1 || flags.wgPort > 65535) return Either.left(`--wg-port must be between 1 and 65535, got ${flags.wgPort}`)
  return Either.right({ enabled: flags.overlay, clusterCidr: flags.clusterCidr, wgPort: flags.wgPort })
}

/** Turn parsed flags into a config, or the one line that says what is wrong. */
export const toDaemonConfig = (parsed: DaemonFlags): Either.Either<DaemonConfigShape, string> => {
  const token = secretFrom(parsed.token, parsed.tokenFile, ["--token (or HELYOS_JOIN_TOKEN)", "--token-file"])
  if (Either.isLeft(token)) return Either.left(token.left)
  const apiToken = secretFrom(parsed.apiToken, parsed.apiTokenFile, ["--api-token (or HELYOS_API_TOKEN)", "--api-token-file"])
  if (Either.isLeft(apiToken)) return Either.left(apiToken.left)
  const flags = { ...parsed, token: token.right, apiToken: apiToken.right }
  const timers = {
    heartbeatInterval: flags.heartbeatInterval,
    monitorInterval: flags.monitorInterval,
    notReadyAfter: flags.notReadyAfter,
    deadAfter: flags.deadAfter
  }
  const problem = timerProblem(timers)
  if (problem !== undefined) return Either.left(problem)
  if (flags.mode === "worker") {
    if (Option.isNone(flags.join)) return Either.left("worker mode needs --join HOST:PORT (the master's gRPC address)")
    if (Option.isNone(flags.token)) return Either.left("worker mode needs the join token the master printed: --token nxa_…, --token-file FILE or HELYOS_JOIN_TOKEN")
    if (!/^[^:\s]+:\d{1,5}$/.test(flags.join.value)) return Either.left(`--join must be HOST:PORT, got '${flags.join.value}'`)
    const tokenProblem = joinTokenProblem(Redacted.value(flags.token.value))
    if (tokenProblem !== undefined) return Either.left(`--token: ${tokenProblem}`)
  }
  // how a worker trusts the master's cluster CA (the absence of both is decided at start: a saved grpc-ca.pem may do)
  if (Option.isSome(flags.caFingerprint)) {
    if (flags.mode !== "worker") return Either.left("--ca-fingerprint is a worker flag (a master prints its own fingerprint)")
    if (normalizeFingerprint(flags.caFingerprint.value) === undefined) {
      return Either.left(`--ca-fingerprint must be sha256:<64 hex digits> as the master printed it, got '${flags.caFingerprint.value}'`)
    }
    if (flags.insecureSkipCaVerify) {
      return Either.left("--ca-fingerprint and --insecure-skip-ca-verify contradict each other: keep --ca-fingerprint")
    }
  }
  if (flags.insecureSkipCaVerify && flags.mode !== "worker") return Either.left("--insecure-skip-ca-verify is a worker flag")
  if (Option.isSome(flags.apiToken)) {
    const apiProblem = apiTokenProblem(Redacted.value(flags.apiToken.value))
    if (apiProblem !== undefined) return Either.left(`--api-token: ${apiProblem}`)
  }
  for (const [name, port] of [["--port", flags.port], ["--grpc-port", flags.grpcPort], ["--metrics-port", flags.metricsPort]] as const) {
    if (port < 0 || port > 65535) return Either.left(`${name} must be between 0 and 65535, got ${port}`)
  }
  if (Option.exists(flags.stopAfterDisconnect, (d) => Duration.toMillis(d) <= 0)) {
    return Either.left("--stop-after-disconnect must be greater than 0 (leave it out to keep serving)")
  }
  if (flags.maxPods < 1) return Either.left(`--max-pods must be at least 1, got ${flags.maxPods}`)
  if (Duration.toMillis(flags.restartBackoffBase) <= 0) return Either.left("--restart-backoff-base must be greater than 0")
  if (Duration.lessThan(flags.restartBackoffMax, flags.restartBackoffBase)) {
    return Either.left("--restart-backoff-max must be at least --restart-backoff-base")
  }
  if (flags.crashloopAfter < 1) return Either.left(`--crashloop-after must be at least 1, got ${flags.crashloopAfter}`)
  if (Duration.toMillis(flags.healthyResetAfter) <= 0) return Either.left("--healthy-reset-after must be greater than 0")
  const dns = dnsSettings(flags)
  if (Either.isLeft(dns)) return Either.left(dns.left)
  const overlay = overlaySettings(flags)
  if (Either.isLeft(overlay)) return Either.left(overlay.left)
  if (Option.isSome(flags.masterIp) && isIP(flags.masterIp.value) === 0) {
    return Either.left(`--master-ip must be an IP address, got '${flags.masterIp.value}'`)
  }
  // --master-ip: on a master, the address to advertise when --advertise-addr is absent (and nothing else)
  const advertiseAddr = Option.isSome(flags.advertiseAddr) || flags.mode !== "master" ? flags.advertiseAddr : flags.masterIp
  // a worker serves no API, so the REST TLS flags and guardrails concern single and master only
  if (flags.mode !== "worker") {
    const tlsProblem = apiTlsProblem({
      mode: flags.tls,
      host: flags.host,
      hasCertFile: Option.isSome(flags.tlsCert),
      hasKeyFile: Option.isSome(flags.tlsKey),
      sans: flags.tlsSan,
      insecureHttp: flags.insecureHttp,
      apiTokenConfigured: Option.isSome(flags.apiToken)
    })
    if (tlsProblem !== undefined) return Either.left(tlsProblem)
  }
  return Either.right({
    ...defaults,
    mode: flags.mode,
    host: flags.host,
    port: flags.port,
    grpcPort: flags.grpcPort,
    metricsPort: flags.metricsPort,
    advertiseAddr,
    dataDir: path.resolve(flags.dataDir),
    nodeName: flags.nodeName,
    apiToken: flags.apiToken,
    join: flags.join,
    joinToken: flags.token,
    ...timers,
    reconnectCap: Duration.max(flags.reconnectMax, Duration.seconds(1)),
    maxPods: flags.maxPods,
    stopAfterDisconnect: flags.stopAfterDisconnect,
    dockerSocket: flags.dockerSocket,
    cliConfigPath: process.env.HELYOS_CONFIG || defaults.cliConfigPath,
    apiTls: {
      mode: flags.tls,
      certFile: flags.tlsCert,
      keyFile: flags.tlsKey,
      sans: flags.tlsSan,
      insecureHttp: flags.insecureHttp
    },
    clusterTrust: { caFingerprint: flags.caFingerprint, insecureSkipCaVerify: flags.insecureSkipCaVerify },
    restartRules: {
      backoffBase: flags.restartBackoffBase,
      backoffCap: flags.restartBackoffMax,
      crashLoopAfter: flags.crashloopAfter,
      resetAfter: flags.healthyResetAfter
    },
    dnsMode: flags.dnsMode,
    ...dns.right,
    overlay: overlay.right
  })
}
