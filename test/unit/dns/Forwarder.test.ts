// Forwarding in virtual time, over scripted upstreams: one 2 s budget shared by the upstreams, the
// next upstream on a refusal or SERVFAIL, TCP after a truncated UDP answer, only answers to the
// question asked, and a bound on forwards in flight.
import { describe, expect, it } from "@effect/vitest"
import * as dnsPacket from "dns-packet"
import { Clock, Duration, Effect, Fiber, Option, TestClock } from "effect"
import { formatHostPort, type HostPort } from "../../../src/domain/dns/Upstreams.js"
import * as Wire from "../../../src/domain/dns/Wire.js"
import * as DnsForwarder from "../../../src/layers/dns/DnsForwarder.js"

const one: HostPort = { host: "192.0.2.1", port: 53 }
const two: HostPort = { host: "192.0.2.2", port: 53 }

const queryFor = (name: string): Wire.Query => {
  const inspection = Wire.inspect(dnsPacket.encode({ type: "query", id: 777, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A" }] }))
  if (inspection._tag !== "Query") throw new Error("not a query")
  return inspection.query
}

/** An answer to `message` (same id and question) with `rcode`, `count` A records, TC if asked. */
const answerTo = (message: Buffer, options: { rcode?: number; count?: number; tc?: boolean; name?: string } = {}) => {
  const asked = dnsPacket.decode(message)
  const name = options.name ?? asked.questions![0]!.name
  return dnsPacket.encode({
    type: "response",
    id: asked.id,
    flags: (options.tc === true ? dnsPacket.TRUNCATED_RESPONSE : 0) | (options.rcode ?? 0),
    questions: [{ name, type: "A" }],
    answers: Array.from({ length: options.count ?? 1 }, (_, i) => ({ type: "A" as const, name, ttl: 60, data: `198.51.100.${i}` }))
  })
}

type Script = (message: Buffer) => Effect.Effect<Buffer, DnsForwarder.ExchangeFailure>
const silent: Script = () => Effect.never
const refused: Script = () => Effect.fail(new DnsForwarder.ExchangeFailure({ reason: "connect ECONNREFUSED" }))
const answers = (options: Parameters<typeof answerTo>[1] = {}): Script => (message) => Effect.succeed(answerTo(message, options))

/** Upstreams that follow a script per address and transport, and a log of [transport, upstream, virtual ms]. */
const scripted = (udp: Record<string, Script>, tcp: Record<string, Script> = {}) => {
  const calls: Array<readonly [string, string, number]> = []
  const via = (transport: "udp" | "tcp", scripts: Record<string, Script>) => (upstream: HostPort, message: Buffer) =>
    Effect.gen(function*() {
      calls.push([transport, formatHostPort(upstream), yield* Clock.currentTimeMillis])
      return yield* (scripts[formatHostPort(upstream)] ?? refused)(message)
    })
  const exchange: DnsForwarder.UpstreamExchange = { udp: via("udp", udp), tcp: via("tcp", tcp) }
  return { exchange, calls }
}

const outcomeNow = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.map((exit) => exit))

describe("the time budget", () => {
  it.effect("a silent upstream costs exactly the 2 s budget, then the forward fails (SERVFAIL)", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: silent })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      const fiber = yield* Effect.fork(forwarder.forward(queryFor("example.com")))
      yield* TestClock.adjust(Duration.millis(1999))
      expect(Option.isNone(yield* outcomeNow(fiber))).toBe(true)
      yield* TestClock.adjust(Duration.millis(1))
      expect(yield* Fiber.join(fiber)).toEqual({ _tag: "Failed", reason: "192.0.2.1:53: timed out" })
      expect(yield* forwarder.inFlight).toBe(0)
    }))

  it.effect("is shared by the upstreams: the first silent one gets half, the second answers at 1 s", () =>
    Effect.gen(function*() {
      const { exchange, calls } = scripted({ [formatHostPort(one)]: silent, [formatHostPort(two)]: answers() })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      const fiber = yield* Effect.fork(forwarder.forward(queryFor("example.com")))
      yield* TestClock.adjust(Duration.seconds(1))
      const outcome = yield* Fiber.join(fiber)
      expect(outcome).toMatchObject({ _tag: "Answered", upstream: two })
      expect(calls).toEqual([["udp", "192.0.2.1:53", 0], ["udp", "192.0.2.2:53", 1000]])
    }))

  it.effect("follows a configured timeout", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: silent })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange, timeout: "500 millis" })
      const fiber = yield* Effect.fork(forwarder.forward(queryFor("example.com")))
      yield* TestClock.adjust(Duration.millis(500))
      expect(yield* Fiber.join(fiber)).toMatchObject({ _tag: "Failed" })
    }))

  it.effect("a refused upstream passes to the next one at once, with the rest of the budget", () =>
    Effect.gen(function*() {
      const { exchange, calls } = scripted({ [formatHostPort(one)]: refused, [formatHostPort(two)]: answers() })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      expect(yield* forwarder.forward(queryFor("example.com"))).toMatchObject({ _tag: "Answered", upstream: two })
      expect(calls.map(([, , at]) => at)).toEqual([0, 0])
    }))

  it.effect("with every upstream refusing, fails at once rather than waiting", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({})
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      expect(yield* forwarder.forward(queryFor("example.com"))).toEqual({ _tag: "Failed", reason: "192.0.2.2:53: connect ECONNREFUSED" })
    }))
})

