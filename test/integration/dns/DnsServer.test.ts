// A real resolver on 127.0.0.1 (a random port), asked by Debian's dig and by Node's resolver: the
// names, the types, TTL, TCP, truncation and the retry over TCP, project isolation by source address
// (dig -b / setLocalAddress pick the asking pod's address), several queries on one TCP connection,
// the idle timeout, and the sockets closing with the scope.
import { describe, expect, it } from "@effect/vitest"
import * as dgram from "node:dgram"
import * as net from "node:net"
import { Effect, Exit, Scope } from "effect"
import type { DnsRecord } from "../../../src/domain/dns/Records.js"
import { pod } from "../../unit/dns/fixtures.js"
import { eventually } from "../../support/harness/Eventually.js"
import { decoded, dig, digData, errorCode, nodeResolver, query, startResolver, tcpClient } from "./DnsTools.js"

// 127.0.0.1 is the node; 127.0.0.2 is a pod of shop, 127.0.0.3 a pod of billing, 127.0.0.4 nobody known
const records: ReadonlyArray<DnsRecord> = [
  pod("shop", "web", 0, "10.1.0.10"),
  pod("shop", "web", 1, "10.1.0.11", { ready: false }),
  pod("shop", "web", 2, "10.1.0.12", { ipv6: "fd00::12" }),
  pod("shop", "db", 0, "10.1.0.20"),
  pod("shop", "client", 0, "127.0.0.2"),
  pod("billing", "web", 0, "10.1.1.10"),
  pod("billing", "client", 0, "127.0.0.3", { ready: false }), // starting: it still asks as billing
  ...Array.from({ length: 60 }, (_, i) => pod("shop", "big", i, `10.1.3.${i}`))
]
const initial = { revision: 1, records }

