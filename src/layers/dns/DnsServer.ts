// The node-local resolver on the network: UDP (node:dgram) and TCP (node:net, 2-byte length framing,
// several queries per connection, answered as they complete, closed after an idle period) on one
// listen address and port. Every datagram and frame goes through DnsHandler (which never throws);
// every socket error is caught, so a bad packet costs at most an answer, never the process. The
// layer is scoped: closing its scope interrupts the forwards and connections and closes both sockets.
import * as dgram from "node:dgram"
import * as net from "node:net"
import * as os from "node:os"
import { Duration, Effect, Either, FiberSet, Layer, Option, Queue, Schedule, type Scope } from "effect"
import { type Reachability, nodeAddresses } from "../../domain/dns/Answer.js"
import { DnsListenError } from "../../domain/dns/DnsErrors.js"
import type { DnsSnapshot } from "../../domain/dns/Records.js"
import { formatHostPort, type HostPort } from "../../domain/dns/Upstreams.js"
import * as Wire from "../../domain/dns/Wire.js"
import type { NodeId } from "../../domain/Node.js"
import { DnsResolver, type DnsResolverShape } from "../../services/dns/DnsResolver.js"
import * as DnsForwarder from "./DnsForwarder.js"
import * as DnsHandler from "./DnsHandler.js"

export interface DnsServerOptions {
  /** where to answer, UDP and TCP on the same port (port 0: any free port, see `endpoint`) */
  readonly listen: HostPort
  /** where other names go, tried in order (see ResolvConf.upstreams for the host's own) */
  readonly upstreams: ReadonlyArray<HostPort>
  /** answer TTL (default 5 s) */
  readonly ttl?: Duration.DurationInput | undefined
  /** the node itself (sees every project); default: loopback and this host's interface addresses */
  readonly isNodeAddress?: ((address: string) => boolean) | undefined
  /** which pods' addresses may be answered here; default all (without an overlay: `reachableOnNode(self)`) */
  readonly reachable?: Reachability | undefined
  /** this node's id: only its pods identify an asker; default any pod (a function: read per query, for an id learnt later) */
  readonly localNode?: NodeId | (() => NodeId | undefined) | undefined
  /** a forward's whole time budget (default 2 s) */
  readonly forwardTimeout?: Duration.DurationInput | undefined
  /** forwards at once (default 256); past that SERVFAIL at once */
  readonly maxInFlightForwards?: number | undefined
  /** a TCP connection with nothing asked and nothing pending is closed after this (default 10 s) */
  readonly tcpIdleTimeout?: Duration.DurationInput | undefined
  /** TCP connections at once (default 256); more are closed as they arrive */
  readonly maxTcpConnections?: number | undefined
  /** the record set to start with (default empty, revision 0) */
  readonly initial?: DnsSnapshot | undefined
  /** replaces the upstream sockets (tests) */
  readonly exchange?: DnsForwarder.UpstreamExchange | undefined
}

export const DEFAULT_TCP_IDLE_TIMEOUT: Duration.DurationInput = "10 seconds"
export const DEFAULT_MAX_TCP_CONNECTIONS = 256
/** queries read from one connection and not yet answered; past that the client is not reading: close */
const MAX_QUEUED_FRAMES = 128
/** forwards at once from one connection */
const MAX_PIPELINED_FORWARDS = 16
/** answers written and not yet taken by the client */
const MAX_WRITE_BACKLOG = 1 << 20
const UDP_RECEIVE_BUFFER = 1 << 20
const INTERFACE_REFRESH = "30 seconds"

const isWildcard = (host: string) => host === "0.0.0.0" || host === "::"
const familyOf = (host: string): "udp4" | "udp6" => (net.isIPv6(host.includes("%") ? host.slice(0, host.indexOf("%")) : host) ? "udp6" : "udp4")

const interfaceAddresses = (): ReadonlyArray<string> =>
  Object.values(os.networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address))

/** An upstream that is this very resolver would forward to itself forever: leave it out. */
const isSelf = (upstream: HostPort, listen: HostPort, isNode: (address: string) => boolean) =>
  listen.port !== 0 &&
  upstream.port === listen.port &&
  (upstream.host === listen.host || (isWildcard(listen.host) && isNode(upstream.host)))

const listenError = (listen: HostPort, error: unknown) =>
  new DnsListenError({ address: formatHostPort(listen), reason: error instanceof Error ? error.message : String(error) })

