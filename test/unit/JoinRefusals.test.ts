// How long a worker waits after a throttled Register: the master's hint (trailer, else the seconds in
// its text) when that is longer than the worker's own backoff.
import * as grpc from "@grpc/grpc-js"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Option } from "effect"
import { GrpcError } from "../../src/layers/cluster/grpc/GrpcError.js"
import { registerRetryDelay, retryAfterHint, throttledJoin, tooManyJoinAttempts } from "../../src/layers/cluster/grpc/JoinRefusals.js"

const exhausted = (details: string, trailers: Record<string, string> = {}) =>
  new GrpcError({ code: grpc.status.RESOURCE_EXHAUSTED, details, trailers })

describe("a throttled join's retry hint", () => {
  it("comes from the retry-after-ms trailer first", () => {
    expect(retryAfterHint(throttledJoin(1_234))).toEqual(Option.some(1_234))
    expect(throttledJoin(1_234).details).toBe("too many failed join attempts, retry in 2s")
  })

  it("else from the seconds in the text (a master that sends no trailer)", () => {
    expect(retryAfterHint(exhausted(tooManyJoinAttempts(7_000)))).toEqual(Option.some(7_000))
    expect(retryAfterHint(exhausted("too many failed join attempts, retry in 3s", { "retry-after-ms": "junk" })))
      .toEqual(Option.some(3_000))
  })

  it("is none for other failures or texts without a wait", () => {
    expect(retryAfterHint(exhausted("quota exceeded"))).toEqual(Option.none())
    expect(retryAfterHint(new GrpcError({ code: grpc.status.UNAVAILABLE, details: "retry in 5s" }))).toEqual(Option.none())
  })

  it("the worker waits the longer of its backoff and the hint", () => {
    expect(Duration.toMillis(registerRetryDelay(throttledJoin(9_000), Duration.seconds(1)))).toBe(9_000)
    expect(Duration.toMillis(registerRetryDelay(throttledJoin(500), Duration.seconds(4)))).toBe(4_000)
    const unavailable = new GrpcError({ code: grpc.status.UNAVAILABLE, details: "connection refused" })
    expect(Duration.toMillis(registerRetryDelay(unavailable, Duration.seconds(2)))).toBe(2_000)
  })
})
