// Fuzzing a real resolver: 10,000 seeded malformed, truncated, oversized and unknown-type packets
// over UDP and 600 frames over TCP (with broken framing too). Whatever arrives, every answer is a
// response to a query that was sent (never to a response), at most one per packet, never larger than
// 512 bytes or the size the packet advertised; and afterwards the resolver still answers a good query
// over UDP and TCP. The seed is random per run and printed on failure: DNS_FUZZ_SEED=<seed> replays it.
import { describe, expect, it } from "@effect/vitest"
import * as dnsPacket from "dns-packet"
import { Effect } from "effect"
import { pod } from "../../unit/dns/fixtures.js"
import { eventually } from "../../support/harness/Eventually.js"
import { dig, digData, startResolver, tcpClient, udpClient } from "./DnsTools.js"
import * as FakeUpstream from "./FakeUpstream.js"

const UDP_PACKETS = 10_000
const BATCH = 100
const TCP_CONNECTIONS = 24
const FRAMES_PER_CONNECTION = 25

/** mulberry32: small, seeded, good enough to pick bytes */
const prng = (seed: number) => {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (below: number) => Math.floor(next() * below)
  const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
  const bytes = (length: number) => Buffer.from(Array.from({ length }, () => int(256)))
  return { next, int, pick, bytes }
}
type Rng = ReturnType<typeof prng>

const NAMES = [
  "web.shop.internal",
  "web-0.shop.internal",
  "WEB-1.Shop.Internal",
  "nope.shop.internal",
  "shop.internal",
  "internal",
  "a.b.c.shop.internal",
  "example.test",
  "nowhere.test",
  "x".repeat(63) + ".internal",
  ""
]
const TYPES = [1, 28, 255, 15, 16, 6, 12, 33, 41, 250, 251, 252, 65280, 0, 65535]

const validQuery = (rng: Rng): Buffer => {
  const edns = rng.next() < 0.5
  const packet = dnsPacket.encode({
    type: "query",
    id: rng.int(65536),
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: rng.pick(NAMES), type: "A" }],
    ...(edns
      ? {
        additionals: [{
          type: "OPT",
          name: ".",
          udpPayloadSize: rng.pick([0, 100, 512, 513, 1232, 4096, 65535]),
          extendedRcode: 0,
          ednsVersion: rng.next() < 0.9 ? 0 : rng.int(256),
          flags: rng.int(65536),
          flag_do: false,
          options: []
        }]
      }
      : {})
  })
  // the question's type and class, as numbers (any, unknown ones included)
  const questionEnd = packet.indexOf(0, 12) + 1
  if (questionEnd > 0 && questionEnd + 4 <= packet.length) {
    packet.writeUInt16BE(rng.pick(TYPES), questionEnd)
    packet.writeUInt16BE(rng.next() < 0.8 ? 1 : rng.int(65536), questionEnd + 2)
  }
  return packet
}

