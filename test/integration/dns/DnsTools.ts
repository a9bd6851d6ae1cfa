// What the DNS integration tests talk to the resolver with: Debian's dig (its output parsed), Node's
// own resolver, raw UDP/TCP clients, and a resolver started on 127.0.0.1 for the test's scope.
import { execFile } from "node:child_process"
import * as dgram from "node:dgram"
import { promises as dnsPromises } from "node:dns"
import { existsSync } from "node:fs"
import * as net from "node:net"
import * as dnsPacket from "dns-packet"
import { Effect, Logger, LogLevel, Option } from "effect"
import type { HostPort } from "../../../src/domain/dns/Upstreams.js"
import * as Wire from "../../../src/domain/dns/Wire.js"
import * as DnsServer from "../../../src/layers/dns/DnsServer.js"

export const DIG = "/usr/bin/dig"

/** A resolver on 127.0.0.1, any free port, for the enclosing scope. 127.0.0.1 is the node; other 127/8 addresses are not. */
export const startResolver = (options: Omit<DnsServer.DnsServerOptions, "listen"> & { readonly listen?: HostPort }) =>
  Effect.gen(function*() {
    const resolver = yield* DnsServer.make({
      isNodeAddress: (address) => address === "127.0.0.1",
      ...options,
      listen: options.listen ?? { host: "127.0.0.1", port: 0 }
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)) // "no upstream" is expected here
    const endpoint = Option.getOrThrow(resolver.endpoint)
    return { resolver, port: endpoint.port }
  })

export interface DigAnswer {
  readonly name: string
  readonly ttl: number
  readonly type: string
  readonly data: string
}

export interface DigResult {
  /** NOERROR, NXDOMAIN, ...; undefined when no answer came */
  readonly status: string | undefined
  readonly flags: ReadonlyArray<string>
  readonly answers: ReadonlyArray<DigAnswer>
  /** UDP or TCP, as dig reports the transport of the answer it printed */
  readonly transport: string | undefined
  readonly size: number | undefined
  readonly output: string
}

/** Parse dig's default output (the last answer printed: after "Truncated, retrying in TCP mode" that is the TCP one). */
export const parseDig = (output: string): DigResult => {
  const last = output.lastIndexOf(";; ->>HEADER<<-")
  const text = last < 0 ? output : output.slice(last)
  const status = /status: ([A-Z0-9_]+)/.exec(text)?.[1]
  const flags = (/;; flags: ([a-z ]*);/.exec(text)?.[1] ?? "").split(" ").filter((f) => f.length > 0)
  const answers: Array<DigAnswer> = []
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(text)?.[1] ?? ""
  for (const line of section.split("\n")) {
    const fields = line.trim().split(/\s+/)
    if (fields.length < 5 || line.startsWith(";")) continue
    answers.push({ name: fields[0]!, ttl: Number(fields[1]), type: fields[3]!, data: fields.slice(4).join(" ") })
  }
  const transport = /;; SERVER: .*\((UDP|TCP)\)/.exec(text)?.[1]
  const size = /;; MSG SIZE\s+rcvd: (\d+)/.exec(text)?.[1]
  return { status, flags, answers, transport, size: size === undefined ? undefined : Number(size), output }
}

/**
 * `dig @127.0.0.1 -p PORT <args> +tries=1 +time=2` (another server address if given). dig must be installed (bind9-dnsutils): a missing
 * dig fails the test, it never skips it.
 */
export const dig = (port: number, args: ReadonlyArray<string>, options: { readonly time?: number; readonly server?: string } = {}) =>
  Effect.async<DigResult, Error>((resume) => {
    if (!existsSync(DIG)) {
      resume(Effect.fail(new Error(`${DIG} is missing: install bind9-dnsutils (apt-get install bind9-dnsutils); these tests need it${process.env.CI === "true" ? " (CI)" : ""}`)))
      return
    }
    const argv = [`@${options.server ?? "127.0.0.1"}`, "-p", String(port), ...args, "+tries=1", `+time=${options.time ?? 2}`]
    const child = execFile(DIG, argv, { timeout: 15_000 }, (error, stdout) => {
      // dig exits 9 when no answer came: that is a result too
      if (error !== null && stdout.length === 0) resume(Effect.fail(error))
      else resume(Effect.succeed(parseDig(stdout)))
    })
    return Effect.sync(() => child.kill())
  })

