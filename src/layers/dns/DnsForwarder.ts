// Forwarding the names that are not ours: to the upstreams in order, over UDP first and again over
// TCP when the upstream's UDP answer is truncated. Each query goes out with a fresh random id from a
// fresh socket (random source port), and only an answer with that id and the same question counts.
// The whole forward has one time budget (2 s by default), shared out among the upstreams not yet
// tried, so an unreachable upstream costs a quick SERVFAIL, never a hang; an upstream answering
// SERVFAIL or REFUSED passes the query to the next one. At most `maxInFlight` forwards run at once:
// past that a query gets SERVFAIL at once (a flood cannot pile up sockets and fibers).
import { randomInt } from "node:crypto"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { Clock, Data, Duration, Effect, Either } from "effect"
import { formatHostPort, type HostPort } from "../../domain/dns/Upstreams.js"
import * as Wire from "../../domain/dns/Wire.js"

export class ExchangeFailure extends Data.TaggedError("ExchangeFailure")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** One message to one upstream and its answer: the sockets, replaceable in tests. */
export interface UpstreamExchange {
  /** Send over UDP; the first datagram from the upstream with the message's id. */
  readonly udp: (upstream: HostPort, message: Buffer) => Effect.Effect<Buffer, ExchangeFailure>
  /** The same over a TCP connection (length-prefixed frames). */
  readonly tcp: (upstream: HostPort, message: Buffer) => Effect.Effect<Buffer, ExchangeFailure>
}

export const DEFAULT_FORWARD_TIMEOUT: Duration.DurationInput = "2 seconds"
export const DEFAULT_MAX_IN_FLIGHT = 256

export interface ForwarderOptions {
  readonly upstreams: ReadonlyArray<HostPort>
  /** the whole forward, all upstreams and the TCP retry included (default 2 s) */
  readonly timeout?: Duration.DurationInput | undefined
  /** forwards running at once (default 256) */
  readonly maxInFlight?: number | undefined
  /** default: real UDP and TCP sockets */
  readonly exchange?: UpstreamExchange | undefined
}

/** `Answered`: an upstream's message (its id is the one the forwarder chose); `Failed`: answer SERVFAIL. */
export type ForwardOutcome =
  | { readonly _tag: "Answered"; readonly message: Buffer; readonly upstream: HostPort }
  | { readonly _tag: "Failed"; readonly reason: string }

export interface Forwarder {
  readonly forward: (query: Wire.Query) => Effect.Effect<ForwardOutcome>
  readonly inFlight: Effect.Effect<number>
}

const bareHost = (host: string) => (host.includes("%") ? host.slice(0, host.indexOf("%")) : host)

const failure = (reason: string) => new ExchangeFailure({ reason })
const describe = (error: unknown) => (error instanceof Error ? error.message : String(error))

/** A connected UDP socket per exchange: the kernel then drops datagrams from anyone but the upstream. */
const udpExchange = (upstream: HostPort, message: Buffer): Effect.Effect<Buffer, ExchangeFailure> =>
  Effect.async<Buffer, ExchangeFailure>((resume) => {
    let socket: dgram.Socket | undefined
    let settled = false
    const close = () => {
      const s = socket
      socket = undefined
      try {
        s?.close()
      } catch {
        // already closed
      }
    }
    const settle = (effect: Effect.Effect<Buffer, ExchangeFailure>) => {
      if (settled) return
      settled = true
      close()
      resume(effect)
    }
    try {
      const id = message.readUInt16BE(0)
      const s = dgram.createSocket(net.isIPv6(bareHost(upstream.host)) ? "udp6" : "udp4")
      socket = s
      s.on("error", (error) => settle(Effect.fail(failure(describe(error)))))
      s.on("message", (answer) => {
        if (answer.length >= 12 && answer.readUInt16BE(0) === id) settle(Effect.succeed(answer))
      })
      s.connect(upstream.port, upstream.host, () => {
        try {
          s.send(message, (error) => {
            if (error) settle(Effect.fail(failure(describe(error))))
          })
        } catch (error) {
          settle(Effect.fail(failure(describe(error))))
        }
      })
    } catch (error) {
      settle(Effect.fail(failure(describe(error))))
    }
    return Effect.sync(() => {
      settled = true
      close()
    })
  })