const openUdp = (host: string, port: number, onMessage: (socket: dgram.Socket, message: Buffer, from: dgram.RemoteInfo) => void) =>
  Effect.async<dgram.Socket, DnsListenError>((resume) => {
    const socket = dgram.createSocket({ type: familyOf(host) })
    const failed = (error: Error) => {
      try {
        socket.close()
      } catch {
        // never bound
      }
      resume(Effect.fail(listenError({ host, port }, error)))
    }
    socket.once("error", failed)
    socket.on("message", (message, from) => onMessage(socket, message, from))
    socket.bind({ port, address: host, exclusive: true }, () => {
      socket.off("error", failed)
      // send failures are reported to each send's callback; nothing else is actionable
      socket.on("error", () => undefined)
      try {
        socket.setRecvBufferSize(UDP_RECEIVE_BUFFER)
      } catch {
        // capped by net.core.rmem_max: the default will do
      }
      resume(Effect.succeed(socket))
    })
  })

const closeUdp = (socket: dgram.Socket) =>
  Effect.async<void>((resume) => {
    try {
      socket.close(() => resume(Effect.void))
    } catch {
      resume(Effect.void)
    }
  })

const openTcp = (host: string, port: number, onConnection: (socket: net.Socket) => void) =>
  Effect.async<net.Server, DnsListenError>((resume) => {
    // half-open: a client may send its queries and shut its side; the answers still go out
    const server = net.createServer({ allowHalfOpen: true }, onConnection)
    const failed = (error: Error) => {
      server.close()
      resume(Effect.fail(listenError({ host, port }, error)))
    }
    server.once("error", failed)
    server.listen({ host, port, exclusive: true }, () => {
      server.off("error", failed)
      server.on("error", () => undefined)
      resume(Effect.succeed(server))
    })
  })

const closeTcp = (server: net.Server, connections: Set<net.Socket>) =>
  Effect.async<void>((resume) => {
    for (const socket of connections) socket.destroy()
    server.close(() => resume(Effect.void))
  }).pipe(Effect.timeoutOption("2 seconds"), Effect.asVoid)

/** UDP and TCP on the same port; with port 0, retried when the TCP side of the chosen port is taken. */
const bindBoth = (
  listen: HostPort,
  onMessage: (socket: dgram.Socket, message: Buffer, from: dgram.RemoteInfo) => void,
  onConnection: (socket: net.Socket) => void
) =>
  Effect.gen(function*() {
    for (let attempt = 0;; attempt++) {
      const udp = yield* openUdp(listen.host, listen.port, onMessage)
      const port = udp.address().port
      const tcp = yield* Effect.either(openTcp(listen.host, port, onConnection))
      if (Either.isRight(tcp)) return { udp, tcp: tcp.right, port }
      yield* closeUdp(udp)
      if (listen.port !== 0 || attempt >= 9) return yield* Effect.fail(tcp.left)
    }
  })

