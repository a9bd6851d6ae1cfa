// The worker's reconnect backoff: 1 s doubling, capped, jittered ±20 %, reset after a healthy connection.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Option, Schedule, TestClock } from "effect"
import {
  JITTER_MAX,
  JITTER_MIN,
  makeReconnectBackoff,
  nominalDelay,
  type ReconnectBackoff,
  reconnectSchedule
} from "../../src/domain/Backoff.js"

/** Start a wait, check it is still waiting just before the jitter window and done at its end. */
const expectWait = (backoff: ReconnectBackoff, nominalMs: number) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(backoff.wait)
    yield* TestClock.adjust(Duration.millis(nominalMs * JITTER_MIN - 1))
    expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
    yield* TestClock.adjust(Duration.millis(nominalMs * (JITTER_MAX - JITTER_MIN) + 1))
    const waited = Duration.toMillis(yield* Fiber.join(fiber))
    expect(waited).toBeGreaterThanOrEqual(nominalMs * JITTER_MIN)
    expect(waited).toBeLessThanOrEqual(nominalMs * JITTER_MAX)
    return waited
  })

describe("reconnect backoff", () => {
  it.effect("waits about 1 s, 2 s, 4 s, 8 s, 16 s, then stays at the 30 s cap", () =>
    Effect.gen(function*() {
      const backoff = yield* makeReconnectBackoff("30 seconds")
      for (const seconds of [1, 2, 4, 8, 16, 30, 30, 30]) {
        yield* expectWait(backoff, seconds * 1000)
      }
    }))

  it.effect("a short cap stops the doubling early", () =>
    Effect.gen(function*() {
      const backoff = yield* makeReconnectBackoff("5 seconds")
      for (const seconds of [1, 2, 4, 5, 5]) {
        yield* expectWait(backoff, seconds * 1000)
      }
    }))

  it.effect("starts again from 1 s after a reset (a connection that got its first ack)", () =>
    Effect.gen(function*() {
      const backoff = yield* makeReconnectBackoff("30 seconds")
      yield* expectWait(backoff, 1000)
      yield* expectWait(backoff, 2000)
      yield* expectWait(backoff, 4000)
      yield* backoff.reset
      yield* expectWait(backoff, 1000)
      yield* expectWait(backoff, 2000)
    }))

  it.effect("jitter spreads the delays instead of repeating the nominal ones", () =>
    Effect.gen(function*() {
      const backoff = yield* makeReconnectBackoff("1 second")
      const delays: Array<number> = []
      for (let i = 0; i < 10; i++) delays.push(Duration.toMillis(yield* backoff.nextDelay))
      for (const d of delays) {
        expect(d).toBeGreaterThanOrEqual(800)
        expect(d).toBeLessThanOrEqual(1200)
      }
      expect(new Set(delays).size).toBeGreaterThan(1)
    }))

  it.effect("the schedule itself outputs the delays it waits, never giving up", () =>
    Effect.gen(function*() {
      const outputs = yield* Schedule.run(reconnectSchedule("8 seconds"), 0, Array.from({ length: 40 }, () => undefined))
      const delays = Chunk.toReadonlyArray(outputs).map(Duration.toMillis)
      expect(delays).toHaveLength(40)
      delays.forEach((d, n) => {
        const nominal = Duration.toMillis(nominalDelay(n, "8 seconds"))
        expect(d).toBeGreaterThanOrEqual(nominal * JITTER_MIN)
        expect(d).toBeLessThanOrEqual(nominal * JITTER_MAX)
      })
      // 2^n overflow after a very long outage still gives the cap
      expect(Duration.toMillis(nominalDelay(5000, "8 seconds"))).toBe(8000)
    }))
})
