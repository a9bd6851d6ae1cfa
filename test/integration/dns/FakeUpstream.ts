// An upstream resolver the test runs on loopback (UDP and TCP on one port), standing in for the
// host's resolvers: it answers names from a table, truncates UDP answers above its UDP limit (TC,
// no records) as a real server does, and counts what it was asked over each transport. A "silent"
// upstream reads everything and answers nothing.
import * as dgram from "node:dgram"
import * as net from "node:net"
import * as dnsPacket from "dns-packet"
import { Effect } from "effect"
import type { HostPort } from "../../../src/domain/dns/Upstreams.js"
import * as Wire from "../../../src/domain/dns/Wire.js"

export interface FakeUpstreamOptions {
  /** IPv4 addresses per lowercase name; a name not in it is NXDOMAIN */
  readonly names?: Readonly<Record<string, ReadonlyArray<string>>>
  /** the largest UDP answer it sends whatever the query advertises (default 512: an upstream without EDNS) */
  readonly udpLimit?: number
  /** read queries, never answer */
  readonly silent?: boolean
}

export interface FakeUpstream {
  readonly address: HostPort
  readonly asked: { udp: number; tcp: number }
}

/** What it answers (undefined: nothing); never throws, whatever the fuzz forwards to it. */
const answerFor = (query: Buffer, names: Readonly<Record<string, ReadonlyArray<string>>>, limit: number): Buffer | undefined => {
  try {
    return encodeAnswer(dnsPacket.decode(query), names, limit)
  } catch {
    return undefined
  }
}

const encodeAnswer = (asked: dnsPacket.DecodedPacket, names: Readonly<Record<string, ReadonlyArray<string>>>, limit: number) => {
  const question = asked.questions?.[0]
  if (question === undefined) return undefined
  const addresses = names[question.name.toLowerCase()]
  const base = { type: "response" as const, id: asked.id, questions: [question] }
  const flags = dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE
  if (addresses === undefined) return dnsPacket.encode({ ...base, flags: flags | Wire.RCODE.NXDOMAIN })
  const full = dnsPacket.encode({
    ...base,
    flags,
    answers: question.type === "A" ? addresses.map((data) => ({ type: "A" as const, name: question.name, ttl: 300, data })) : []
  })
  return full.length <= limit ? full : dnsPacket.encode({ ...base, flags: flags | dnsPacket.TRUNCATED_RESPONSE })
}

/** Start it on 127.0.0.1 (any free port) for the enclosing scope. */
export const start = (options: FakeUpstreamOptions = {}) =>
  Effect.gen(function*() {
    const names = options.names ?? {}
    const udpLimit = options.udpLimit ?? 512
    const asked = { udp: 0, tcp: 0 }
    const udp = yield* Effect.acquireRelease(
      Effect.async<dgram.Socket>((resume) => {
        const socket = dgram.createSocket("udp4")
        socket.on("error", () => undefined)
        socket.on("message", (message, from) => {
          asked.udp++
          if (options.silent === true) return
          const answer = answerFor(message, names, udpLimit)
          if (answer !== undefined) socket.send(answer, from.port, from.address)
        })
        socket.bind(0, "127.0.0.1", () => resume(Effect.succeed(socket)))
      }),
      (socket) => Effect.sync(() => socket.close())
    )
    const port = udp.address().port
    const connections = new Set<net.Socket>()
    yield* Effect.acquireRelease(
      Effect.async<net.Server, Error>((resume) => {
        const server = net.createServer((socket) => {
          connections.add(socket)
          let buffered: Buffer = Buffer.alloc(0)
          socket.on("error", () => undefined)
          socket.on("close", () => connections.delete(socket))
          socket.on("data", (chunk: Buffer) => {
            buffered = Buffer.concat([buffered, chunk])
            while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
              const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0))
              buffered = buffered.subarray(2 + message.length)
              asked.tcp++
              if (options.silent === true) continue
              const answer = answerFor(message, names, Wire.MAX_TCP_MESSAGE)
              if (answer !== undefined) socket.write(Wire.tcpFrame(answer))
            }
          })
        })
        server.once("error", (error) => resume(Effect.fail(error)))
        server.listen(port, "127.0.0.1", () => resume(Effect.succeed(server)))
      }),
      (server) =>
        Effect.async<void>((resume) => {
          for (const socket of connections) socket.destroy()
          server.close(() => resume(Effect.void))
        })
    )
    return { address: { host: "127.0.0.1", port }, asked } satisfies FakeUpstream
  })

/** A loopback port nothing listens on (bound, then released): sending there is refused at once. */
export const closedPort = Effect.async<number>((resume) => {
  const socket = dgram.createSocket("udp4")
  socket.bind(0, "127.0.0.1", () => {
    const port = socket.address().port
    socket.close(() => resume(Effect.succeed(port)))
  })
})