export const make = (options: DnsServerOptions): Effect.Effect<DnsResolverShape, DnsListenError, Scope.Scope> =>
  Effect.gen(function*() {
    let own = nodeAddresses(interfaceAddresses())
    const isNode = options.isNodeAddress ?? ((address: string) => own(address))
    if (options.isNodeAddress === undefined) {
      // interfaces come and go (a project's bridge is created on its first pod)
      yield* Effect.sync(() => {
        own = nodeAddresses(interfaceAddresses())
      }).pipe(Effect.repeat(Schedule.spaced(INTERFACE_REFRESH)), Effect.delay(INTERFACE_REFRESH), Effect.forkScoped)
    }
    const upstreams = options.upstreams.filter((u) => !isSelf(u, options.listen, isNode))
    for (const u of options.upstreams) {
      if (!upstreams.includes(u)) yield* Effect.logWarning(`DNS upstream ${formatHostPort(u)} is this resolver itself: left out`)
    }
    if (upstreams.length === 0) yield* Effect.logWarning("DNS: no upstream resolver: names outside .internal will get SERVFAIL")

    const forwarder = yield* DnsForwarder.make({
      upstreams,
      timeout: options.forwardTimeout,
      maxInFlight: options.maxInFlightForwards,
      exchange: options.exchange
    })
    const handler = yield* DnsHandler.make({
      ttl: options.ttl,
      isNodeAddress: isNode,
      reachable: options.reachable,
      localNode: options.localNode,
      forwarder,
      initial: options.initial
    })
    const idle = Duration.decode(options.tcpIdleTimeout ?? DEFAULT_TCP_IDLE_TIMEOUT)
    const maxConnections = options.maxTcpConnections ?? DEFAULT_MAX_TCP_CONNECTIONS

    const fibers = yield* FiberSet.make()
    const run = yield* FiberSet.runtime(fibers)<never>()
    const connections = new Set<net.Socket>()

    const sendUdp = (socket: dgram.Socket, bytes: Buffer, to: dgram.RemoteInfo) => {
      try {
        socket.send(bytes, to.port, to.address, () => undefined)
      } catch {
        // the socket closed meanwhile (shutdown)
      }
    }

    const onMessage = (socket: dgram.Socket, message: Buffer, from: dgram.RemoteInfo) => {
      const reaction = handler.handle(message, from.address, "udp")
      if (reaction._tag === "Reply") sendUdp(socket, reaction.bytes, from)
      else if (reaction._tag === "Later") {
        run(Effect.map(reaction.reply, (bytes) => {
          if (bytes !== undefined) sendUdp(socket, bytes, from)
        }))
      }
    }

    const serveConnection = (socket: net.Socket) =>
      Effect.gen(function*() {
        const frames = yield* Queue.unbounded<Buffer | null>()
        const pending = yield* FiberSet.make()
        const slots = yield* Effect.makeSemaphore(MAX_PIPELINED_FORWARDS)
        const source = socket.remoteAddress ?? ""
        let buffered: Buffer = Buffer.alloc(0)
        let queued = 0
        const write = (bytes: Buffer) => {
          if (socket.destroyed || !socket.writable) return
          if (socket.writableLength > MAX_WRITE_BACKLOG) {
            handler.countDropped()
            socket.destroy()
            return
          }
          socket.write(Wire.tcpFrame(bytes))
        }
        socket.setNoDelay(true)
        socket.on("data", (chunk: Buffer) => {
          buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
          while (buffered.length >= 2) {
            const length = buffered.readUInt16BE(0)
            if (buffered.length < 2 + length) return
            const frame = buffered.subarray(2, 2 + length)
            buffered = buffered.subarray(2 + length)
            if (++queued > MAX_QUEUED_FRAMES) {
              handler.countDropped()
              socket.destroy()
              frames.unsafeOffer(null)
              return
            }
            frames.unsafeOffer(frame)
          }
        })
        socket.on("end", () => frames.unsafeOffer(null))
        socket.on("close", () => frames.unsafeOffer(null))
        socket.on("error", () => undefined)

        for (;;) {
          const next = yield* Queue.take(frames).pipe(Effect.timeoutOption(idle))
          if (Option.isNone(next)) {
            if ((yield* FiberSet.size(pending)) > 0) continue
            break
          }
          const frame = next.value
          if (frame === null) break
          queued--
          const reaction = handler.handle(frame, source, "tcp")
          if (reaction._tag === "Reply") write(reaction.bytes)
          else if (reaction._tag === "Later") {
            yield* slots.take(1)
            yield* FiberSet.run(
              pending,
              reaction.reply.pipe(
                Effect.map((bytes) => {
                  if (bytes !== undefined) write(bytes)
                }),
                Effect.ensuring(slots.release(1))
              )
            )
          }
        }
        // input ended or idle: the answers in progress finish first (each is bounded by the forward timeout)
        yield* FiberSet.awaitEmpty(pending)
        socket.destroySoon()
      }).pipe(
        Effect.scoped,
        Effect.onExit((exit) => Effect.sync(() => exit._tag === "Failure" && socket.destroy())),
        Effect.ensuring(Effect.sync(() => connections.delete(socket)))
      )

    const onConnection = (socket: net.Socket) => {
      socket.on("error", () => undefined)
      if (connections.size >= maxConnections) {
        handler.countDropped()
        socket.destroy()
        return
      }
      connections.add(socket)
      run(serveConnection(socket))
    }

    const { port } = yield* Effect.acquireRelease(
      bindBoth(options.listen, onMessage, onConnection),
      ({ udp, tcp }) => Effect.zipRight(closeTcp(tcp, connections), closeUdp(udp))
    )
    // runs before the sockets close: stop the forwards and connections first
    yield* Effect.addFinalizer(() => FiberSet.clear(fibers))
    const endpoint: HostPort = { host: options.listen.host, port }
    yield* Effect.logInfo(
      `DNS resolver on ${formatHostPort(endpoint)} (UDP and TCP), forwarding to ${
        upstreams.length === 0 ? "nothing" : upstreams.map(formatHostPort).join(", ")
      }`
    )

    return DnsResolver.of({
      replace: handler.replace,
      applyDelta: handler.applyDelta,
      records: handler.records,
      stats: handler.stats,
      endpoint: Option.some(endpoint)
    })
  })

/** The resolver as a scoped layer: serving from build until the layer's scope closes. */
export const layerWith = (options: DnsServerOptions): Layer.Layer<DnsResolver, DnsListenError> =>
  Layer.scoped(DnsResolver, make(options))