/** One packet of a random kind. */
const fuzzPacket = (rng: Rng): Buffer => {
  const base = validQuery(rng)
  switch (rng.int(9)) {
    case 0: // random bytes
      return rng.bytes(rng.int(600))
    case 1: { // a few bytes flipped
      const copy = Buffer.from(base)
      for (let i = rng.int(6); i >= 0; i--) copy[rng.int(copy.length)] = rng.int(256)
      return copy
    }
    case 2: // cut short anywhere
      return base.subarray(0, rng.int(base.length))
    case 3: { // header fields: counts, opcode, QR, flags
      const copy = Buffer.from(base)
      copy.writeUInt16BE(rng.int(65536), 2)
      copy.writeUInt16BE(rng.pick([0, 1, 1, 2, 65535]), 4)
      copy.writeUInt16BE(rng.pick([0, 0, 1, 300]), 6)
      copy.writeUInt16BE(rng.pick([0, 0, 2]), 8)
      copy.writeUInt16BE(rng.pick([0, 1, 2, 65535]), 10)
      return copy
    }
    case 4: // oversized: garbage after a good query, or a big random datagram
      return rng.next() < 0.5 ? Buffer.concat([base, rng.bytes(rng.int(4000))]) : rng.bytes(1200 + rng.int(rng.next() < 0.1 ? 60_000 : 8000))
    case 5: { // compression pointers: to itself, forward, into the header, chains
      const header = Buffer.from(base.subarray(0, 12))
      header.writeUInt16BE(1, 4)
      const pointer = 0xc000 | rng.pick([0, 2, 12, 13, 14, 200, 0x3fff])
      const tail = Buffer.from([3, 0x77, 0x65, 0x62, pointer >> 8, pointer & 255, 0, 1, 0, 1])
      return Buffer.concat([header, rng.next() < 0.5 ? tail : tail.subarray(4)])
    }
    case 6: { // labels longer than what follows, reserved label types, names over 255 bytes
      const header = Buffer.from(base.subarray(0, 12))
      header.writeUInt16BE(1, 4)
      const labels: Array<Buffer> = []
      for (let i = rng.int(8); i >= 0; i--) {
        const length = rng.pick([1, 10, 63, 64, 127, 191])
        labels.push(Buffer.concat([Buffer.from([length]), rng.bytes(Math.min(length, rng.int(70)))]))
      }
      return Buffer.concat([header, ...labels, Buffer.from([0, 0, 1, 0, 1])])
    }
    case 7: // a response, well-formed: must never be answered
      return dnsPacket.encode({ type: "response", id: 1, questions: [{ name: rng.pick(NAMES), type: "A" }] })
    default: // a valid query of an unknown or odd type
      return base
  }
}

/** The most an answer to `sent` may carry over UDP: 512, or what its (decodable) OPT advertises. */
const allowedSize = (sent: Buffer): number => {
  try {
    const opt = dnsPacket.decode(sent).additionals?.find((a): a is dnsPacket.OptAnswer => a.type === "OPT")
    return opt === undefined ? 512 : Math.max(512, opt.udpPayloadSize)
  } catch {
    return 512
  }
}

const withId = (packet: Buffer, id: number) => {
  if (packet.length >= 2) packet.writeUInt16BE(id, 0)
  return packet
}

