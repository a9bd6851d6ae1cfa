// The worker's side of the cluster protocol on grpc-js: decide to trust the master's CA (WorkerTrust),
// then over TLS pinned to it register with the join token, keep one Connect stream open (pings out;
// assignments, log requests, Removed in), reconnect with backoff. Protobuf is translated by ./grpc/Wire.
import * as grpc from "@grpc/grpc-js"
import * as fs from "node:fs"
import * as path from "node:path"
import { Clock, Duration, Effect, Either, Layer, Option, Queue, Redacted, Ref, Schedule, Stream } from "effect"
import { BACKOFF_BASE, makeReconnectBackoff, type ReconnectBackoff } from "../../domain/Backoff.js"
import { formatDuration } from "../../domain/Duration.js"
import { sameFingerprint } from "../../domain/Fingerprint.js"
import type { LogRequest } from "../../domain/LogRequest.js"
import type { MasterMessage } from "../../domain/MasterMessage.js"
import { NodeId } from "../../domain/Node.js"
import {
  ClusterClient,
  type MasterMessage as WireMasterMessage,
  type RegisterReply,
  type WorkerMessage as WireWorkerMessage
} from "../../generated/cluster.js"
import { DaemonConfig, defaults } from "../../services/DaemonConfig.js"
import { NodeDns } from "../../services/dns/NodeDns.js"
import { HostInfo } from "../../services/workload/HostInfo.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { WorkerAgent, WorkerStopped } from "../../services/cluster/WorkerAgent.js"
import { WorkerMetrics } from "../../services/observability/WorkerMetrics.js"
import { bidi, clientStreaming, unary } from "./grpc/Client.js"
import { type GrpcError, grpcError } from "./grpc/GrpcError.js"
import { INVALID_JOIN_TOKEN, JOIN_TOKEN_EXPIRED, registerRetryDelay } from "./grpc/JoinRefusals.js"
import { CLUSTER_SERVER_NAME, fetchPeerCa, pinnedCaCredentials } from "./grpc/PeerCa.js"
import { keepaliveOptions } from "./grpc/Keepalive.js"
import { sessionMetadata } from "./grpc/SessionMetadata.js"
import { fromWire, toWire } from "./grpc/Wire.js"
import { writeFileAtomic } from "../security/AtomicFile.js"
import { caFingerprint, CLUSTER_CA_FILE } from "../security/ClusterCa.js"
import { resolveClusterCa } from "../security/WorkerTrust.js"

/** How long the check of the master's CA after a failed connection waits for a TLS handshake. */
const CA_CHECK_TIMEOUT = Duration.seconds(5)
/** A Register that gets no answer in this long counts as a transient failure. */
const REGISTER_TIMEOUT = Duration.seconds(10)
/** Silence on the stream for this many heartbeat intervals means the path to the master is dead. */
const SILENT_INTERVALS = 3
const MIN_SILENCE = Duration.seconds(1)

/** Answers to Register that retrying cannot change (the request itself is wrong). */
const REFUSALS: ReadonlySet<grpc.status> = new Set([
  grpc.status.INVALID_ARGUMENT,
  grpc.status.ALREADY_EXISTS,
  grpc.status.PERMISSION_DENIED
])

/** What the master gave us at registration. The secret stays Redacted until it goes into metadata. */
interface Session {
  readonly nodeId: string
  readonly secret: Redacted.Redacted<string>
  readonly heartbeatInterval: Duration.Duration
  /** when the Register that got this session was sent: the master has heard from the node since */
  readonly sentAtMs: number
}

/** How one Connect stream ended, when it did not end the worker. */
type Ending =
  | { readonly _tag: "Dropped"; readonly detail: string }
  | { readonly _tag: "StaleSession"; readonly detail: string }

