// The resolver without sockets: bytes in, bytes out. Pushed changes are answered from the very next
// query (the resolver caches nothing; the short TTL bounds what clients cache), revision gaps are
// refused, forwards go through the forwarder, and every answer is counted by its code.
import { describe, expect, it } from "@effect/vitest"
import * as dnsPacket from "dns-packet"
import { Clock, type Duration, Effect, Option } from "effect"
import { nodeAddresses, reachableOnNode } from "../../../src/domain/dns/Answer.js"
import { DnsRevisionGap } from "../../../src/domain/dns/DnsErrors.js"
import { toSnapshot } from "../../../src/domain/dns/Records.js"
import * as Wire from "../../../src/domain/dns/Wire.js"
import * as DnsForwarder from "../../../src/layers/dns/DnsForwarder.js"
import * as DnsHandler from "../../../src/layers/dns/DnsHandler.js"
import { DnsResolver } from "../../../src/services/dns/DnsResolver.js"
import { cluster, nodeA, pod } from "./fixtures.js"

const ask = (name: string, type: dnsPacket.RecordType = "A", id = 1) =>
  dnsPacket.encode({ type: "query", id, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type }] })

const isNode = nodeAddresses([])
const noUpstream = DnsForwarder.make({ upstreams: [] })

/** The reaction's bytes, decoded (forwards run to completion). */
const reply = (handler: DnsHandler.DnsHandler, message: Buffer, source = "127.0.0.1", transport: "udp" | "tcp" = "udp") =>
  Effect.gen(function*() {
    const reaction = handler.handle(message, source, transport)
    const bytes = reaction._tag === "Reply" ? reaction.bytes : reaction._tag === "Later" ? yield* reaction.reply : undefined
    return bytes === undefined ? undefined : { ...dnsPacket.decode(bytes), rcode: Wire.rcodeOf(bytes) }
  })

const addressesOf = (decoded: dnsPacket.DecodedPacket | undefined) =>
  (decoded?.answers ?? []).flatMap((a) => (a.type === "A" || a.type === "AAAA" ? [a.data] : [])).sort()

describe("record changes", () => {
  it.effect("a snapshot is answered from the next query on", () =>
    Effect.gen(function*() {
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream })
      expect((yield* reply(handler, ask("web.shop.internal")))?.rcode).toBe("NXDOMAIN") // nothing pushed yet
      yield* handler.replace({ revision: 1, records: cluster() })
      expect(addressesOf(yield* reply(handler, ask("web.shop.internal")))).toEqual(["10.1.0.10", "10.2.0.12"])
    }))

  it.effect("a scale-down delta takes the pod out of the very next answer, at the same virtual instant", () =>
    Effect.gen(function*() {
      const records = cluster()
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 4, records } })
      const before = yield* Clock.currentTimeMillis
      const web2 = records.find((r) => r.project === "shop" && r.deployment === "web" && r.replicaIndex === 2)!
      yield* handler.applyDelta({ revision: 5, upsert: [], remove: [web2.podId] })
      expect(addressesOf(yield* reply(handler, ask("web.shop.internal")))).toEqual(["10.1.0.10"])
      expect((yield* reply(handler, ask("web-2.shop.internal")))?.rcode).toBe("NXDOMAIN")
      expect(yield* Clock.currentTimeMillis).toBe(before)
      expect((yield* handler.records).revision).toBe(5)
    }))

  it.effect("a pod failing its health check drops out, and comes back once it passes", () =>
    Effect.gen(function*() {
      const web = pod("shop", "web", 0, "10.1.0.10")
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 1, records: [web] } })
      yield* handler.applyDelta({ revision: 2, upsert: [{ ...web, ready: false }], remove: [] })
      const unhealthy = yield* reply(handler, ask("web.shop.internal"))
      expect([unhealthy?.rcode, addressesOf(unhealthy)]).toEqual(["NOERROR", []])
      yield* handler.applyDelta({ revision: 3, upsert: [web], remove: [] })
      expect(addressesOf(yield* reply(handler, ask("web.shop.internal")))).toEqual(["10.1.0.10"])
    }))

  it.effect("a delta that skips revisions is refused with DnsRevisionGap and changes nothing", () =>
    Effect.gen(function*() {
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 4, records: cluster() } })
      const error = yield* Effect.flip(handler.applyDelta({ revision: 6, upsert: [], remove: [] }))
      expect(error).toEqual(new DnsRevisionGap({ current: 4, received: 6 }))
      expect(error.message).toBe("DNS delta 6 does not follow revision 4: a snapshot is needed")
      expect((yield* handler.records).revision).toBe(4)
    }))

  it.effect("a re-delivered delta is ignored", () =>
    Effect.gen(function*() {
      const records = cluster()
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 4, records } })
      yield* handler.applyDelta({ revision: 4, upsert: [], remove: records.map((r) => r.podId) })
      expect((yield* handler.records).pods.size).toBe(records.length)
    }))

  it.effect("a snapshot wins whatever its revision (a restarted master counts anew)", () =>
    Effect.gen(function*() {
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 90, records: cluster() } })
      yield* handler.replace({ revision: 1, records: [pod("shop", "web", 0, "10.1.0.77")] })
      expect(addressesOf(yield* reply(handler, ask("web.shop.internal")))).toEqual(["10.1.0.77"])
    }))
})