describe("which answer counts", () => {
  it.effect("an upstream's SERVFAIL or REFUSED passes the query to the next upstream", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: answers({ rcode: 2 }), [formatHostPort(two)]: answers() })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      const outcome = yield* forwarder.forward(queryFor("example.com"))
      expect(outcome).toMatchObject({ _tag: "Answered", upstream: two })
    }))

  it.effect("when all of them fail that way, the last one's answer is passed on", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: answers({ rcode: 2 }), [formatHostPort(two)]: answers({ rcode: 5 }) })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      const outcome = yield* forwarder.forward(queryFor("example.com"))
      expect(outcome._tag === "Answered" && Wire.rcodeOf(outcome.message)).toBe("REFUSED")
    }))

  it.effect("NXDOMAIN is an answer: passed on, the next upstream not asked", () =>
    Effect.gen(function*() {
      const { exchange, calls } = scripted({ [formatHostPort(one)]: answers({ rcode: 3, count: 0 }), [formatHostPort(two)]: answers() })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one, two], exchange })
      const outcome = yield* forwarder.forward(queryFor("nowhere.example"))
      expect(outcome._tag === "Answered" && Wire.rcodeOf(outcome.message)).toBe("NXDOMAIN")
      expect(calls).toHaveLength(1)
    }))

  it.effect("an answer to another question is not taken", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: answers({ name: "evil.example" }) })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      expect(yield* forwarder.forward(queryFor("example.com"))).toEqual({ _tag: "Failed", reason: "192.0.2.1:53: answered another question" })
    }))

  it.effect("an answer with another id is not taken", () =>
    Effect.gen(function*() {
      const wrongId: Script = (message) => Effect.succeed(Wire.withId(answerTo(message), message.readUInt16BE(0) ^ 1))
      const { exchange } = scripted({ [formatHostPort(one)]: wrongId })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      expect(yield* forwarder.forward(queryFor("example.com"))).toMatchObject({ _tag: "Failed" })
    }))

  it.effect("goes out under an id of its own, not the asker's", () =>
    Effect.gen(function*() {
      const ids: Array<number> = []
      const record: Script = (message) => {
        ids.push(message.readUInt16BE(0))
        return Effect.succeed(answerTo(message))
      }
      const { exchange } = scripted({ [formatHostPort(one)]: record })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      for (let i = 0; i < 20; i++) yield* forwarder.forward(queryFor("example.com"))
      expect(new Set(ids).size).toBeGreaterThan(1) // random, so not always the asker's 777
    }))
})

describe("truncated answers", () => {
  it.effect("a truncated UDP answer is asked again over TCP, of the same upstream", () =>
    Effect.gen(function*() {
      const { exchange, calls } = scripted(
        { [formatHostPort(one)]: answers({ tc: true, count: 0 }) },
        { [formatHostPort(one)]: answers({ count: 40 }) }
      )
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      const outcome = yield* forwarder.forward(queryFor("big.example"))
      expect(calls.map(([transport]) => transport)).toEqual(["udp", "tcp"])
      expect(outcome._tag === "Answered" && dnsPacket.decode(outcome.message).answers).toHaveLength(40)
    }))

  it.effect("when TCP fails, the truncated answer is passed on (the asker retries over TCP itself)", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: answers({ tc: true, count: 0 }) }, { [formatHostPort(one)]: refused })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      const outcome = yield* forwarder.forward(queryFor("big.example"))
      expect(outcome._tag === "Answered" && Wire.isTruncated(outcome.message)).toBe(true)
    }))

  it.effect("the TCP retry is inside the same budget", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: answers({ tc: true, count: 0 }) }, { [formatHostPort(one)]: silent })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange })
      const fiber = yield* Effect.fork(forwarder.forward(queryFor("big.example")))
      yield* TestClock.adjust(Duration.seconds(2))
      expect(yield* Fiber.join(fiber)).toEqual({ _tag: "Failed", reason: "192.0.2.1:53: timed out" })
    }))
})

describe("forwards in flight", () => {
  it.effect("are bounded: past the bound a query fails at once, and room comes back as they end", () =>
    Effect.gen(function*() {
      const { exchange } = scripted({ [formatHostPort(one)]: silent })
      const forwarder = yield* DnsForwarder.make({ upstreams: [one], exchange, maxInFlight: 2 })
      const first = yield* Effect.fork(forwarder.forward(queryFor("a.example")))
      const second = yield* Effect.fork(forwarder.forward(queryFor("b.example")))
      yield* Effect.yieldNow()
      expect(yield* forwarder.inFlight).toBe(2)
      expect(yield* forwarder.forward(queryFor("c.example"))).toEqual({ _tag: "Failed", reason: "2 forwards already in flight" })
      yield* TestClock.adjust(Duration.seconds(2))
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(yield* forwarder.inFlight).toBe(0)
      const third = yield* Effect.fork(forwarder.forward(queryFor("d.example")))
      yield* Effect.yieldNow()
      expect(yield* forwarder.inFlight).toBe(1)
      yield* Fiber.interrupt(third)
      expect(yield* forwarder.inFlight).toBe(0) // an interrupted forward gives its slot back
    }))

  it.effect("without any upstream, every forward fails at once", () =>
    Effect.gen(function*() {
      const forwarder = yield* DnsForwarder.make({ upstreams: [] })
      expect(yield* forwarder.forward(queryFor("example.com"))).toEqual({ _tag: "Failed", reason: "no upstream resolver configured" })
    }))
})
