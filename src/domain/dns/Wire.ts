// The DNS wire format around the resolver, on `dns-packet` (the codec; nothing here touches a socket):
// reading a query defensively, the error answers a bad one gets, encoding an answer, and the size
// rule that keeps UDP from amplifying (no answer larger than 512 bytes or the EDNS(0) size the query
// advertises: a bigger one goes out as header + question with TC set, and the client retries over TCP).
//
// dns-packet ignores `rcode` when encoding: the code is OR-ed into `flags` here.
import * as dnsPacket from "dns-packet"
import type { AddressAnswer, LocalRcode, Question } from "./Answer.js"

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, NOTIMP: 4, REFUSED: 5 } as const
/** The codes the resolver counts by; OTHER is any other (BADVERS, or what an upstream answered). */
export type ResponseCode = keyof typeof RCODE | "OTHER"
export const RESPONSE_CODES: ReadonlyArray<ResponseCode> = ["NOERROR", "NXDOMAIN", "SERVFAIL", "FORMERR", "NOTIMP", "REFUSED", "OTHER"]

/** What a UDP answer may fill without EDNS(0) (RFC 1035 §4.2.1). */
export const CLASSIC_UDP_LIMIT = 512
/** The most this resolver puts in one UDP answer whatever a query advertises (DNS flag day 2020: no fragments). */
export const MAX_UDP_PAYLOAD = 1232
/** A DNS message over TCP: 2-byte length prefix. */
export const MAX_TCP_MESSAGE = 65535

const QR = 0x8000
const OPCODE_MASK = 0x7800
const TC = 0x0200
const RD = 0x0100
const RA = 0x0080
const AA = 0x0400
const CD = 0x0010
const BADVERS_EXTENDED = 1 // extended rcode 16 = (1 << 4) | 0

export type Transport = "udp" | "tcp"

export interface Edns {
  readonly udpPayloadSize: number
  readonly version: number
}

/** A well-formed standard query with exactly one question. */
export interface Query {
  readonly id: number
  readonly rd: boolean
  readonly cd: boolean
  readonly question: Question
  /** the OPT record, when the query carries one */
  readonly edns: Edns | undefined
  /** the bytes as received (forwarded as they are, with another id) */
  readonly bytes: Buffer
}

/** An encoded answer, with the code it carries and whether it was cut to header + question (TC). */
export interface Encoded {
  readonly bytes: Buffer
  readonly rcode: ResponseCode
  readonly truncated: boolean
}

/**
 * - `Drop`: nothing can or should be answered: shorter than a header, or a response (answering
 *   responses lets two servers bounce error packets off each other forever);
 * - `Reject`: answer `bytes` (FORMERR for undecodable or not exactly one question, NOTIMP for an opcode
 *   other than QUERY, BADVERS for an EDNS version above 0);
 * - `Query`: decoded; resolve it.
 */
export type Inspection =
  | { readonly _tag: "Drop"; readonly reason: "short" | "response" }
  | { readonly _tag: "Reject"; readonly answer: Encoded }
  | { readonly _tag: "Query"; readonly query: Query }

export const rcodeName = (code: number): ResponseCode => {
  switch (code) {
    case 0:
      return "NOERROR"
    case 1:
      return "FORMERR"
    case 2:
      return "SERVFAIL"
    case 3:
      return "NXDOMAIN"
    case 4:
      return "NOTIMP"
    case 5:
      return "REFUSED"
    default:
      return "OTHER"
  }
}

/** A header-only answer (no question: the query's could not be read, or is not ours to echo). */
const headerOnly = (id: number, queryFlags: number, rcode: number): Encoded => ({
  bytes: dnsPacket.encode({ type: "response", id, flags: (queryFlags & (OPCODE_MASK | RD)) | rcode, questions: [] }),
  rcode: rcodeName(rcode),
  truncated: false
})

const optRecord = (extendedRcode = 0): dnsPacket.OptAnswer => ({
  type: "OPT",
  name: ".",
  udpPayloadSize: MAX_UDP_PAYLOAD,
  extendedRcode,
  ednsVersion: 0,
  flags: 0,
  flag_do: false,
  options: []
})

const additionalsFor = (query: Query, extendedRcode = 0): Array<dnsPacket.Answer> =>
  query.edns === undefined ? [] : [optRecord(extendedRcode)]

const questionOf = (query: Query): dnsPacket.Question => ({
  name: query.question.name,
  type: query.question.type as dnsPacket.RecordType,
  ...(query.question.class === undefined ? {} : { class: query.question.class as dnsPacket.RecordClass })
})

const flagsFor = (query: Query, rcode: number, authoritative: boolean) =>
  (authoritative ? AA : 0) | (query.rd ? RD : 0) | RA | (query.cd ? CD : 0) | rcode