describe("fuzzing", () => {
  it.scopedLive(`${UDP_PACKETS} malformed UDP packets and ${TCP_CONNECTIONS * FRAMES_PER_CONNECTION} TCP frames: no crash, no amplification`, () => {
    const seed = Number(process.env.DNS_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 32))
    const rng = prng(seed)
    const because = (what: string) => `${what} (DNS_FUZZ_SEED=${seed})`
    return Effect.gen(function*() {
      const upstream = yield* FakeUpstream.start({ names: { "example.test": ["192.0.2.80"] } })
      const { port, resolver } = yield* startResolver({
        upstreams: [upstream.address],
        forwardTimeout: "300 millis",
        tcpIdleTimeout: "500 millis",
        initial: { revision: 1, records: [pod("shop", "web", 0, "10.1.0.10"), pod("shop", "web", 1, "10.1.0.11")] }
      })

      // UDP, in batches; every packet carries its own id (its number), so each answer maps back to it
      const client = yield* udpClient(port)
      const sent = new Map<number, Buffer>()
      const quiet = (atMostMs: number) =>
        Effect.gen(function*() {
          let seen = -1
          for (let waited = 0; waited < atMostMs && seen !== client.received.length; waited += 40) {
            seen = client.received.length
            yield* Effect.sleep("40 millis")
          }
        })
      for (let batch = 0; batch < UDP_PACKETS / BATCH; batch++) {
        for (let i = 0; i < BATCH; i++) {
          const id = batch * BATCH + i
          const packet = withId(fuzzPacket(rng), id)
          sent.set(id, packet)
          yield* client.send(packet)
        }
        yield* quiet(400)
      }
      yield* Effect.sleep("400 millis") // the last forwards (300 ms at most)
      const answersPerId = new Map<number, number>()
      for (const answer of client.received) {
        expect(answer.length, because("an answer has a header")).toBeGreaterThanOrEqual(12)
        expect(answer.readUInt16BE(2) & 0x8000, because("an answer has QR set")).toBe(0x8000)
        const id = answer.readUInt16BE(0)
        const packet = sent.get(id)
        expect(packet, because(`answer id ${id} is the id of a packet sent`)).toBeDefined()
        expect(packet!.length, because(`packet ${id}, shorter than a header, was not answered`)).toBeGreaterThanOrEqual(12)
        expect(packet!.readUInt16BE(2) & 0x8000, because(`packet ${id}, a response, was not answered`)).toBe(0)
        expect(answer.length, because(`the answer to packet ${id} fits its UDP size`)).toBeLessThanOrEqual(Math.min(allowedSize(packet!), 1232))
        answersPerId.set(id, (answersPerId.get(id) ?? 0) + 1)
      }
      expect(Math.max(0, ...answersPerId.values()), because("at most one answer per packet")).toBeLessThanOrEqual(1)
      const answered = client.received.length

      // TCP: frames of the same kinds, some connections with broken framing, one flooding
      for (let c = 0; c < TCP_CONNECTIONS; c++) {
        const connection = yield* tcpClient(port)
        const frames = Array.from({ length: FRAMES_PER_CONNECTION }, () => {
          const packet = fuzzPacket(rng).subarray(0, 65535)
          const length = Buffer.alloc(2)
          length.writeUInt16BE(rng.next() < 0.9 ? packet.length : rng.int(65536))
          return Buffer.concat([length, packet])
        })
        const stream = Buffer.concat(frames)
        // in random pieces, sometimes byte by byte at first
        for (let offset = 0; offset < stream.length;) {
          const piece = rng.next() < 0.1 ? 1 : 1 + rng.int(2000)
          yield* connection.write(stream.subarray(offset, offset + piece))
          offset += piece
        }
        yield* Effect.sleep("20 millis")
        for (const answer of connection.answers) {
          expect(answer.readUInt16BE(2) & 0x8000, because(`TCP answers are responses (connection ${c})`)).toBe(0x8000)
        }
        if (rng.next() < 0.5) yield* connection.end
      }
      const flood = yield* tcpClient(port)
      const tiny = Buffer.from([0, 1, 0])
      yield* flood.write(Buffer.concat(Array.from({ length: 1000 }, () => tiny)))
      yield* eventually(Effect.sync(() => flood.isClosed()), { what: "a client flooding frames it never reads is cut off" })

      // still serving
      expect(digData(yield* dig(port, ["web.shop.internal", "A"])), because("answers over UDP after the fuzz")).toEqual(["10.1.0.10", "10.1.0.11"])
      expect(digData(yield* dig(port, ["web.shop.internal", "A", "+tcp"])), because("answers over TCP after the fuzz")).toEqual([
        "10.1.0.10",
        "10.1.0.11"
      ])
      expect(digData(yield* dig(port, ["example.test", "A"])), because("still forwards after the fuzz")).toEqual(["192.0.2.80"])
      const stats = yield* resolver.stats
      expect(answered, because("most packets were answered")).toBeGreaterThan(UDP_PACKETS / 2)
      expect(stats.responses.FORMERR, because("FORMERR answers")).toBeGreaterThan(0)
      expect(stats.responses.NOTIMP, because("NOTIMP answers")).toBeGreaterThan(0)
      expect(stats.dropped, because("drops")).toBeGreaterThan(0)
    }).pipe(
      Effect.tapErrorCause(() => Effect.sync(() => process.stderr.write(`DNS fuzz failed with DNS_FUZZ_SEED=${seed}\n`)))
    )
  }, 120_000)
})