describe("asked by dig", () => {
  it.scopedLive("A for a deployment: its ready pods, authoritative, TTL 5", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const result = yield* dig(port, ["web.shop.internal", "A"])
      expect(result.status).toBe("NOERROR")
      expect(result.flags).toEqual(expect.arrayContaining(["qr", "aa", "rd", "ra"]))
      expect(digData(result)).toEqual(["10.1.0.10", "10.1.0.12"])
      expect(result.answers.map((a) => [a.name, a.ttl, a.type])).toEqual([["web.shop.internal.", 5, "A"], ["web.shop.internal.", 5, "A"]])
    }))

  it.scopedLive("A for a pod by its replica index, in any case, with or without the trailing dot", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      expect(digData(yield* dig(port, ["web-2.shop.internal", "A"]))).toEqual(["10.1.0.12"])
      expect(digData(yield* dig(port, ["WEB-0.Shop.INTERNAL.", "A"]))).toEqual(["10.1.0.10"])
      const notReady = yield* dig(port, ["web-1.shop.internal", "A"])
      expect([notReady.status, notReady.answers]).toEqual(["NOERROR", []])
    }))

  it.scopedLive("AAAA and ANY; AAAA without an IPv6 address is an empty NOERROR", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      expect(digData(yield* dig(port, ["web-2.shop.internal", "AAAA"]))).toEqual(["fd00::12"])
      expect(digData(yield* dig(port, ["web-2.shop.internal", "ANY"]))).toEqual(["10.1.0.12", "fd00::12"])
      const none = yield* dig(port, ["db.shop.internal", "AAAA"])
      expect([none.status, none.answers]).toEqual(["NOERROR", []])
    }))

  it.scopedLive("NXDOMAIN for an unknown .internal name, empty NOERROR for another type of a known one", () =>
    Effect.gen(function*() {
      const { port, resolver } = yield* startResolver({ upstreams: [], initial })
      expect((yield* dig(port, ["nope.shop.internal", "A"])).status).toBe("NXDOMAIN")
      expect((yield* dig(port, ["web-9.shop.internal", "A"])).status).toBe("NXDOMAIN")
      const mx = yield* dig(port, ["web.shop.internal", "MX"])
      expect([mx.status, mx.answers]).toEqual(["NOERROR", []])
      expect((yield* resolver.stats).responses).toMatchObject({ NXDOMAIN: 2, NOERROR: 1 })
    }))

  it.scopedLive("NOTIMP for an opcode other than QUERY", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      expect((yield* dig(port, ["web.shop.internal", "A", "+opcode=status"])).status).toBe("NOTIMP")
    }))

  it.scopedLive("the same answers over TCP", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const result = yield* dig(port, ["web.shop.internal", "A", "+tcp"])
      expect(result.transport).toBe("TCP")
      expect(digData(result)).toEqual(["10.1.0.10", "10.1.0.12"])
    }))

  it.scopedLive("a UDP answer never exceeds 512 bytes without EDNS, nor the advertised EDNS size: TC instead", () =>
    Effect.gen(function*() {
      const { port, resolver } = yield* startResolver({ upstreams: [], initial })
      const classic = yield* dig(port, ["big.shop.internal", "A", "+noedns", "+ignore"])
      expect(classic.flags).toContain("tc")
      expect(classic.answers).toEqual([])
      expect(classic.size).toBeLessThanOrEqual(512)
      const advertised = yield* dig(port, ["big.shop.internal", "A", "+bufsize=1232", "+ignore"])
      expect(advertised.flags).toContain("tc")
      expect(advertised.size).toBeLessThanOrEqual(1232)
      expect((yield* resolver.stats).truncated).toBe(2)
    }))

  it.scopedLive("dig retries a truncated answer over TCP and gets all 60 pods", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const result = yield* dig(port, ["big.shop.internal", "A"])
      expect(result.output).toContain("Truncated, retrying in TCP mode")
      expect(result.transport).toBe("TCP")
      expect(result.answers).toHaveLength(60)
    }))

  it.scopedLive("a pod sees its own project only; the node sees every project; a stranger sees none", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const from = (source: string, name: string) => dig(port, ["-b", source, name, "A"])
      expect(digData(yield* from("127.0.0.2", "web.shop.internal"))).toEqual(["10.1.0.10", "10.1.0.12"])
      expect((yield* from("127.0.0.2", "web.billing.internal")).status).toBe("NXDOMAIN")
      expect(digData(yield* from("127.0.0.3", "web.billing.internal"))).toEqual(["10.1.1.10"]) // a starting pod
      expect((yield* from("127.0.0.3", "db.shop.internal")).status).toBe("NXDOMAIN")
      expect(digData(yield* from("127.0.0.1", "web.billing.internal"))).toEqual(["10.1.1.10"])
      expect((yield* from("127.0.0.4", "web.shop.internal")).status).toBe("NXDOMAIN")
    }))

  it.scopedLive("answers the changes pushed to it from the next query on", () =>
    Effect.gen(function*() {
      const { port, resolver } = yield* startResolver({ upstreams: [], initial })
      const web2 = records.find((r) => r.deployment === "web" && r.replicaIndex === 2)!
      const web1 = records.find((r) => r.deployment === "web" && r.replicaIndex === 1)!
      yield* resolver.applyDelta({ revision: 2, upsert: [{ ...web1, ready: true }], remove: [web2.podId] })
      expect(digData(yield* dig(port, ["web.shop.internal", "A"]))).toEqual(["10.1.0.10", "10.1.0.11"])
      yield* resolver.replace({ revision: 1, records: [] })
      expect((yield* dig(port, ["web.shop.internal", "A"])).status).toBe("NXDOMAIN")
    }))
})

describe("asked by Node's resolver", () => {
  it.scopedLive("resolve4 gets the addresses with TTL 5; resolve6 and resolveAny work too", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const resolver = nodeResolver(port)
      const v4 = yield* Effect.promise(() => resolver.resolve4("web.shop.internal", { ttl: true }))
      expect(v4.sort((a, b) => a.address.localeCompare(b.address))).toEqual([
        { address: "10.1.0.10", ttl: 5 },
        { address: "10.1.0.12", ttl: 5 }
      ])
      expect(yield* Effect.promise(() => resolver.resolve6("web-2.shop.internal"))).toEqual(["fd00::12"])
      const any = yield* Effect.promise(() => resolver.resolveAny("web-2.shop.internal"))
      expect(any.map((r) => [r.type, "address" in r ? r.address : ""]).sort()).toEqual([["A", "10.1.0.12"], ["AAAA", "fd00::12"]])
    }))

  it.scopedLive("an unknown name is ENOTFOUND (NXDOMAIN), a missing type ENODATA (empty NOERROR)", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const resolver = nodeResolver(port)
      expect(yield* errorCode(() => resolver.resolve4("nope.shop.internal"))).toBe("ENOTFOUND")
      expect(yield* errorCode(() => resolver.resolve6("db.shop.internal"))).toBe("ENODATA")
    }))

  it.scopedLive("follows a truncated answer over TCP to all 60 pods", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      expect(yield* Effect.promise(() => nodeResolver(port).resolve4("big.shop.internal"))).toHaveLength(60)
    }))

  it.scopedLive("from a pod's address, another project's name is ENOTFOUND", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const shop = nodeResolver(port, "127.0.0.2")
      expect(yield* errorCode(() => shop.resolve4("web.billing.internal"))).toBe("ENOTFOUND")
      expect((yield* Effect.promise(() => shop.resolve4("db.shop.internal")))).toEqual(["10.1.0.20"])
    }))
})