describe("answers", () => {
  it.effect("carry a TTL of 5 s by default, and the configured one otherwise", () =>
    Effect.gen(function*() {
      const ttlOf = (ttl?: Duration.DurationInput) =>
        Effect.gen(function*() {
          const handler = yield* DnsHandler.make({ ttl, isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 1, records: cluster() } })
          const answer = (yield* reply(handler, ask("web-0.shop.internal")))?.answers?.[0]
          return answer?.type === "A" ? answer.ttl : undefined
        })
      expect(yield* ttlOf()).toBe(5)
      expect(yield* ttlOf("30 seconds")).toBe(30)
      expect(yield* ttlOf("1500 millis")).toBe(1)
    }))

  it.effect("come from the asker's point of view: its project, and what this node reaches", () =>
    Effect.gen(function*() {
      const handler = yield* DnsHandler.make({
        isNodeAddress: isNode,
        reachable: reachableOnNode(nodeA),
        localNode: nodeA,
        forwarder: yield* noUpstream,
        initial: { revision: 1, records: cluster() }
      })
      expect((yield* reply(handler, ask("web.billing.internal"), "10.1.0.10"))?.rcode).toBe("NXDOMAIN") // a shop pod
      expect(addressesOf(yield* reply(handler, ask("web.shop.internal"), "10.1.0.10"))).toEqual(["10.1.0.10"]) // web-2 is on node B
      expect(addressesOf(yield* reply(handler, ask("web.billing.internal"), "127.0.0.1"))).toEqual(["10.1.1.10"]) // the node
    }))

  it.effect("forward other names and give the asker its own id back", () =>
    Effect.gen(function*() {
      const exchange: DnsForwarder.UpstreamExchange = {
        udp: (_upstream, message) => {
          const asked = dnsPacket.decode(message)
          return Effect.succeed(dnsPacket.encode({
            type: "response",
            id: asked.id,
            questions: asked.questions,
            answers: [{ type: "A", name: "example.com", ttl: 300, data: "192.0.2.80" }]
          }))
        },
        tcp: () => Effect.never
      }
      const forwarder = yield* DnsForwarder.make({ upstreams: [{ host: "192.0.2.1", port: 53 }], exchange })
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder })
      const reaction = handler.handle(ask("example.com", "A", 4242), "10.9.9.9", "udp")
      expect(reaction._tag).toBe("Later")
      const decoded = yield* reply(handler, ask("example.com", "A", 4242), "10.9.9.9")
      expect(decoded).toMatchObject({ id: 4242, rcode: "NOERROR" })
      expect(addressesOf(decoded)).toEqual(["192.0.2.80"])
    }))
})

describe("counting", () => {
  it.effect("counts answers by code, forwards, truncations and drops", () =>
    Effect.gen(function*() {
      const many = Array.from({ length: 60 }, (_, i) => pod("shop", "big", i, `10.3.0.${i}`))
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream, initial: { revision: 1, records: many } })
      yield* reply(handler, ask("big-0.shop.internal")) // NOERROR
      yield* reply(handler, ask("big.shop.internal")) // NOERROR, truncated (60 addresses > 512 bytes)
      yield* reply(handler, ask("nope.shop.internal")) // NXDOMAIN
      yield* reply(handler, ask("example.com")) // forwarded, no upstream: SERVFAIL
      yield* reply(handler, Buffer.from([1, 2, 3])) // dropped
      yield* reply(handler, dnsPacket.encode({ type: "response", id: 1, questions: [] })) // dropped
      const garbage = Buffer.alloc(20, 0xff)
      garbage.writeUInt16BE(0x0100, 2)
      garbage.writeUInt16BE(1, 4)
      yield* reply(handler, garbage) // FORMERR
      yield* reply(handler, dnsPacket.encode({ type: "query", id: 1, flags: 5 << 11, questions: [] })) // NOTIMP (UPDATE)
      const stats = yield* handler.stats
      expect(stats).toEqual({
        responses: { NOERROR: 2, NXDOMAIN: 1, SERVFAIL: 1, FORMERR: 1, NOTIMP: 1, REFUSED: 0, OTHER: 0 },
        forwarded: 1,
        forwardFailures: 1,
        truncated: 1,
        dropped: 2
      })
    }))

  it.effect("never throws, whatever arrives", () =>
    Effect.gen(function*() {
      const handler = yield* DnsHandler.make({ isNodeAddress: isNode, forwarder: yield* noUpstream })
      for (let length = 0; length < 64; length++) {
        const bytes = Buffer.alloc(length, length)
        if (length >= 6) bytes.writeUInt16BE(1, 4)
        expect(() => handler.handle(bytes, "not an address", "udp")).not.toThrow()
      }
    }))
})

describe("the port's own variants", () => {
  it.effect("the memory resolver keeps records as the server does", () =>
    Effect.gen(function*() {
      const resolver = yield* DnsResolver
      yield* resolver.applyDelta({ revision: 4, upsert: [pod("shop", "web", 9, "10.1.0.99")], remove: [] })
      expect((yield* resolver.records).pods.size).toBe(cluster().length + 1)
      expect(yield* Effect.flip(resolver.applyDelta({ revision: 9, upsert: [], remove: [] }))).toBeInstanceOf(DnsRevisionGap)
      expect(Option.isNone(resolver.endpoint)).toBe(true)
    }).pipe(Effect.provide(DnsResolver.layerMemory({ revision: 3, records: cluster() }))))

  it.effect("the no-op resolver accepts every push and keeps nothing", () =>
    Effect.gen(function*() {
      const resolver = yield* DnsResolver
      yield* resolver.replace(toSnapshot((yield* resolver.records)))
      yield* resolver.applyDelta({ revision: 99, upsert: [pod("shop", "web", 0, "10.1.0.1")], remove: [] })
      expect((yield* resolver.records).pods.size).toBe(0)
      expect((yield* resolver.stats).forwarded).toBe(0)
    }).pipe(Effect.provide(DnsResolver.layerNoop)))
})
