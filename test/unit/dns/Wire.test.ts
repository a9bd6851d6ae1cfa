// The wire rules: what is dropped, what gets FORMERR / NOTIMP / BADVERS, how large a UDP answer may
// be, how an answer too large for it is cut (TC), and how an upstream's answer goes back to the asker.
import * as dnsPacket from "dns-packet"
import { describe, expect, it } from "vitest"
import type { AddressAnswer } from "../../../src/domain/dns/Answer.js"
import * as Wire from "../../../src/domain/dns/Wire.js"

const query = (packet: Partial<dnsPacket.Packet> = {}): Buffer =>
  dnsPacket.encode({
    type: "query",
    id: 0x1234,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name: "web.shop.internal", type: "A", class: "IN" }],
    ...packet
  })

const edns = (udpPayloadSize: number, ednsVersion = 0): dnsPacket.OptAnswer => ({
  type: "OPT",
  name: ".",
  udpPayloadSize,
  extendedRcode: 0,
  ednsVersion,
  flags: 0,
  flag_do: false,
  options: []
})

const parsed = (bytes: Buffer): Wire.Query => {
  const inspection = Wire.inspect(bytes)
  if (inspection._tag !== "Query") throw new Error(`expected a query, got ${inspection._tag}`)
  return inspection.query
}

const rejected = (bytes: Buffer) => {
  const inspection = Wire.inspect(bytes)
  if (inspection._tag !== "Reject") throw new Error(`expected a rejection, got ${inspection._tag}`)
  return { ...inspection.answer, decoded: dnsPacket.decode(inspection.answer.bytes) }
}

const header = (id: number, flags: number, qd: number, rest: Array<number> = []) => {
  const bytes = Buffer.alloc(12 + rest.length)
  bytes.writeUInt16BE(id, 0)
  bytes.writeUInt16BE(flags, 2)
  bytes.writeUInt16BE(qd, 4)
  Buffer.from(rest).copy(bytes, 12)
  return bytes
}

const rcodeBits = (bytes: Buffer) => bytes.readUInt16BE(2) & 0xf

describe("inspecting what arrives", () => {
  it.each([0, 1, 11])("drops %i bytes: no header, nothing to answer", (length) => {
    expect(Wire.inspect(Buffer.alloc(length))).toEqual({ _tag: "Drop", reason: "short" })
  })

  it("drops a response (QR=1): answering it would bounce errors between servers", () => {
    expect(Wire.inspect(query({ type: "response" }))).toEqual({ _tag: "Drop", reason: "response" })
  })

  it.each([
    ["IQUERY", 1],
    ["STATUS", 2],
    ["NOTIFY", 4],
    ["UPDATE", 5],
    ["unassigned 15", 15]
  ])("answers opcode %s with NOTIMP, header only, id and opcode echoed", (_name, opcode) => {
    const answer = rejected(query({ flags: opcode << 11 }))
    expect(answer.rcode).toBe("NOTIMP")
    expect(rcodeBits(answer.bytes)).toBe(4)
    expect(answer.decoded).toMatchObject({ id: 0x1234, type: "response", questions: [] })
    expect((answer.bytes.readUInt16BE(2) >> 11) & 0xf).toBe(opcode)
  })

  it.each([0, 2, 65535])("answers %i questions with FORMERR, header only", (count) => {
    const bytes = query({ questions: [{ name: "a.example", type: "A" }, { name: "b.example", type: "A" }] })
    bytes.writeUInt16BE(count, 4)
    const answer = rejected(bytes)
    expect(answer.rcode).toBe("FORMERR")
    expect(answer.decoded).toMatchObject({ id: 0x1234, type: "response", questions: [] })
  })

  it("answers FORMERR when the header reads but the rest does not", () => {
    for (const bytes of [
      header(7, 0x0100, 1), // the question is missing
      header(7, 0x0100, 1, [3, 0x61, 0x62]), // a label longer than the packet
      header(7, 0x0100, 1, [0xc0, 0x0c, 0, 1, 0, 1]), // a compression pointer to itself
      header(7, 0x0100, 1, [0x80, 0x61, 0, 0, 1, 0, 1]), // a reserved label type
      query().subarray(0, 20) // cut in the middle of the name
    ]) {
      const answer = rejected(bytes)
      expect(answer.rcode).toBe("FORMERR")
      expect(answer.decoded.id).toBe(bytes.readUInt16BE(0))
      expect(answer.bytes.length).toBe(12)
    }
  })

  it("answers FORMERR to two OPT records", () => {
    expect(rejected(query({ additionals: [edns(1232), edns(1232)] })).rcode).toBe("FORMERR")
  })

  it("answers BADVERS (extended rcode 16, in the OPT) to an EDNS version above 0", () => {
    const answer = rejected(query({ additionals: [edns(1232, 1)] }))
    expect(answer.rcode).toBe("OTHER")
    const opt = answer.decoded.additionals?.find((a): a is dnsPacket.OptAnswer => a.type === "OPT")
    expect(opt).toMatchObject({ extendedRcode: 1, ednsVersion: 0 })
    expect(rcodeBits(answer.bytes)).toBe(0)
  })

  it("reads a good query: id, flags, question, EDNS size", () => {
    const q = parsed(query({ flags: dnsPacket.RECURSION_DESIRED | dnsPacket.CHECKING_DISABLED, additionals: [edns(4096)] }))
    expect(q).toMatchObject({
      id: 0x1234,
      rd: true,
      cd: true,
      question: { name: "web.shop.internal", type: "A", class: "IN" },
      edns: { udpPayloadSize: 4096, version: 0 }
    })
  })

  it("keeps an unknown type's number", () => {
    const q = parsed(query({ questions: [{ name: "web.shop.internal", type: "UNKNOWN_65280" as dnsPacket.RecordType }] }))
    expect(q.question.type).toBe("UNKNOWN_65280")
  })
})

