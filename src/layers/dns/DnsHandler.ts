// One query in, one reaction out: inspect the bytes, find who asks, answer `.internal` names from the
// record set at once, hand every other name to the forwarder, and count what was answered. No
// sockets here (DnsServer owns them), so a test drives it with bytes; `handle` never throws.
import { Duration, Effect } from "effect"
import {
  type AnswerPolicy,
  type AskerPolicy,
  DEFAULT_TTL_SECONDS,
  identifyAsker,
  type Reachability,
  reachableEverywhere,
  resolve
} from "../../domain/dns/Answer.js"
import type { NodeId } from "../../domain/Node.js"
import { type DnsSnapshot, empty, fromSnapshot } from "../../domain/dns/Records.js"
import * as Wire from "../../domain/dns/Wire.js"
import { type DnsStats, emptyStats, makeRecordKeeper } from "../../services/dns/DnsResolver.js"
import type { Forwarder } from "./DnsForwarder.js"

export interface DnsHandlerOptions {
  /** answer TTL (default 5 s; whole seconds on the wire) */
  readonly ttl?: Duration.DurationInput | undefined
  /** the node's own addresses: such an asker sees every project */
  readonly isNodeAddress: (address: string) => boolean
  /** which pods' addresses may be answered here (default: all) */
  readonly reachable?: Reachability | undefined
  /** this node: only its pods identify an asker (default: any pod); a function when it is learnt later (a worker's id) */
  readonly localNode?: NodeId | (() => NodeId | undefined) | undefined
  readonly forwarder: Forwarder
  readonly initial?: DnsSnapshot | undefined
}

/**
 * - `Drop`: send nothing;
 * - `Reply`: send these bytes now;
 * - `Later`: a forward; send what it gives (undefined: nothing).
 */
export type Reaction =
  | { readonly _tag: "Drop" }
  | { readonly _tag: "Reply"; readonly bytes: Buffer }
  | { readonly _tag: "Later"; readonly reply: Effect.Effect<Buffer | undefined> }

const DROP: Reaction = { _tag: "Drop" }

const ttlSeconds = (ttl: Duration.DurationInput | undefined): number =>
  ttl === undefined ? DEFAULT_TTL_SECONDS : Math.floor(Duration.toSeconds(Duration.decode(ttl)))

export const make = (options: DnsHandlerOptions) =>
  Effect.sync(() => {
    const keeper = makeRecordKeeper(options.initial === undefined ? empty : fromSnapshot(options.initial))
    const answerPolicy: AnswerPolicy = { ttlSeconds: ttlSeconds(options.ttl), reachable: options.reachable ?? reachableEverywhere }
    const localNode = options.localNode
    const askerPolicy: AskerPolicy = typeof localNode === "function"
      ? {
        isNodeAddress: options.isNodeAddress,
        get localNode() {
          return localNode()
        }
      }
      : { isNodeAddress: options.isNodeAddress, localNode }
    const responses = { ...emptyStats.responses }
    let forwarded = 0
    let forwardFailures = 0
    let truncated = 0
    let dropped = 0
    let rotation = 0

    const sent = (answer: Wire.Encoded): Buffer => {
      responses[answer.rcode]++
      if (answer.truncated) truncated++
      return answer.bytes
    }

    const forward = (query: Wire.Query, limit: number): Effect.Effect<Buffer | undefined> =>
      options.forwarder.forward(query).pipe(
        Effect.map((outcome) => {
          if (outcome._tag === "Answered") return sent(Wire.forwardedAnswer(query, outcome.message, limit))
          forwardFailures++
          return sent(Wire.failureAnswer(query, "SERVFAIL", limit))
        }),
        Effect.catchAllDefect(() =>
          Effect.sync(() => {
            dropped++
            return undefined
          })
        )
      )

    const handle = (message: Buffer, source: string, transport: Wire.Transport): Reaction => {
      try {
        const inspection = Wire.inspect(message)
        if (inspection._tag === "Drop") {
          dropped++
          return DROP
        }
        if (inspection._tag === "Reject") return { _tag: "Reply", bytes: sent(inspection.answer) }
        const query = inspection.query
        const limit = Wire.responseLimit(query, transport)
        const set = keeper.current
        rotation = (rotation + 1) % 0x40000000
        const resolution = resolve(set, query.question, identifyAsker(set, source, askerPolicy), answerPolicy, rotation)
        if (resolution._tag === "Local") {
          return { _tag: "Reply", bytes: sent(Wire.localAnswer(query, resolution.rcode, resolution.answers, limit)) }
        }
        forwarded++
        return { _tag: "Later", reply: forward(query, limit) }
      } catch {
        dropped++
        return DROP
      }
    }

    const stats: Effect.Effect<DnsStats> = Effect.sync(() => ({
      responses: { ...responses },
      forwarded,
      forwardFailures,
      truncated,
      dropped
    }))

    return {
      handle,
      replace: keeper.replace,
      applyDelta: keeper.applyDelta,
      records: keeper.records,
      stats,
      /** something the server refused without reading it (an abusive TCP client's frames) */
      countDropped: () => {
        dropped++
      }
    }
  })

export type DnsHandler = Effect.Effect.Success<ReturnType<typeof make>>