describe("TCP connections", () => {
  it.scopedLive("carry several queries, written at once, each answered under its own id", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const client = yield* tcpClient(port)
      const frames = [query("web-0.shop.internal", "A", 11), query("db.shop.internal", "A", 12), query("nope.shop.internal", "A", 13)]
      yield* client.write(Buffer.concat(frames.map((f) => Buffer.concat([Buffer.from([f.length >> 8, f.length & 255]), f]))))
      yield* eventually(Effect.sync(() => client.answers.length === 3), { what: "three answers" })
      const byId = new Map(client.answers.map((a) => [decoded(a).id, decoded(a)]))
      expect(byId.get(11)?.answers?.map((a) => a.type === "A" && a.data)).toEqual(["10.1.0.10"])
      expect(byId.get(12)?.answers?.map((a) => a.type === "A" && a.data)).toEqual(["10.1.0.20"])
      expect(byId.get(13)?.rcode).toBe("NXDOMAIN")
      expect(client.isClosed()).toBe(false)
    }))

  it.scopedLive("a query split over several writes is answered once whole", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const client = yield* tcpClient(port)
      const q = query("web-0.shop.internal", "A", 21)
      const frame = Buffer.concat([Buffer.from([q.length >> 8, q.length & 255]), q])
      for (const piece of [frame.subarray(0, 1), frame.subarray(1, 9), frame.subarray(9)]) {
        yield* client.write(piece)
        yield* Effect.sleep("20 millis")
      }
      yield* eventually(Effect.sync(() => client.answers.length === 1), { what: "the answer" })
      expect(decoded(client.answers[0]!).id).toBe(21)
    }))

  it.scopedLive("are closed after the idle timeout, also in the middle of a frame", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial, tcpIdleTimeout: "300 millis" })
      const quiet = yield* tcpClient(port)
      const partial = yield* tcpClient(port)
      yield* partial.write(Buffer.from([0, 40, 1, 2, 3]))
      yield* Effect.sleep("150 millis")
      expect([quiet.isClosed(), partial.isClosed()]).toEqual([false, false])
      yield* eventually(Effect.sync(() => quiet.isClosed() && partial.isClosed()), { what: "both closed", within: "3 seconds" })
    }))

  it.scopedLive("are refused past the connection limit", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial, maxTcpConnections: 2 })
      const first = yield* tcpClient(port)
      const second = yield* tcpClient(port)
      const third = yield* tcpClient(port)
      yield* eventually(Effect.sync(() => third.isClosed()), { what: "the third connection closed" })
      expect([first.isClosed(), second.isClosed()]).toEqual([false, false])
    }))
})

describe("the scope", () => {
  it.live("closes both sockets: the port refuses UDP and TCP afterwards", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { port } = yield* startResolver({ upstreams: [], initial }).pipe(Scope.extend(scope))
      expect(digData(yield* dig(port, ["web-0.shop.internal", "A"]))).toEqual(["10.1.0.10"])
      yield* Scope.close(scope, Exit.void)
      const tcp = yield* Effect.async<string>((resume) => {
        const socket = net.connect({ host: "127.0.0.1", port })
        socket.on("connect", () => (socket.destroy(), resume(Effect.succeed("connected"))))
        socket.on("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code ?? "error")))
      })
      expect(tcp).toBe("ECONNREFUSED")
      const udp = yield* Effect.async<string>((resume) => {
        const socket = dgram.createSocket("udp4")
        socket.on("error", (error: NodeJS.ErrnoException) => (socket.close(), resume(Effect.succeed(error.code ?? "error"))))
        socket.on("message", () => (socket.close(), resume(Effect.succeed("answered"))))
        socket.connect(port, "127.0.0.1", () => socket.send(query("web-0.shop.internal")))
      })
      expect(udp).toBe("ECONNREFUSED")
    }))

  it.scopedLive("a port already in use is a DnsListenError", () =>
    Effect.gen(function*() {
      const { port } = yield* startResolver({ upstreams: [], initial })
      const error = yield* Effect.flip(startResolver({ upstreams: [], listen: { host: "127.0.0.1", port } }))
      expect(error._tag).toBe("DnsListenError")
      expect(error.message).toContain(`cannot serve DNS on 127.0.0.1:${port}`)
    }))
})