describe("how large a UDP answer may be", () => {
  it.each([
    ["no EDNS", undefined, "udp", 512],
    ["EDNS 4096 (capped: no fragments)", 4096, "udp", 1232],
    ["EDNS 800", 800, "udp", 800],
    ["EDNS below 512 (means 512)", 100, "udp", 512],
    ["TCP", undefined, "tcp", 65535]
  ] as const)("%s: %s bytes over %s → %i", (_what, size, transport, limit) => {
    const q = parsed(query(size === undefined ? {} : { additionals: [edns(size)] }))
    expect(Wire.responseLimit(q, transport)).toBe(limit)
  })
})

const addresses = (count: number, name = "web.shop.internal"): Array<AddressAnswer> =>
  Array.from({ length: count }, (_, i) => ({ name, type: "A", ttl: 5, address: `10.0.${i >> 8}.${i & 255}` }))

describe("a local answer", () => {
  it("carries NXDOMAIN in the header (dns-packet ignores rcode: it is in the flags)", () => {
    const answer = Wire.localAnswer(parsed(query()), "NXDOMAIN", [], 512)
    expect(answer.rcode).toBe("NXDOMAIN")
    expect(rcodeBits(answer.bytes)).toBe(3)
    expect(dnsPacket.decode(answer.bytes)).toMatchObject({ rcode: "NXDOMAIN" })
  })

  it("is authoritative, echoes RD and the question, offers recursion, and keeps the id", () => {
    const decoded = dnsPacket.decode(Wire.localAnswer(parsed(query()), "NOERROR", addresses(2), 512).bytes)
    expect(decoded).toMatchObject({
      id: 0x1234,
      type: "response",
      flag_aa: true,
      flag_rd: true,
      flag_ra: true,
      flag_tc: false,
      questions: [{ name: "web.shop.internal", type: "A", class: "IN" }]
    })
    expect(decoded.answers?.map((a) => (a.type === "A" ? [a.data, a.ttl] : []))).toEqual([["10.0.0.0", 5], ["10.0.0.1", 5]])
  })

  it("carries an OPT record when the query had one, and none otherwise", () => {
    const withEdns = dnsPacket.decode(Wire.localAnswer(parsed(query({ additionals: [edns(1232)] })), "NOERROR", [], 1232).bytes)
    expect(withEdns.additionals?.map((a) => a.type)).toEqual(["OPT"])
    const without = dnsPacket.decode(Wire.localAnswer(parsed(query()), "NOERROR", [], 512).bytes)
    expect(without.additionals).toEqual([])
  })

  it("that does not fit is cut to header + question with TC, within the limit", () => {
    for (const limit of [512, 800, 1232]) {
      const answer = Wire.localAnswer(parsed(query()), "NOERROR", addresses(100), limit)
      expect(answer.bytes.length).toBeLessThanOrEqual(limit)
      expect(answer.truncated).toBe(true)
      expect(dnsPacket.decode(answer.bytes)).toMatchObject({ flag_tc: true, answers: [], questions: [{ name: "web.shop.internal" }] })
    }
  })

  it("that fits is whole, and the same answer goes whole over TCP", () => {
    const q = parsed(query())
    expect(Wire.localAnswer(q, "NOERROR", addresses(10), 512).truncated).toBe(false)
    const overTcp = Wire.localAnswer(q, "NOERROR", addresses(1000), Wire.responseLimit(q, "tcp"))
    expect(overTcp.truncated).toBe(false)
    expect(dnsPacket.decode(overTcp.bytes).answers).toHaveLength(1000)
  })
})

