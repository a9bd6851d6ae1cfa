// The simulation's clock and scheduler: TestClock.adjust drives them, sleepers wake at their own
// instants in order, everything due at an instant runs before time moves on, nothing moves by itself.
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Fiber, FiberRef, TestClock } from "effect"
import { VirtualClock, VirtualScheduler } from "../../src/testkit/VirtualTime.js"

/** The virtual clock and scheduler for this fiber and what it forks, for the rest of the scope. */
const install = Effect.gen(function*() {
  const scheduler = new VirtualScheduler()
  const clock = new VirtualClock(scheduler, 0)
  yield* Effect.withClockScoped(clock)
  yield* Effect.locallyScoped(FiberRef.currentScheduler, scheduler)
  return clock
})

describe("VirtualClock", () => {
  it.scoped("TestClock.adjust wakes each sleeper at its instant, in order, and reads the time it woke at", () =>
    Effect.gen(function*() {
      yield* install
      const woke: Array<string> = []
      const sleeper = (name: string, ms: number) =>
        Effect.forkScoped(Effect.zipRight(Effect.sleep(`${ms} millis`), Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => woke.push(`${name}@${t}`)))))
      yield* sleeper("c", 3_000)
      yield* sleeper("a", 1_000)
      yield* sleeper("b", 2_000)
      yield* TestClock.adjust("2500 millis")
      expect(woke).toEqual(["a@1000", "b@2000"])
      expect(yield* Clock.currentTimeMillis).toBe(2_500)
      yield* TestClock.adjust("1 second")
      expect(woke).toEqual(["a@1000", "b@2000", "c@3000"])
    }))

  it.scoped("what a wake-up sets off runs before the next instant: a chain of sleeps lands on every step", () =>
    Effect.gen(function*() {
      yield* install
      const ticks: Array<number> = []
      yield* Effect.forkScoped(Effect.forever(Effect.zipRight(Effect.sleep("5 seconds"), Effect.flatMap(Clock.currentTimeMillis, (t) => Effect.sync(() => ticks.push(t))))))
      yield* TestClock.adjust("1 minute")
      expect(ticks).toEqual(Array.from({ length: 12 }, (_, i) => (i + 1) * 5_000))
    }))

  it.scoped("nothing moves without an adjust, however long the test waits", () =>
    Effect.gen(function*() {
      yield* install
      const fiber = yield* Effect.forkScoped(Effect.sleep("1 millis"))
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 30)))
      expect(fiber.unsafePoll()).toBeNull()
      expect(yield* Clock.currentTimeMillis).toBe(0)
      yield* TestClock.adjust("1 millis")
      expect(fiber.unsafePoll()).not.toBeNull()
    }))

  it.scoped("an interrupted sleep never fires; adjust(0) runs what is due now without moving time", () =>
    Effect.gen(function*() {
      const clock = yield* install
      let fired = false
      const fiber = yield* Effect.forkScoped(Effect.zipRight(Effect.sleep("1 second"), Effect.sync(() => (fired = true))))
      yield* Fiber.interrupt(fiber)
      yield* TestClock.adjust("2 seconds")
      expect(fired).toBe(false)
      let ran = false
      yield* Effect.forkScoped(Effect.sync(() => (ran = true)))
      yield* clock.adjust(0)
      expect(ran).toBe(true)
      expect(yield* Clock.currentTimeMillis).toBe(2_000)
    }))
})
