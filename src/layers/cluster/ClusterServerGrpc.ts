// The master's cluster endpoint on grpc-js, served only over TLS with the master's own cluster CA:
// Register (join token -> node id + session; failed joins slowed per address), Connect (one bidi
// stream per worker: pings in, assignments/acks/log requests out) and PushLogs, both by session.
// Protobuf stops here: what goes to the ports is translated by ./grpc/Wire.
import * as grpc from "@grpc/grpc-js"
import { Clock, Duration, Effect, Layer, Option, ParseResult, Redacted, Schema, Stream } from "effect"
import { AuthThrottle } from "../../domain/AuthThrottle.js"
import { ClusterEvent } from "../../domain/ClusterEvent.js"
import { NodeId, NodeName, type NodeRecord, NodeResources } from "../../domain/Node.js"
import {
  type ClusterServer as ClusterHandlers,
  ClusterService,
  type LogChunk,
  type MasterMessage,
  type RegisterReply,
  type RegisterRequest,
  type Resources,
  type WorkerMessage
} from "../../generated/cluster.js"
import { ClusterServer } from "../../services/cluster/ClusterServer.js"
import { ClusterTls } from "../../services/security/ClusterTls.js"
import { keepaliveOptions } from "./grpc/Keepalive.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Events } from "../../services/observability/Events.js"
import { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../services/orchestrator/NodeWorkloads.js"
import { TokenVault } from "../../services/cluster/TokenVault.js"
import { WorkerChannels } from "../../services/cluster/WorkerChannels.js"
import { type GrpcError, grpcError } from "./grpc/GrpcError.js"
import { INVALID_JOIN_TOKEN, JOIN_TOKEN_EXPIRED, throttledJoin } from "./grpc/JoinRefusals.js"
import {
  fromReadable,
  metadataText,
  readEach,
  serve,
  serveBidi,
  serveClientStreaming,
  serveUnary,
  tlsCredentials,
  write
} from "./grpc/Server.js"
import { NODE_ID_HEADER, SESSION_HEADER } from "./grpc/SessionMetadata.js"
import { fromWire, toWire } from "./grpc/Wire.js"

const invalid = (details: string) => grpcError(grpc.status.INVALID_ARGUMENT, details)

const firstProblem = (error: ParseResult.ParseError): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error)[0]?.message ?? "invalid value"

const Amount = Schema.Number.pipe(Schema.finite(), Schema.nonNegative())
const WireResources = Schema.Struct({ cpuCores: Amount, memoryBytes: Amount, cpuAvailable: Amount, memoryAvailable: Amount })

const isAmount = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0

/** Resources from the wire, checked (finite, >= 0); a worker that sends none reports zeros. */
const decodeResources = (wire: Resources | undefined): Effect.Effect<NodeResources, GrpcError> =>
  wire === undefined
    ? Effect.succeed(NodeResources.empty)
    : isAmount(wire.cpuCores) && isAmount(wire.memoryBytes) && isAmount(wire.cpuAvailable) && isAmount(wire.memoryAvailable)
    // the common case, checked by hand: the schema below costs more than the rest of a ping
    ? Effect.succeed(
      new NodeResources({
        cpuCores: wire.cpuCores,
        memoryBytes: wire.memoryBytes,
        cpuAvailable: wire.cpuAvailable,
        memoryAvailable: wire.memoryAvailable
      }, true)
    )
    // something is wrong: the schema says what
    : Schema.decodeUnknown(WireResources)(wire).pipe(
      Effect.map((r) => new NodeResources(r)),
      Effect.mapError((e) => invalid(`invalid resources: ${firstProblem(e)}`))
    )

/** The same resources as last time (a steady worker's usual ping) keep the same object. */
const sameResources = (a: Resources, b: NodeResources) =>
  a.cpuCores === b.cpuCores && a.memoryBytes === b.memoryBytes && a.cpuAvailable === b.cpuAvailable &&
  a.memoryAvailable === b.memoryAvailable

const decodeNodeName = (name: string): Effect.Effect<string, GrpcError> =>
  name.trim() === ""
    ? Effect.fail(invalid("node name is required"))
    : Schema.decodeUnknown(NodeName)(name).pipe(Effect.mapError((e) => invalid(`invalid node name: ${firstProblem(e)}`)))

/** The peer's host as grpc-js reports it ("127.0.0.1:5123", "[::1]:5123", "ipv4:…"), without the port. */
const peerHost = (peer: string): string =>
  peer.replace(/^ipv[46]:/, "").replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1")

