// The event log in virtual time: bounded history (oldest first), Clock timestamps, live order, and a
// slow subscriber told how many it missed before its next event (never an unbounded buffer); the SSE text.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Duration, Effect, Fiber, Stream, TestClock } from "effect"
import type { EventFeedItem } from "../../src/domain/HelyosEvent.js"
import { KEEPALIVE_INTERVAL, SSE_KEEPALIVE, SSE_OPEN, sseMessage, sseText } from "../../src/layers/api/handlers/EventsHandlers.js"
import * as EventLogLive from "../../src/layers/observability/EventLogLive.js"

const pod = (name: string, action = "started") => ({ kind: "pod" as const, name, action, message: `${name} ${action}` })

const names = (items: ReadonlyArray<EventFeedItem>) =>
  items.map((item) => (item._tag === "Event" ? item.event.name : `missed ${item.count}`))

describe("EventLog", () => {
  it.effect("stamps each event with the Clock as RFC 3339 UTC", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make()
      yield* TestClock.setTime(Date.parse("2026-11-24T22:03:04.000Z"))
      yield* log.record(pod("web-0"))
      yield* TestClock.adjust("1500 millis")
      yield* log.record(pod("web-1", "died"))
      const events = yield* log.recent(10)
      expect(events).toEqual([
        { timestamp: "2026-11-24T22:03:04.000Z", kind: "pod", name: "web-0", action: "started", message: "web-0 started" },
        { timestamp: "2026-11-24T22:03:05.500Z", kind: "pod", name: "web-1", action: "died", message: "web-1 died" }
      ])
    }))

  it.effect("keeps only the newest events, oldest first, and recent(limit) takes the last ones", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make({ historySize: 5 })
      for (let i = 0; i < 12; i++) yield* log.record(pod(`p-${i}`))
      expect((yield* log.recent(100)).map((e) => e.name)).toEqual(["p-7", "p-8", "p-9", "p-10", "p-11"])
      expect((yield* log.recent(2)).map((e) => e.name)).toEqual(["p-10", "p-11"])
      expect(yield* log.recent(0)).toEqual([])
    }))

  it.scoped("a subscriber gets the events recorded after it subscribed, in order", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make()
      yield* log.record(pod("before"))
      const feed = yield* log.subscribe
      const taken = yield* Stream.take(feed, 3).pipe(Stream.runCollect, Effect.fork)
      yield* log.record(pod("a"))
      yield* log.record(pod("b"))
      yield* log.record(pod("c"))
      expect(names(Chunk.toReadonlyArray(yield* Fiber.join(taken)))).toEqual(["a", "b", "c"])
    }))

  it.scoped("a subscriber that falls behind loses its oldest events and is told how many first", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make({ subscriberBuffer: 3 })
      const feed = yield* log.subscribe
      // nobody reads while 10 events arrive: 7 overflow the buffer of 3
      for (let i = 0; i < 10; i++) yield* log.record(pod(`p-${i}`))
      const first = yield* Stream.take(feed, 4).pipe(Stream.runCollect)
      expect(names(Chunk.toReadonlyArray(first))).toEqual(["missed 7", "p-7", "p-8", "p-9"])
      // caught up: the count starts again from zero
      const next = yield* Stream.take(feed, 1).pipe(Stream.runCollect, Effect.fork)
      yield* log.record(pod("p-10"))
      expect(names(Chunk.toReadonlyArray(yield* Fiber.join(next)))).toEqual(["p-10"])
    }))

  it.scoped("a slow subscriber does not slow the log or another subscriber", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make({ subscriberBuffer: 2, historySize: 50 })
      yield* log.subscribe // never read
      const fast = yield* log.subscribe
      const taken = yield* Stream.take(fast, 20).pipe(Stream.runCollect, Effect.fork)
      for (let i = 0; i < 20; i++) {
        yield* log.record(pod(`p-${i}`))
        yield* Effect.yieldNow()
      }
      const items = Chunk.toReadonlyArray(yield* Fiber.join(taken))
      expect(items.every((item) => item._tag === "Event")).toBe(true)
      expect(names(items)).toEqual(Array.from({ length: 20 }, (_, i) => `p-${i}`))
      expect((yield* log.recent(50)).length).toBe(20)
    }))

  it.effect("an ended subscription receives nothing more and holds no buffer", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make({ subscriberBuffer: 2 })
      const got = yield* Effect.scoped(Effect.gen(function*() {
        const feed = yield* log.subscribe
        const one = yield* Stream.take(feed, 1).pipe(Stream.runCollect, Effect.fork)
        yield* log.record(pod("inside"))
        return Chunk.toReadonlyArray(yield* Fiber.join(one))
      }))
      expect(names(got)).toEqual(["inside"])
      // recording after the scope closed must not fail nor reach the closed subscriber
      for (let i = 0; i < 5; i++) yield* log.record(pod(`after-${i}`))
      expect((yield* log.recent(10)).map((e) => e.name)).toEqual(["inside", "after-0", "after-1", "after-2", "after-3", "after-4"])
    }))
})

describe("the SSE text of GET /api/v1/events", () => {
  it.scoped("a comment first, the history, live events, a lag warning, and a keepalive every 15 s", () =>
    Effect.gen(function*() {
      const log = yield* EventLogLive.make({ subscriberBuffer: 2 })
      yield* log.record(pod("old-1"))
      yield* log.record(pod("old-2"))
      const closing = yield* Deferred.make<void>()
      const received: Array<string> = []
      const fiber = yield* sseText(log, 1, Deferred.await(closing)).pipe(
        Stream.runForEach((text) => Effect.sync(() => void received.push(text))),
        Effect.fork
      )
      yield* TestClock.adjust("1 second")
      expect(received).toEqual([SSE_OPEN, sseMessage({ _tag: "Event", event: (yield* log.recent(1))[0]! })])
      // 5 events while the reader sleeps: 3 overflow its buffer of 2
      for (let i = 0; i < 5; i++) yield* log.record(pod(`new-${i}`))
      yield* TestClock.adjust("1 second")
      expect(received.slice(2).map((t) => t.trim())).toEqual([
        `data: {"warning":"missed 3 events"}`,
        expect.stringContaining(`"name":"new-3"`),
        expect.stringContaining(`"name":"new-4"`)
      ])
      expect(received.filter((t) => t === SSE_KEEPALIVE)).toHaveLength(0)
      yield* TestClock.adjust(KEEPALIVE_INTERVAL)
      expect(received.filter((t) => t === SSE_KEEPALIVE)).toHaveLength(1)
      yield* TestClock.adjust(Duration.times(KEEPALIVE_INTERVAL, 2))
      expect(received.filter((t) => t === SSE_KEEPALIVE)).toHaveLength(3)
      // the server shutting down ends the stream
      yield* Deferred.succeed(closing, undefined)
      yield* Fiber.join(fiber)
    }))
})