export const layer = Layer.scoped(
  WorkerAgent,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const host = yield* HostInfo
    const workload = yield* LocalWorkload
    const metrics = yield* WorkerMetrics
    // this node's resolver (--dns-mode embedded): fed the master's records from the stream
    const nodeDns = yield* NodeDns
    if (Option.isNone(config.join)) return yield* Effect.dieMessage("worker mode needs the master's address (--join HOST:PORT)")
    const target = config.join.value
    const nodeName = config.nodeName
    const capMs = Math.max(1, Duration.toMillis(config.reconnectCap))
    // Since when the master has surely heard from this node — the time a Register it answered, or a
    // ping it acked, was sent — and whether this node has fenced itself since. Only that counts: the
    // master declares a node dead by the pings it receives, and a path that drops pings may still
    // carry the master's own messages (assignments) the other way.
    const lastHeard = yield* Ref.make(0)
    const fenced = yield* Ref.make(false)
    // With --stop-after-disconnect that time is kept in the data dir too: a helyosd restarted while cut
    // off must count from when the master last heard from this node, not from its own start (the
    // master's dead-after runs from there). Without the flag nothing reads it, so nothing writes it.
    const heardFile = path.join(config.dataDir, `last-heard-${nodeName}`)
    const previouslyHeard = (): number | undefined => {
      try {
        const ms = Number(fs.readFileSync(heardFile, "utf8").trim())
        return Number.isFinite(ms) && ms > 0 ? ms : undefined
      } catch {
        return undefined
      }
    }
    const keepHeard = (ms: number) =>
      Option.isNone(config.stopAfterDisconnect) ? Effect.void : Effect.try(() => writeFileAtomic(heardFile, String(ms), 0o600)).pipe(
        Effect.catchAll((e) => Effect.logWarning(`could not write ${heardFile}: ${String(e.error)}`))
      )
    const heardAt = (sentAtMs: number) =>
      Effect.gen(function*() {
        const before = yield* Ref.getAndUpdate(lastHeard, (ms) => Math.max(ms, sentAtMs))
        if (sentAtMs > before) yield* keepHeard(sentAtMs)
        if (yield* Ref.getAndSet(fenced, false)) {
          yield* Effect.logInfo(`node '${nodeName}' hears the master again: its pods start as the master assigns them`)
        }
      })

    // said once per process: the master publishes DNS records this node cannot serve
    let warnedDnsOff = false
    const warnDnsOff = (records: number) =>
      Effect.suspend(() => {
        if (warnedDnsOff) return Effect.void
        warnedDnsOff = true
        return Effect.logWarning(
          `the master serves .internal names (${records} record(s)), but node '${nodeName}' runs --dns-mode noop: ` +
            `its pods cannot resolve them; start it with --dns-mode embedded`
        )
      })

    /**
     * --stop-after-disconnect: by that long without the master, this node's pods are stopped (once per
     * disconnection). Stopping starts a stop grace earlier (at the earliest half way), so that with the
     * master's --dead-after as the setting no replica is still running here when its replacement starts.
     */
    const fenceWhenSilent = (after: Duration.Duration) => {
      const afterMs = Duration.toMillis(after)
      const startMs = Math.max(afterMs / 2, afterMs - Duration.toMillis(config.stopGrace))
      const check = Effect.gen(function*() {
        const silentMs = (yield* Clock.currentTimeMillis) - (yield* Ref.get(lastHeard))
        if (silentMs < startMs || (yield* Ref.get(fenced))) return
        yield* Ref.set(fenced, true)
        const stopped = yield* workload.fence
        yield* Effect.logWarning(
          `node '${nodeName}' has not heard from the master for ${formatDuration(Duration.millis(silentMs))}: ` +
            `stopping its ${stopped} pod(s) (--stop-after-disconnect ${formatDuration(after)}); they start again once the master assigns them`
        )
      })
      // checked often: the margin to the master's replacements is only what the check interval leaves
      const every = Duration.millis(Math.max(20, Math.min(afterMs / 40, 250)))
      return Effect.repeat(check, Schedule.spaced(every))
    }

    // A TLS channel verifying the master against exactly `caPem`. grpc-js re-dials a channel after a
    // drop, but a connection that stalled (a cut link: no FIN, no RST) stays "ready" until TCP gives up,
    // minutes later; so every new Connect gets a fresh channel, and keepalive pings close a stalled one.
    // grpc-js's own reconnect backoff (1 s .. 120 s by default) would outlast ours, so it is held to our cap.
    const dial = (caPem: string, heartbeatInterval: Duration.Duration) =>
      new ClusterClient(target, pinnedCaCredentials(caPem), {
        "grpc.initial_reconnect_backoff_ms": Math.min(1_000, capMs),
        "grpc.max_reconnect_backoff_ms": capMs,
        // a connection of our own, not one shared with other clients of this process (tests run several agents)
        "grpc.use_local_subchannel_pool": 1,
        // SNI carries a fixed name: the target is often an IP, which TLS does not allow there
        "grpc.ssl_target_name_override": CLUSTER_SERVER_NAME,
        ...keepaliveOptions(heartbeatInterval)
      })

    const invalidJoinToken = (e: GrpcError) =>
      Effect.gen(function*() {
        const expired = e.details === JOIN_TOKEN_EXPIRED
        const detail = `master refused to register node '${nodeName}': ${expired ? JOIN_TOKEN_EXPIRED : INVALID_JOIN_TOKEN}` +
          (expired ? " (get a new one with 'helyos cluster token rotate')" : "")
        yield* Effect.logError(detail)
        return yield* Effect.fail(new WorkerStopped({ reason: expired ? "JoinTokenExpired" : "InvalidJoinToken", detail }))
      })

    const refused = (e: GrpcError) =>
      Effect.gen(function*() {
        const detail = `master refused to register node '${nodeName}': ${e.details}`
        yield* Effect.logError(detail)
        return yield* Effect.fail(new WorkerStopped({ reason: "Refused", detail }))
      })

    /**
     * Leaving for good: the master has forgotten this node's pods and runs them elsewhere, so they stop
     * here before the worker exits — an empty set above any generation a master hands out, so that
     * nothing starts again — waiting for that within the stop grace and a little more.
     */
    const stopEveryPod = Effect.gen(function*() {
      yield* workload.apply({ generation: Number.MAX_SAFE_INTEGER, pods: [] })
      yield* workload.appliedGeneration.pipe(
        Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (g) => g >= Number.MAX_SAFE_INTEGER }),
        Effect.timeoutFail({ duration: Duration.sum(config.stopGrace, Duration.seconds(5)), onTimeout: () => "timed out" }),
        Effect.catchAll(() => Effect.logWarning(`node '${nodeName}' could not stop all its pods before exiting`))
      )
    })

    const removed = (reason: string) =>
      Effect.gen(function*() {
        const detail = `node '${nodeName}' was removed from the cluster: ${reason}`
        yield* stopEveryPod
        yield* Effect.logWarning(`${detail}; its pods are stopped; exiting`)
        return yield* Effect.fail(new WorkerStopped({ reason: "Removed", detail }))
      })

    /**
     * After a connection failure: does the master now present another cluster CA than the pinned one
     * (reinstalled, data dir wiped)? Then no retry can succeed: stop with one clear line. A bare
     * handshake decides (no error text parsed): a master that is down or unreachable fails it and
     * the caller keeps retrying.
     */
    const ensureSameCa = (caPem: string, e: GrpcError): Effect.Effect<void, WorkerStopped> =>
      e.code !== grpc.status.UNAVAILABLE ? Effect.void : Effect.gen(function*() {
        const presented = yield* fetchPeerCa(target, CA_CHECK_TIMEOUT).pipe(Effect.option)
        if (Option.isNone(presented)) return
        const pinned = caFingerprint(caPem)
        const got = caFingerprint(presented.value)
        if (sameFingerprint(got, pinned)) return
        const file = path.join(config.dataDir, CLUSTER_CA_FILE)
        const detail = `the master at ${target} presents a different cluster CA (${got}) than the one pinned in ${file} ` +
          `(${pinned}); if the master was reinstalled, delete that file and rejoin with --ca-fingerprint`
        yield* Effect.logError(detail)
        return yield* Effect.fail(new WorkerStopped({ reason: "UntrustedMaster", detail }))
      })

    /** Register until the master answers: transient failures are retried with the backoff. */
    const register = (client: ClusterClient, caPem: string, backoff: ReconnectBackoff): Effect.Effect<Session, WorkerStopped> => {
      const attempt = Effect.gen(function*() {
        if (Option.isNone(config.joinToken)) {
          // the flags refuse this already; kept so a hand-built config fails readably
          return yield* Effect.fail(new WorkerStopped({ reason: "InvalidJoinToken", detail: "worker mode needs --token nxa_…" }))
        }
        const token = config.joinToken.value
        const resources = yield* host.resources
        const sentAtMs = yield* Clock.currentTimeMillis
        return yield* unary<RegisterReply>((cb) =>
          client.register({
            joinToken: Redacted.value(token),
            nodeName,
            // empty: the master uses the address we connect from
            address: Option.getOrElse(config.advertiseAddr, () => ""),
            resources: toWire.resources(resources)
          }, cb)
        ).pipe(
          Effect.timeoutFail({
            duration: REGISTER_TIMEOUT,
            onTimeout: () => grpcError(grpc.status.DEADLINE_EXCEEDED, `no answer within ${formatDuration(REGISTER_TIMEOUT)}`)
          }),
          Effect.map((reply): Session => ({
            nodeId: reply.nodeId,
            secret: Redacted.make(reply.sessionSecret),
            heartbeatInterval: reply.heartbeatIntervalMs > 0
              ? Duration.millis(reply.heartbeatIntervalMs)
              : defaults.heartbeatInterval,
            sentAtMs
          })),
          Effect.tap((s) => Effect.logInfo(`node '${nodeName}' registered with the master at ${target} (id ${s.nodeId})`)),
          // which records are this node's own (the resolver overlays their live state and answers them)
          Effect.tap((s) => nodeDns.identify({ id: NodeId.make(s.nodeId), name: nodeName }))
        )
      })
      const loop: Effect.Effect<Session, WorkerStopped> = attempt.pipe(
        Effect.catchTag("GrpcError", (e) =>
          e.code === grpc.status.UNAUTHENTICATED
            ? invalidJoinToken(e)
            : REFUSALS.has(e.code)
            ? refused(e)
            : Effect.gen(function*() {
              yield* ensureSameCa(caPem, e)
              // a throttled join says how long the master will not listen: retrying sooner only extends it
              const delay = registerRetryDelay(e, yield* backoff.nextDelay)
              yield* Effect.logWarning(
                `cannot register node '${nodeName}' with the master at ${target}: ${e.message}; retrying in ${formatDuration(delay)}`
              )
              yield* Effect.sleep(delay)
              return yield* Effect.suspend(() => loop)
            })),
      )
      return loop
    }

    /** Push one pod's logs back on a PushLogs call tagged with the request id; a final chunk says eof (and why). */
    const pushLogs = (client: ClusterClient, metadata: grpc.Metadata, request: LogRequest) => {
      const chunk = (data: Uint8Array, eof: boolean, error: string) =>
        toWire.logChunk({ requestId: request.requestId, data, eof, error })
      const chunks = workload.logs(request).pipe(
        Stream.map((data) => chunk(data, false, "")),
        Stream.concat(Stream.succeed(chunk(new Uint8Array(), true, ""))),
        Stream.catchAll((error) => Stream.succeed(chunk(new Uint8Array(), true, error)))
      )
      return clientStreaming((cb) => client.pushLogs(metadata, cb), chunks).pipe(
        Effect.catchAll((e) => Effect.logWarning(`could not push the logs of pod ${request.podId}: ${e.message}`))
      )
    }

    /** One Connect stream, from open to its end. Fails only when the worker must stop. */
    const connectOnce = (
      client: ClusterClient,
      caPem: string,
      session: Session,
      backoff: ReconnectBackoff
    ): Effect.Effect<Ending, WorkerStopped> =>
      Effect.gen(function*() {
        const metadata = sessionMetadata(session.nodeId, session.secret)

        const seq = yield* Ref.make(0)
        // when each ping not acked yet was sent (an ack also stands for the ones before it)
        const sentAt = new Map<number, number>()
        const ping = Effect.gen(function*() {
          const [n, resources, pods, appliedGeneration] = yield* Effect.all([
            Ref.updateAndGet(seq, (n) => n + 1),
            host.resources,
            workload.statuses,
            workload.appliedGeneration
          ])
          const events = yield* workload.takeEvents
          yield* metrics.countHeartbeat
          sentAt.set(n, yield* Clock.currentTimeMillis)
          return toWire.ping({ seq: n, resources, pods, appliedGeneration, events })
        })
        const acknowledged = (n: number) =>
          Effect.suspend(() => {
            const at = sentAt.get(n)
            for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k)
            return at === undefined ? Effect.void : heardAt(at)
          })
        // the first ping goes out at once, then one every interval; beside them, a request for a DNS snapshot when needed
        const requests = yield* Queue.unbounded<WireWorkerMessage>()
        const pings = Stream.merge(
          Stream.repeatEffectWithSchedule(ping, Schedule.spaced(session.heartbeatInterval)),
          Stream.fromQueue(requests)
        )
        // one request per gap: the snapshot answers it (several deltas in flight may all miss)
        let resyncAsked = false
        const dnsDelta = (delta: Extract<MasterMessage, { _tag: "DnsDelta" }>["delta"]) =>
          nodeDns.applyDelta(delta).pipe(
            Effect.catchTag("DnsRevisionGap", (gap) =>
              resyncAsked ? Effect.void : Effect.gen(function*() {
                resyncAsked = true
                yield* Effect.logWarning(`${gap.message}; asking the master for one`)
                yield* Queue.offer(requests, toWire.dnsResync(gap.current))
              }))
          )

        const acked = yield* Ref.make(false)
        const receive = (message: WireMasterMessage) => handle(fromWire.masterMessage(message))
        // undefined: a message kind from a newer master, ignored
        const handle = (message: MasterMessage | undefined) => {
          if (message === undefined) return Effect.void
          switch (message._tag) {
            case "Ack":
              // the first ack proves the connection healthy: the next drop backs off from 1 s again
              return Effect.zipRight(acknowledged(message.seq), Effect.flatMap(Ref.getAndSet(acked, true), (before) =>
                before
                  ? Effect.void
                  : backoff.reset.pipe(
                    Effect.zipRight(metrics.setConnected(true)),
                    Effect.zipRight(Effect.logInfo(`node '${nodeName}' connected to the master at ${target}`))
                  )))
            case "Assignment":
              return workload.apply(message.assignment)
            case "LogRequest":
              return Effect.asVoid(Effect.forkScoped(pushLogs(client, metadata, message.request)))
            case "Removed":
              return removed(message.reason)
            case "DnsSnapshot":
              resyncAsked = false
              if (nodeDns.mode === "noop") return warnDnsOff(message.snapshot.records.length)
              return nodeDns.replace(message.snapshot)
            case "DnsDelta":
              return nodeDns.mode === "noop" ? Effect.void : dnsDelta(message.delta)
          }
        }

        const silence = Duration.max(Duration.times(session.heartbeatInterval, SILENT_INTERVALS), MIN_SILENCE)
        const outcome = yield* bidi(() => client.connect(metadata), pings).pipe(
          Stream.timeoutFail(
            () => grpcError(grpc.status.DEADLINE_EXCEEDED, `no message from the master for ${formatDuration(silence)}`),
            silence
          ),
          Stream.runForEach(receive),
          Effect.scoped, // log pushes of this connection end with it
          Effect.either,
          Effect.ensuring(metrics.setConnected(false))
        )
        if (Either.isRight(outcome)) return { _tag: "Dropped", detail: "the master ended the stream" } satisfies Ending
        const error: GrpcError | WorkerStopped = outcome.left
        if (error._tag === "WorkerStopped") return yield* Effect.fail(error)
        switch (error.code) {
          case grpc.status.NOT_FOUND:
            // removed while we were away (or mid-stream, before the Removed message reached us)
            return yield* removed("the master no longer knows this node")
          case grpc.status.UNAUTHENTICATED:
            return { _tag: "StaleSession", detail: error.details } satisfies Ending
          default:
            yield* ensureSameCa(caPem, error)
            return { _tag: "Dropped", detail: error.message } satisfies Ending
        }
      })

    const run: Effect.Effect<never, WorkerStopped> = Effect.gen(function*() {
      // armed from the start, not from the first registration: a helyosd restarted while the master is
      // out of reach may find the pods of its previous run still running, and must stop them in time too,
      // counting from when the master last heard from the previous run
      const startedAtMs = yield* Clock.currentTimeMillis
      yield* Ref.set(lastHeard, Math.min(startedAtMs, previouslyHeard() ?? startedAtMs))
      if (Option.isSome(config.stopAfterDisconnect)) yield* Effect.forkScoped(fenceWhenSilent(config.stopAfterDisconnect.value))
      const backoff = yield* makeReconnectBackoff(config.reconnectCap)
      // trust first: the join token only ever travels to a master verified against this CA
      const caPem = yield* resolveClusterCa({ target, dataDir: config.dataDir, trust: config.clusterTrust, backoff })
      yield* backoff.reset
      // the channel in use; the scope closes whichever is current when the agent stops
      let client = dial(caPem, defaults.heartbeatInterval)
      yield* Effect.addFinalizer(() => Effect.sync(() => client.close()))
      const redial = (heartbeatInterval: Duration.Duration) =>
        Effect.sync(() => {
          client.close()
          client = dial(caPem, heartbeatInterval)
        })
      let session = yield* register(client, caPem, backoff)
      yield* heardAt(session.sentAtMs)
      // Once joined, a lost path is retried at least every two heartbeats (and never slower than
      // --reconnect-max): after a partition heals the worker is back within about two intervals,
      // however long the partition lasted. Jitter still spreads a master restart's reconnects.
      const reconnect = yield* makeReconnectBackoff(
        Duration.min(config.reconnectCap, Duration.max(Duration.times(session.heartbeatInterval, 2), BACKOFF_BASE))
      )
      while (true) {
        yield* redial(session.heartbeatInterval)
        const ending = yield* connectOnce(client, caPem, session, reconnect)
        yield* metrics.countReconnect
        const delay = yield* reconnect.nextDelay
        if (ending._tag === "StaleSession") {
          // e.g. the master lost its state, or this name re-registered elsewhere: join again
          yield* Effect.logWarning(
            `master refused the session of node '${nodeName}' (${ending.detail}); registering again in ${formatDuration(delay)}`
          )
          yield* Effect.sleep(delay)
          session = yield* register(client, caPem, backoff)
          yield* heardAt(session.sentAtMs)
        } else {
          yield* Effect.logWarning(
            `node '${nodeName}' lost its connection to the master at ${target}: ${ending.detail}; reconnecting in ${formatDuration(delay)}`
          )
          yield* Effect.sleep(delay)
        }
      }
    }).pipe(Effect.scoped) // the channel closes when the agent stops

    return WorkerAgent.of({ run })
  })
)