export const layer = Layer.scoped(
  ClusterServer,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const tls = yield* ClusterTls
    const tokens = yield* TokenVault
    const registry = yield* NodeRegistry
    const channels = yield* WorkerChannels
    const workloads = yield* NodeWorkloads
    const events = yield* Events
    const heartbeatIntervalMs = Math.max(1, Math.round(Duration.toMillis(config.heartbeatInterval)))

    // failed joins per peer address: guessing slows down there, valid workers elsewhere never notice
    const throttle = new AuthThrottle(config.authThrottle)

    const register = (request: RegisterRequest, peer: string) =>
      Effect.gen(function*() {
        const from = peerHost(peer)
        // the name is not validated yet: quoted and cut short for the log
        const claimed = JSON.stringify(request.nodeName.slice(0, 64))
        yield* Effect.logDebug(`Register from ${from} for node ${claimed}`)
        const now = yield* Clock.currentTimeMillis
        const limit = throttle.check(from, now)
        if (limit.limited) {
          yield* Effect.logWarning(`refused to register node ${claimed} from ${from}: too many failed join attempts`)
          return yield* Effect.fail(throttledJoin(limit.retryAfterMs))
        }
        // checked first (nothing acts without a valid token) and against the current hash: a
        // rotated-out token is refused from the moment of rotation
        const check = yield* tokens.verifyJoinToken(request.joinToken)
        if (check !== "valid") {
          throttle.recordFailure(from, now)
          const detail = check === "expired" ? JOIN_TOKEN_EXPIRED : INVALID_JOIN_TOKEN
          yield* Effect.logWarning(`refused to register node ${claimed} from ${from}: ${detail}`)
          return yield* Effect.fail(grpcError(grpc.status.UNAUTHENTICATED, detail))
        }
        const name = yield* decodeNodeName(request.nodeName)
        const resources = yield* decodeResources(request.resources)
        // a worker must not take over the master's own node record by joining under its name
        const holder = yield* Effect.option(registry.findByName(name))
        if (Option.isSome(holder) && holder.value.role === "Master") {
          yield* Effect.logWarning(`refused to register node '${name}': the name belongs to the master`)
          return yield* Effect.fail(grpcError(grpc.status.ALREADY_EXISTS, `node name '${name}' belongs to the master`))
        }
        // a worker without --advertise-addr is known by the address it connected from
        const address = request.address.trim() !== "" ? request.address.trim() : peerHost(peer)
        if (address.length > 255 || /\s/.test(address)) return yield* Effect.fail(invalid("invalid address"))
        const { node, session } = yield* registry.join({ name, address, role: "Worker", resources })
        yield* events.publish(ClusterEvent.NodeJoined({ nodeId: node.id, name: node.name }))
        yield* Effect.logInfo(`node '${node.name}' joined`).pipe(
          Effect.annotateLogs({ nodeId: node.id, address: node.address })
        )
        return {
          nodeId: node.id,
          sessionSecret: Redacted.value(session),
          heartbeatIntervalMs
        } satisfies RegisterReply
      })

    /** The node a Connect/PushLogs call speaks for, from its metadata (node id + session secret). */
    const authenticate = (metadata: grpc.Metadata): Effect.Effect<NodeRecord, GrpcError> =>
      Effect.gen(function*() {
        const id = metadataText(metadata, NODE_ID_HEADER)
        const session = metadataText(metadata, SESSION_HEADER)
        if (Option.isNone(id) || Option.isNone(session)) {
          return yield* Effect.fail(
            grpcError(grpc.status.UNAUTHENTICATED, `missing ${NODE_ID_HEADER} or ${SESSION_HEADER} metadata`)
          )
        }
        return yield* registry.authenticate(NodeId.make(id.value), session.value).pipe(
          Effect.catchTags({
            NodeNotFound: () => Effect.fail(grpcError(grpc.status.NOT_FOUND, "node removed from the cluster")),
            SessionInvalid: (e) =>
              Effect.fail(grpcError(
                grpc.status.UNAUTHENTICATED,
                e.reason.startsWith("stale session") ? e.reason : `stale session: ${e.reason}`
              ))
          })
        )
      })

    /**
     * One message from a worker. Pings record the heartbeat (in memory) and the pod report, then are
     * acked straight onto the call (no queue, no extra fiber: this runs for every ping of every worker).
     */
    const receive = (
      node: NodeRecord,
      message: WorkerMessage,
      resourcesOf: (wire: Resources | undefined) => Effect.Effect<NodeResources, GrpcError>,
      ack: (seq: number, nowMs: number) => void,
      streamGeneration: number
    ) => {
      const kind = message.kind
      // a message kind from a newer worker decodes as undefined: ignore it rather than drop the stream
      if (kind === undefined) return Effect.void
      if (kind.$case === "dnsResync") return resync(node, kind.value.revision)
      const ping = kind.value
      // Ready again only once the assignment this stream opened with is applied (its stale pods gone)
      const caughtUp = ping.appliedGeneration >= streamGeneration
      return resourcesOf(ping.resources).pipe(
        Effect.flatMap((resources) =>
          // a node removed meanwhile must not keep heartbeating: end its stream
          registry.heartbeat(node.id, resources, caughtUp).pipe(
            Effect.catchTag("NodeNotFound", () => Effect.fail(grpcError(grpc.status.NOT_FOUND, "node removed from the cluster")))
          )
        ),
        Effect.zipRight(workloads.report(node.id, fromWire.podReports(ping.pods), ping.appliedGeneration, fromWire.podEvents(ping.events))),
        Effect.zipRight(Clock.currentTimeMillis),
        Effect.map((now) => ack(ping.seq, now))
      )
    }

    /** A worker's DNS set missed a revision: a full snapshot, on its outbox (after what is queued there). */
    const resync = (node: NodeRecord, held: number) =>
      Effect.gen(function*() {
        const snapshot = yield* workloads.dnsSnapshot
        if (Option.isNone(snapshot)) return
        yield* Effect.logInfo(`node '${node.name}' is at DNS revision ${held} and got a delta that skips revisions: sending revision ${snapshot.value.revision} in full`)
        yield* channels.send(node.id, { _tag: "DnsSnapshot", snapshot: snapshot.value })
      })

    const connect = (call: grpc.ServerDuplexStream<WorkerMessage, MasterMessage>) =>
      Effect.gen(function*() {
        const node = yield* authenticate(call.metadata)
        const outbox = yield* channels.attach(node.id)
        yield* Effect.logInfo(`node '${node.name}' connected`)
        yield* Effect.addFinalizer(() => Effect.logInfo(`node '${node.name}' disconnected`))
        // the first message on every stream: the node's full desired pod set
        const desired = yield* workloads.desired(node.id)
        yield* write<MasterMessage>(call, toWire.masterMessage({ _tag: "Assignment", assignment: desired }))
        // then (--dns-mode embedded) every DNS record; the deltas that follow queue on the outbox,
        // attached above, so none is lost between the snapshot and them
        const dns = yield* workloads.dnsSnapshot
        if (Option.isSome(dns)) yield* write<MasterMessage>(call, toWire.masterMessage({ _tag: "DnsSnapshot", snapshot: dns.value }))

        // Removed is the last thing a stream carries: no ack follows it
        let closing = false
        // grpc-js queues the write behind any message still being flushed, so order is kept; written in
        // its protobuf form at once (no domain message in between: this runs for every ping)
        const ack = (seq: number, serverTimeMs: number) => {
          if (closing || call.writableEnded || call.destroyed) return
          call.write({ kind: { $case: "ack", value: { seq, serverTimeMs } } })
        }
        // a steady worker reports the same resources every time: keep one object for them
        let lastResources: NodeResources | undefined
        const resourcesOf = (wire: Resources | undefined) =>
          wire !== undefined && lastResources !== undefined && sameResources(wire, lastResources)
            ? Effect.succeed(lastResources)
            : Effect.tap(decodeResources(wire), (r) => {
              lastResources = r
            })
        const incoming = readEach<WorkerMessage, GrpcError>(call, (message) => receive(node, message, resourcesOf, ack, desired.generation))
        // an outbox shut down (eviction flushed, or a newer stream of the same node) ends the stream too
        const outgoing = Stream.fromQueue(outbox).pipe(
          Stream.takeUntil((m) => m._tag === "Removed"),
          Stream.runForEach((m) => {
            if (m._tag === "Removed") closing = true
            return write(call, toWire.masterMessage(m))
          })
        )
        // whichever side finishes first ends the call (the worker half-closing, a failed ping, the outbox)
        yield* Effect.raceFirst(incoming, outgoing)
      }).pipe(Effect.scoped)

    const pushLogs = (call: grpc.ServerReadableStream<LogChunk, unknown>) =>
      Effect.gen(function*() {
        const node = yield* authenticate(call.metadata)
        yield* fromReadable<LogChunk>(call).pipe(Stream.runForEach((chunk) => workloads.logChunk(node.id, fromWire.logChunk(chunk))))
        return {}
      })

    const { port } = yield* serve({
      definition: ClusterService,
      host: config.host,
      port: config.grpcPort,
      credentials: tlsCredentials(tls.serverChainPem, Redacted.value(tls.serverKeyPem)),
      // HTTP/2 pings find a connection whose peer vanished (cut link, no FIN) in seconds rather than
      // after TCP's retransmission timeout, so the dead stream is detached and its worker can re-attach
      options: keepaliveOptions(config.heartbeatInterval),
      implementation: (run) =>
        ({
          register: (call, callback) => serveUnary(run, "Register", call, callback, register(call.request, call.getPeer())),
          connect: (call) => serveBidi(run, "Connect", call, connect(call)),
          pushLogs: (call, callback) => serveClientStreaming(run, "PushLogs", call, callback, pushLogs(call))
        }) satisfies ClusterHandlers
    })
    yield* Effect.logInfo(`cluster gRPC listening on ${config.host}:${port} (TLS, cluster CA ${tls.fingerprint})`)
    return ClusterServer.of({ port })
  })
)