const tcpExchange = (upstream: HostPort, message: Buffer): Effect.Effect<Buffer, ExchangeFailure> =>
  Effect.async<Buffer, ExchangeFailure>((resume) => {
    let settled = false
    let socket: net.Socket | undefined
    const settle = (effect: Effect.Effect<Buffer, ExchangeFailure>) => {
      if (settled) return
      settled = true
      socket?.destroy()
      resume(effect)
    }
    try {
      const id = message.readUInt16BE(0)
      let buffered: Buffer = Buffer.alloc(0)
      const s = net.connect({ host: upstream.host, port: upstream.port })
      socket = s
      s.on("connect", () => s.write(Wire.tcpFrame(message)))
      s.on("data", (chunk: Buffer) => {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
        while (buffered.length >= 2) {
          const length = buffered.readUInt16BE(0)
          if (buffered.length < 2 + length) return
          const frame = buffered.subarray(2, 2 + length)
          buffered = buffered.subarray(2 + length)
          if (frame.length >= 12 && frame.readUInt16BE(0) === id) return settle(Effect.succeed(Buffer.from(frame)))
        }
      })
      s.on("error", (error) => settle(Effect.fail(failure(describe(error)))))
      s.on("close", () => settle(Effect.fail(failure("connection closed before an answer"))))
    } catch (error) {
      settle(Effect.fail(failure(describe(error))))
    }
    return Effect.sync(() => {
      settled = true
      socket?.destroy()
    })
  })

export const socketExchange: UpstreamExchange = { udp: udpExchange, tcp: tcpExchange }

export const make = (options: ForwarderOptions): Effect.Effect<Forwarder> =>
  Effect.sync(() => {
    const upstreams = options.upstreams
    const timeoutMs = Math.max(1, Duration.toMillis(Duration.decode(options.timeout ?? DEFAULT_FORWARD_TIMEOUT)))
    const maxInFlight = Math.max(1, options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT)
    const exchange = options.exchange ?? socketExchange
    let inFlight = 0

    /** One upstream within `budgetMs`: UDP, then TCP if truncated (a failed TCP retry keeps the TC answer). */
    const attempt = (upstream: HostPort, query: Wire.Query, budgetMs: number) => {
      const id = randomInt(0, 65536)
      const message = Wire.withId(query.bytes, id)
      const valid = (answer: Buffer) => answer.length >= 12 && answer.readUInt16BE(0) === id && Wire.answersQuestion(query, answer)
      return Effect.gen(function*() {
        const first = yield* exchange.udp(upstream, message)
        if (!valid(first)) return yield* Effect.fail(failure("answered another question"))
        if (!Wire.isTruncated(first)) return first
        const full = yield* Effect.either(exchange.tcp(upstream, message))
        return Either.isRight(full) && valid(full.right) ? full.right : first
      }).pipe(Effect.timeoutFail({ duration: Duration.millis(budgetMs), onTimeout: () => failure("timed out") }))
    }

    const forwardAll = (query: Wire.Query) =>
      Effect.gen(function*() {
        const deadline = (yield* Clock.currentTimeMillis) + timeoutMs
        let fallback: ForwardOutcome | undefined
        let reason = "no upstream answered"
        for (let i = 0; i < upstreams.length; i++) {
          const upstream = upstreams[i]!
          const remaining = deadline - (yield* Clock.currentTimeMillis)
          if (remaining <= 0) break
          const budget = Math.max(1, Math.floor(remaining / (upstreams.length - i)))
          const result = yield* Effect.either(attempt(upstream, query, budget))
          if (Either.isLeft(result)) {
            reason = `${formatHostPort(upstream)}: ${result.left.reason}`
            continue
          }
          const answered: ForwardOutcome = { _tag: "Answered", message: result.right, upstream }
          const rcode = Wire.rcodeOf(result.right)
          if (rcode === "SERVFAIL" || rcode === "REFUSED") {
            fallback = answered
            continue
          }
          return answered
        }
        return fallback ?? { _tag: "Failed", reason } satisfies ForwardOutcome
      })

    const forward = (query: Wire.Query): Effect.Effect<ForwardOutcome> =>
      Effect.suspend(() => {
        if (upstreams.length === 0) return Effect.succeed<ForwardOutcome>({ _tag: "Failed", reason: "no upstream resolver configured" })
        if (inFlight >= maxInFlight) return Effect.succeed<ForwardOutcome>({ _tag: "Failed", reason: `${maxInFlight} forwards already in flight` })
        inFlight++
        return forwardAll(query).pipe(Effect.ensuring(Effect.sync(() => inFlight--)))
      })

    return { forward, inFlight: Effect.sync(() => inFlight) }
  })