/** Read a datagram or TCP frame as a query; never throws. */
export const inspect = (bytes: Buffer): Inspection => {
  if (bytes.length < 12) return { _tag: "Drop", reason: "short" }
  const id = bytes.readUInt16BE(0)
  const flags = bytes.readUInt16BE(2)
  if ((flags & QR) !== 0) return { _tag: "Drop", reason: "response" }
  if ((flags & OPCODE_MASK) !== 0) return { _tag: "Reject", answer: headerOnly(id, flags, RCODE.NOTIMP) }
  if (bytes.readUInt16BE(4) !== 1) return { _tag: "Reject", answer: headerOnly(id, flags, RCODE.FORMERR) }
  let decoded: dnsPacket.DecodedPacket
  try {
    decoded = dnsPacket.decode(bytes)
  } catch {
    return { _tag: "Reject", answer: headerOnly(id, flags, RCODE.FORMERR) }
  }
  const question = decoded.questions?.[0]
  const opts = (decoded.additionals ?? []).filter((a): a is dnsPacket.OptAnswer => a.type === "OPT")
  if (question === undefined || opts.length > 1 || (opts[0] !== undefined && opts[0].name !== ".")) {
    return { _tag: "Reject", answer: headerOnly(id, flags, RCODE.FORMERR) }
  }
  const opt = opts[0]
  const query: Query = {
    id,
    rd: (flags & RD) !== 0,
    cd: (flags & CD) !== 0,
    question: { name: question.name, type: question.type, class: question.class },
    edns: opt === undefined ? undefined : { udpPayloadSize: opt.udpPayloadSize, version: opt.ednsVersion },
    bytes
  }
  if (query.edns !== undefined && query.edns.version !== 0) {
    // RFC 6891 §6.1.3: BADVERS, carried in the OPT's extended rcode, with an OPT of our version 0
    const answer = encodeCapped(query, flagsFor(query, 0, false), [], MAX_TCP_MESSAGE, BADVERS_EXTENDED)
    return { _tag: "Reject", answer: { ...answer, rcode: "OTHER" } }
  }
  return { _tag: "Query", query }
}

/** The largest answer this query may get over this transport. */
export const responseLimit = (query: Query, transport: Transport): number => {
  if (transport === "tcp") return MAX_TCP_MESSAGE
  if (query.edns === undefined) return CLASSIC_UDP_LIMIT
  return Math.min(Math.max(CLASSIC_UDP_LIMIT, query.edns.udpPayloadSize), MAX_UDP_PAYLOAD)
}

const encodeCapped = (
  query: Query,
  flags: number,
  answers: Array<dnsPacket.Answer>,
  limit: number,
  extendedRcode = 0
): Encoded => {
  const packet = (withAnswers: Array<dnsPacket.Answer>, extra: number): dnsPacket.Packet => ({
    type: "response",
    id: query.id,
    flags: flags | extra,
    questions: [questionOf(query)],
    answers: withAnswers,
    additionals: additionalsFor(query, extendedRcode)
  })
  const full = dnsPacket.encode(packet(answers, 0))
  if (full.length <= limit) return { bytes: full, rcode: rcodeName(flags & 0xf), truncated: false }
  return truncatedAnswer(query, flags)
}

/** Header + question (+ OPT) with TC: always fits 512 bytes (a name is at most 255). */
const truncatedAnswer = (query: Query, flags: number): Encoded => ({
  bytes: dnsPacket.encode({
    type: "response",
    id: query.id,
    flags: (flags & ~QR) | TC,
    questions: [questionOf(query)],
    additionals: additionalsFor(query)
  }),
  rcode: rcodeName(flags & 0xf),
  truncated: true
})

/** A local (authoritative) answer for a `.internal` name, cut to header + question with TC above `limit`. */
export const localAnswer = (
  query: Query,
  rcode: LocalRcode,
  answers: ReadonlyArray<AddressAnswer>,
  limit: number
): Encoded =>
  encodeCapped(
    query,
    flagsFor(query, RCODE[rcode], true),
    answers.map((a): dnsPacket.Answer => ({ type: a.type, name: a.name, ttl: a.ttl, class: "IN", data: a.address })),
    limit
  )

/** An error answer that echoes the question (SERVFAIL when forwarding failed). */
export const failureAnswer = (query: Query, rcode: "SERVFAIL" | "REFUSED", limit: number): Encoded =>
  encodeCapped(query, flagsFor(query, RCODE[rcode], false), [], limit)

/** A copy of a message with another id. */
export const withId = (bytes: Buffer, id: number): Buffer => {
  const copy = Buffer.from(bytes)
  copy.writeUInt16BE(id & 0xffff, 0)
  return copy
}

/** Is this upstream message an answer (QR) to exactly this question? (Ids are checked by whoever sent it.) */
export const answersQuestion = (query: Query, bytes: Buffer): boolean => {
  if (bytes.length < 12 || (bytes.readUInt16BE(2) & QR) === 0) return false
  try {
    const q = dnsPacket.decode(bytes).questions?.[0]
    return q !== undefined && q.name.toLowerCase() === query.question.name.toLowerCase() && q.type === query.question.type
  } catch {
    return false
  }
}

/** Is the TC bit set? */
export const isTruncated = (bytes: Buffer): boolean => bytes.length >= 4 && (bytes.readUInt16BE(2) & TC) !== 0

/** The rcode in a message's header. */
export const rcodeOf = (bytes: Buffer): ResponseCode => (bytes.length >= 4 ? rcodeName(bytes.readUInt16BE(2) & 0xf) : "OTHER")

/**
 * An upstream's answer for the client who asked (its id back in place), cut to header + question with
 * TC (and the upstream's flags and rcode) when it is larger than the client may receive.
 */
export const forwardedAnswer = (query: Query, upstream: Buffer, limit: number): Encoded => {
  const bytes = withId(upstream, query.id)
  const flags = bytes.readUInt16BE(2)
  if (bytes.length <= limit) return { bytes, rcode: rcodeName(flags & 0xf), truncated: (flags & TC) !== 0 }
  return truncatedAnswer(query, flags)
}

/** The 2-byte length prefix of DNS over TCP (RFC 1035 §4.2.2) in front of a message. */
export const tcpFrame = (message: Buffer): Buffer => {
  const frame = Buffer.allocUnsafe(message.length + 2)
  frame.writeUInt16BE(message.length, 0)
  message.copy(frame, 2)
  return frame
}
