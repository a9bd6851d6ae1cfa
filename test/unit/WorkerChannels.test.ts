// WorkerChannelsLive: one outbox per connected node; a newer stream replaces an older one;
// evict delivers Removed as the stream's last message, then ends the stream.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Exit, Fiber, Queue, Scope, Stream, TestClock } from "effect"
import { NodeId } from "../../src/domain/Node.js"
import type { MasterMessage } from "../../src/domain/MasterMessage.js"
import { WorkerChannels } from "../../src/services/cluster/WorkerChannels.js"
import * as WorkerChannelsLive from "../../src/layers/cluster/WorkerChannelsLive.js"

const n1 = NodeId.make("node-1")
const assignment = (generation: number): MasterMessage => ({ _tag: "Assignment", assignment: { generation, pods: [] } })
const removed = (reason: string): MasterMessage => ({ _tag: "Removed", reason })

/** What a Connect stream would write: everything until its outbox is shut down. */
const drain = (outbox: Queue.Dequeue<MasterMessage>) =>
  Stream.fromQueue(outbox).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray))

/** Wait until a consumer is suspended on the outbox (its size goes negative). */
const consumerWaiting = (outbox: Queue.Dequeue<MasterMessage>) =>
  Effect.repeat(Queue.size(outbox), { until: (n) => n < 0 })

describe("WorkerChannelsLive", () => {
  it.scoped("sends reach an attached node only, until its stream's scope closes", () =>
    Effect.gen(function*() {
      const channels = yield* WorkerChannels
      expect(yield* channels.send(n1, assignment(1))).toBe(false)

      const scope = yield* Scope.make()
      const outbox = yield* channels.attach(n1).pipe(Scope.extend(scope))
      expect(yield* channels.connected).toEqual([n1])
      expect(yield* channels.send(n1, assignment(2))).toBe(true)
      expect(yield* Queue.take(outbox)).toEqual(assignment(2))

      yield* Scope.close(scope, Exit.void)
      expect(yield* channels.connected).toEqual([])
      expect(yield* channels.send(n1, assignment(3))).toBe(false)
    }).pipe(Effect.provide(WorkerChannelsLive.layer)))

  it.scoped("a newer stream of the same node replaces the older one, which ends", () =>
    Effect.gen(function*() {
      const channels = yield* WorkerChannels
      const oldScope = yield* Scope.make()
      const older = yield* channels.attach(n1).pipe(Scope.extend(oldScope))
      const newer = yield* channels.attach(n1)

      expect(yield* drain(older)).toEqual([]) // ended, not hanging
      yield* channels.send(n1, assignment(5))
      expect(yield* Queue.take(newer)).toEqual(assignment(5))
      // the old stream finishing later must not detach the new one
      yield* Scope.close(oldScope, Exit.void)
      expect(yield* channels.connected).toEqual([n1])
    }).pipe(Effect.provide(WorkerChannelsLive.layer)))

  it.scoped("evict delivers Removed to a waiting stream, which then ends at once", () =>
    Effect.gen(function*() {
      const channels = yield* WorkerChannels
      const outbox = yield* channels.attach(n1)
      const stream = yield* Effect.fork(drain(outbox))
      yield* consumerWaiting(outbox)

      yield* channels.evict(n1, "removed by an operator")
      expect(yield* Fiber.join(stream)).toEqual([removed("removed by an operator")])
      expect(yield* channels.connected).toEqual([])
      expect(yield* channels.send(n1, assignment(9))).toBe(false)
    }).pipe(Effect.provide(WorkerChannelsLive.layer)))

  it.scoped("evict lets a busy stream flush what was queued before Removed, then ends it", () =>
    Effect.gen(function*() {
      const channels = yield* WorkerChannels
      const outbox = yield* channels.attach(n1)
      yield* channels.send(n1, assignment(1))
      yield* channels.send(n1, assignment(2))
      yield* channels.evict(n1, "bye") // nobody has taken anything yet

      const stream = yield* Effect.fork(drain(outbox))
      yield* consumerWaiting(outbox) // it has taken all three and waits for more
      yield* TestClock.adjust("50 millis") // the eviction notices the outbox is flushed
      expect(yield* Fiber.join(stream)).toEqual([assignment(1), assignment(2), removed("bye")])
    }).pipe(Effect.provide(WorkerChannelsLive.layer)))

  it.scoped("evicting a node without a stream does nothing", () =>
    Effect.gen(function*() {
      const channels = yield* WorkerChannels
      yield* channels.evict(n1, "gone")
      expect(yield* channels.connected).toEqual([])
    }).pipe(Effect.provide(WorkerChannelsLive.layer)))
})