export const digData = (result: DigResult) => result.answers.map((a) => a.data).sort()

/** Node's resolver (c-ares) pointed at the resolver, one try, 2 s, optionally from another source address. */
export const nodeResolver = (port: number, localAddress?: string) => {
  const resolver = new dnsPromises.Resolver({ timeout: 2000, tries: 1 })
  resolver.setServers([`127.0.0.1:${port}`])
  if (localAddress !== undefined) resolver.setLocalAddress(localAddress)
  return resolver
}

/** The error code Node's resolver gives (ENOTFOUND for NXDOMAIN, ENODATA for an empty NOERROR, ESERVFAIL). */
export const errorCode = (promise: () => Promise<unknown>) =>
  Effect.promise(() => promise().then(() => "no error", (error: NodeJS.ErrnoException) => error.code ?? String(error)))

export const query = (name: string, type: dnsPacket.RecordType = "A", id = 1, udpPayloadSize?: number) =>
  dnsPacket.encode({
    type: "query",
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type }],
    ...(udpPayloadSize === undefined
      ? {}
      : {
        additionals: [{ type: "OPT", name: ".", udpPayloadSize, extendedRcode: 0, ednsVersion: 0, flags: 0, flag_do: false, options: [] }]
      })
  })

/** Decoded, with the rcode read from the header (dns-packet's types leave it out). */
export const decoded = (bytes: Buffer) => ({ ...dnsPacket.decode(bytes), rcode: Wire.rcodeOf(bytes), size: bytes.length })

/** A UDP client for the scope: send datagrams, collect what comes back. */
export const udpClient = (port: number, bindAddress = "127.0.0.1") =>
  Effect.acquireRelease(
    Effect.async<{ readonly socket: dgram.Socket; readonly received: Array<Buffer> }>((resume) => {
      const socket = dgram.createSocket("udp4")
      const received: Array<Buffer> = []
      socket.on("message", (message) => received.push(message))
      socket.on("error", () => undefined)
      socket.bind(0, bindAddress, () => resume(Effect.succeed({ socket, received })))
    }),
    ({ socket }) => Effect.sync(() => socket.close())
  ).pipe(
    Effect.map(({ socket, received }) => ({
      received,
      send: (message: Buffer) => Effect.async<void>((resume) => socket.send(message, port, "127.0.0.1", () => resume(Effect.void)))
    }))
  )

/** One TCP connection for the scope: write raw bytes, read length-prefixed answers, see when it closes. */
export const tcpClient = (port: number) =>
  Effect.acquireRelease(
    Effect.async<net.Socket, Error>((resume) => {
      const socket = net.connect({ host: "127.0.0.1", port }, () => resume(Effect.succeed(socket)))
      socket.once("error", (error) => resume(Effect.fail(error)))
    }),
    (socket) => Effect.sync(() => socket.destroy())
  ).pipe(
    Effect.map((socket) => {
      const answers: Array<Buffer> = []
      let buffered: Buffer = Buffer.alloc(0)
      let closed = false
      socket.on("error", () => undefined)
      socket.on("data", (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk])
        while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
          answers.push(buffered.subarray(2, 2 + buffered.readUInt16BE(0)))
          buffered = buffered.subarray(2 + buffered.readUInt16BE(0))
        }
      })
      socket.on("close", () => {
        closed = true
      })
      return {
        answers,
        isClosed: () => closed,
        write: (bytes: Buffer) => Effect.sync(() => socket.write(bytes)),
        end: Effect.sync(() => socket.end())
      }
    })
  )
