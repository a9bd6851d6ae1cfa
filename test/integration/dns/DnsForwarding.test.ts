// Names outside `.internal` go to the upstream resolvers, here ones the test runs on loopback: the
// answer comes back to dig and to Node's resolver, a truncated upstream answer is fetched again over
// TCP, an unreachable or silent upstream gives SERVFAIL quickly (never a hang), the next upstream
// takes over, and a flood of forwards is bounded.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { dig, digData, decoded, errorCode, nodeResolver, query, startResolver, udpClient } from "./DnsTools.js"
import * as FakeUpstream from "./FakeUpstream.js"
import { eventually } from "../../support/harness/Eventually.js"

const many = (count: number) => Array.from({ length: count }, (_, i) => `198.51.100.${i}`)
const names = {
  "example.test": ["192.0.2.80"],
  "medium.example.test": many(30), // 30 × 32 bytes: more than 512, less than 1232
  "big.example.test": many(60) // more than 1232: only TCP carries it
}

const elapsed = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const started = performance.now()
    const result = yield* effect
    return { result, ms: performance.now() - started }
  })

describe("forwarding", () => {
  it.scopedLive("answers an external name with what the upstream says, to dig and to Node", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names })
      const { port, resolver } = yield* startResolver({ upstreams: [upstream.address] })
      const result = yield* dig(port, ["example.test", "A"])
      expect([result.status, digData(result)]).toEqual(["NOERROR", ["192.0.2.80"]])
      expect(yield* Effect.promise(() => nodeResolver(port).resolve4("example.test"))).toEqual(["192.0.2.80"])
      expect((yield* resolver.stats).forwarded).toBe(2)
      expect(upstream.asked.udp).toBe(2)
    }))

  it.scopedLive("passes an upstream NXDOMAIN on", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names })
      const { port } = yield* startResolver({ upstreams: [upstream.address] })
      expect((yield* dig(port, ["nowhere.test", "A"])).status).toBe("NXDOMAIN")
      expect(yield* errorCode(() => nodeResolver(port).resolve4("nowhere.test"))).toBe("ENOTFOUND")
    }))

  it.scopedLive("fetches a truncated upstream answer again over TCP, and the UDP asker gets it whole", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names, udpLimit: 512 })
      const { port } = yield* startResolver({ upstreams: [upstream.address] })
      const result = yield* dig(port, ["medium.example.test", "A", "+bufsize=1232"])
      expect(result.transport).toBe("UDP")
      expect(result.flags).not.toContain("tc")
      expect(result.answers).toHaveLength(30)
      expect(upstream.asked).toEqual({ udp: 1, tcp: 1 })
    }))

  it.scopedLive("answers TC to a UDP asker when even that is too large for it, and the whole answer over TCP", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names, udpLimit: 512 })
      const { port } = yield* startResolver({ upstreams: [upstream.address] })
      const cut = yield* dig(port, ["big.example.test", "A", "+ignore"])
      expect(cut.flags).toContain("tc")
      expect(cut.size).toBeLessThanOrEqual(1232)
      const whole = yield* dig(port, ["big.example.test", "A"])
      expect(whole.transport).toBe("TCP")
      expect(whole.answers).toHaveLength(60)
      expect(yield* Effect.promise(() => nodeResolver(port).resolve4("big.example.test"))).toHaveLength(60)
    }))

  it.scopedLive("an unreachable upstream (nothing on its port) gives SERVFAIL at once", () =>
    Effect.gen(function*() {
      const closed = yield* FakeUpstream.closedPort
      const { port, resolver } = yield* startResolver({ upstreams: [{ host: "127.0.0.1", port: closed }] })
      const { result, ms } = yield* elapsed(dig(port, ["example.test", "A"]))
      expect(result.status).toBe("SERVFAIL")
      expect(ms).toBeLessThan(1000)
      expect(yield* errorCode(() => nodeResolver(port).resolve4("example.test"))).toBe("ESERVFAIL")
      expect((yield* resolver.stats).forwardFailures).toBe(2)
    }))

  it.scopedLive("a silent upstream gives SERVFAIL after the 2 s budget, within 2.5 s", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ silent: true })
      const { port } = yield* startResolver({ upstreams: [upstream.address] })
      const { result, ms } = yield* elapsed(dig(port, ["example.test", "A"], { time: 4 }))
      expect(result.status).toBe("SERVFAIL")
      expect(ms).toBeGreaterThanOrEqual(1900)
      expect(ms).toBeLessThan(2500)
    }))

  it.scopedLive("a silent first upstream hands over to the second within half the budget", () =>
    Effect.gen(function*() {
      const silent = yield* FakeUpstream.start({ silent: true })
      const answering = yield* FakeUpstream.start({ names })
      const { port } = yield* startResolver({ upstreams: [silent.address, answering.address] })
      const { result, ms } = yield* elapsed(dig(port, ["example.test", "A"], { time: 4 }))
      expect(digData(result)).toEqual(["192.0.2.80"])
      expect(ms).toBeLessThan(1500)
      expect([silent.asked.udp, answering.asked.udp]).toEqual([1, 1])
    }))

  it.scopedLive("bounds the forwards in flight: past the bound, SERVFAIL at once", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ silent: true })
      const { port } = yield* startResolver({ upstreams: [upstream.address], maxInFlightForwards: 4 })
      const client = yield* udpClient(port)
      for (let id = 1; id <= 10; id++) yield* client.send(query(`n${id}.example.test`, "A", id))
      yield* eventually(Effect.sync(() => client.received.length >= 6), { what: "six quick answers", within: "1 second" })
      expect(client.received.slice(0, 6).map((b) => decoded(b).rcode)).toEqual(Array(6).fill("SERVFAIL"))
      yield* eventually(Effect.sync(() => client.received.length === 10), { what: "all ten answered", within: "4 seconds" })
      expect(upstream.asked.udp).toBe(4)
    }))

  it.scopedLive("leaves out an upstream that is this resolver itself (it would forward to itself forever)", () =>
    Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names })
      const own = { host: "127.0.0.2", port: yield* FakeUpstream.closedPort }
      const { resolver } = yield* startResolver({ listen: own, upstreams: [own, upstream.address] })
      const result = yield* dig(own.port, ["example.test", "A"], { server: own.host })
      expect(digData(result)).toEqual(["192.0.2.80"])
      expect((yield* resolver.stats).forwarded).toBe(1)
      expect(upstream.asked.udp).toBe(1)
    }))
})