describe("an upstream's answer", () => {
  const upstreamAnswer = (count: number, rcode = 0) =>
    dnsPacket.encode({
      type: "response",
      id: 0xbeef, // the forwarder's own id
      flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | rcode,
      questions: [{ name: "big.example", type: "A", class: "IN" }],
      answers: addresses(count, "big.example").map((a) => ({ type: "A", name: a.name, ttl: 60, data: a.address }))
    })
  const asked = parsed(query({ id: 42, questions: [{ name: "big.example", type: "A", class: "IN" }] }))

  it("goes back with the asker's id, as it is, when it fits", () => {
    const answer = Wire.forwardedAnswer(asked, upstreamAnswer(3), 512)
    expect(answer.truncated).toBe(false)
    expect(answer.bytes.readUInt16BE(0)).toBe(42)
    expect(answer.bytes.subarray(2)).toEqual(upstreamAnswer(3).subarray(2))
  })

  it("is cut to header + question with TC when too large, keeping its rcode", () => {
    const answer = Wire.forwardedAnswer(asked, upstreamAnswer(60), 512)
    expect(answer).toMatchObject({ truncated: true, rcode: "NOERROR" })
    expect(answer.bytes.length).toBeLessThanOrEqual(512)
    expect(dnsPacket.decode(answer.bytes)).toMatchObject({ id: 42, flag_tc: true, answers: [], questions: [{ name: "big.example" }] })
  })

  it("counts by the rcode the upstream gave", () => {
    expect(Wire.forwardedAnswer(asked, upstreamAnswer(0, 3), 512).rcode).toBe("NXDOMAIN")
    expect(Wire.forwardedAnswer(asked, upstreamAnswer(0, 9), 512).rcode).toBe("OTHER")
  })

  it("is recognised as answering the question only with QR set and the same name and type", () => {
    expect(Wire.answersQuestion(asked, upstreamAnswer(1))).toBe(true)
    expect(Wire.answersQuestion(parsed(query({ questions: [{ name: "BIG.example", type: "A" }] })), upstreamAnswer(1))).toBe(true)
    expect(Wire.answersQuestion(parsed(query({ questions: [{ name: "other.example", type: "A" }] })), upstreamAnswer(1))).toBe(false)
    expect(Wire.answersQuestion(parsed(query({ questions: [{ name: "big.example", type: "AAAA" }] })), upstreamAnswer(1))).toBe(false)
    expect(Wire.answersQuestion(asked, query({ questions: [{ name: "big.example", type: "A" }] }))).toBe(false) // a query, not an answer
    expect(Wire.answersQuestion(asked, Buffer.from([1, 2, 3]))).toBe(false)
  })

  it("SERVFAIL when forwarding failed echoes the question", () => {
    const answer = Wire.failureAnswer(asked, "SERVFAIL", 512)
    expect(answer.rcode).toBe("SERVFAIL")
    expect(dnsPacket.decode(answer.bytes)).toMatchObject({ id: 42, rcode: "SERVFAIL", questions: [{ name: "big.example" }] })
  })
})

describe("TCP framing", () => {
  it("puts the 2-byte length in front", () => {
    const frame = Wire.tcpFrame(Buffer.from([9, 8, 7]))
    expect([...frame]).toEqual([0, 3, 9, 8, 7])
  })
})
