// The texts a refused Register carries on the wire. The master sends them and the worker tells
// them apart (all are UNAUTHENTICATED or RESOURCE_EXHAUSTED), so both sides read them from here.

export const INVALID_JOIN_TOKEN = "invalid join token"
export const JOIN_TOKEN_EXPIRED = "join token expired"

import * as grpc from "@grpc/grpc-js"
import { Duration, Option } from "effect"
import { GrpcError } from "./GrpcError.js"

/** The trailer a throttled Register carries: how long until the master looks at this address again. */
export const RETRY_AFTER_MS = "retry-after-ms"

/** RESOURCE_EXHAUSTED after a burst of failed joins from one address. */
export const tooManyJoinAttempts = (retryAfterMs: number) =>
  `too many failed join attempts, retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))}s`

/** The refusal of a throttled Register: the text for people, the exact wait in a trailer. */
export const throttledJoin = (retryAfterMs: number): GrpcError =>
  new GrpcError({
    code: grpc.status.RESOURCE_EXHAUSTED,
    details: tooManyJoinAttempts(retryAfterMs),
    trailers: { [RETRY_AFTER_MS]: String(Math.max(0, Math.ceil(retryAfterMs))) }
  })

const RETRY_IN = /retry in (\d+)s\b/

/** How long a throttled Register asks us to wait: its trailer, else the seconds in its text (older masters). */
export const retryAfterHint = (e: Pick<GrpcError, "code" | "details" | "trailers">): Option.Option<number> => {
  if (e.code !== grpc.status.RESOURCE_EXHAUSTED) return Option.none()
  const trailer = Number(e.trailers?.[RETRY_AFTER_MS] ?? Number.NaN)
  if (Number.isFinite(trailer) && trailer >= 0) return Option.some(trailer)
  const seconds = RETRY_IN.exec(e.details)?.[1]
  return seconds === undefined ? Option.none() : Option.some(Number(seconds) * 1000)
}

/** The wait before the next Register: our backoff, or the master's hint when that is longer. */
export const registerRetryDelay = (e: Pick<GrpcError, "code" | "details" | "trailers">, backoff: Duration.Duration) =>
  Option.match(retryAfterHint(e), {
    onNone: () => backoff,
    onSome: (ms) => Duration.max(backoff, Duration.millis(ms))
  })
