// The node-local DNS resolver: the record set it answers from (replaced by a snapshot, moved on by
// deltas) and what it has counted. The master's push replaces / updates the set; /metrics reads stats.
import { Context, Effect, Layer, Option } from "effect"
import { DnsRevisionGap } from "../../domain/dns/DnsErrors.js"
import { applyDelta, type DnsDelta, type DnsSnapshot, empty, fromSnapshot, type RecordSet } from "../../domain/dns/Records.js"
import type { HostPort } from "../../domain/dns/Upstreams.js"
import { RESPONSE_CODES, type ResponseCode } from "../../domain/dns/Wire.js"

export interface DnsStats {
  /** answers sent, by response code (NOERROR, NXDOMAIN, SERVFAIL, FORMERR, NOTIMP, REFUSED, OTHER) */
  readonly responses: Readonly<Record<ResponseCode, number>>
  /** queries forwarded upstream, whatever came of them */
  readonly forwarded: number
  /** forwards answered SERVFAIL by this resolver: no upstream answered in time, or too many in flight */
  readonly forwardFailures: number
  /** answers cut to header + question with TC (too large for the asker's UDP size) */
  readonly truncated: number
  /** packets left unanswered: shorter than a header, responses, frames of an abusive TCP client */
  readonly dropped: number
}

export const emptyStats: DnsStats = {
  responses: Object.fromEntries(RESPONSE_CODES.map((code) => [code, 0])) as Record<ResponseCode, number>,
  forwarded: 0,
  forwardFailures: 0,
  truncated: 0,
  dropped: 0
}

export interface DnsResolverShape {
  /** Replace the whole set (a snapshot wins whatever its revision: a restarted master may count anew). */
  readonly replace: (snapshot: DnsSnapshot) => Effect.Effect<void>
  /**
   * Apply the next revision's changes. A delta at or below the current revision is ignored (a
   * re-delivery); one that skips revisions changes nothing and fails with DnsRevisionGap: ask the
   * master for a snapshot.
   */
  readonly applyDelta: (delta: DnsDelta) => Effect.Effect<void, DnsRevisionGap>
  /** The set answered from right now. */
  readonly records: Effect.Effect<RecordSet>
  readonly stats: Effect.Effect<DnsStats>
  /** Where it answers (the same port for UDP and TCP); none for the no-op resolver. */
  readonly endpoint: Option.Option<HostPort>
}

/** A resolver's record keeping, without sockets (the no-op mode keeps nothing). */
export const makeRecordKeeper = (initial: RecordSet = empty) => {
  let current = initial
  return {
    get current() {
      return current
    },
    replace: (snapshot: DnsSnapshot) =>
      Effect.sync(() => {
        current = fromSnapshot(snapshot)
      }),
    applyDelta: (delta: DnsDelta) =>
      Effect.suspend(() => {
        const outcome = applyDelta(current, delta)
        if (outcome._tag === "Gap") {
          return Effect.fail(new DnsRevisionGap({ current: current.revision, received: delta.revision }))
        }
        current = outcome.set
        return Effect.void
      }),
    records: Effect.sync(() => current)
  }
}

export class DnsResolver extends Context.Tag("helyos/DnsResolver")<DnsResolver, DnsResolverShape>() {
  /** `--dns-mode noop`: no server; pushes are accepted and forgotten. */
  static readonly layerNoop = Layer.succeed(DnsResolver, {
    replace: () => Effect.void,
    applyDelta: () => Effect.void,
    records: Effect.succeed(empty),
    stats: Effect.succeed(emptyStats),
    endpoint: Option.none()
  })

  /** The record keeping of a real resolver without its sockets (tests of whoever feeds it). */
  static readonly layerMemory = (initial?: DnsSnapshot) =>
    Layer.sync(DnsResolver, () => {
      const keeper = makeRecordKeeper(initial === undefined ? empty : fromSnapshot(initial))
      return {
        replace: keeper.replace,
        applyDelta: keeper.applyDelta,
        records: keeper.records,
        stats: Effect.succeed(emptyStats),
        endpoint: Option.none()
      }
    })
}
