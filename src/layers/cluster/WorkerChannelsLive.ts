// The master's open worker streams: NodeId -> the outbox queue its Connect stream drains.
// A Connect stream ends when its outbox is shut down (Stream.fromQueue ends on shutdown).
import { Effect, FiberSet, Layer, Queue, Schedule } from "effect"
import type { NodeId } from "../../domain/Node.js"
import type { MasterMessage } from "../../domain/MasterMessage.js"
import { WorkerChannels } from "../../services/cluster/WorkerChannels.js"

/** How long an evicted stream gets to take its Removed message before its outbox is shut anyway. */
const EVICT_FLUSH_LIMIT = "5 seconds"

export const layer = Layer.scoped(
  WorkerChannels,
  Effect.gen(function*() {
    // a plain map, changed in place by synchronous steps (copying it per attach was O(nodes) each)
    const outboxes = new Map<NodeId, Queue.Queue<MasterMessage>>()
    // evictions still waiting for their stream to flush; interrupted with the layer
    const flushing = yield* FiberSet.make<void>()

    /** Remove `id` only if it still maps to `queue` (a newer stream may have replaced it). */
    const detach = (id: NodeId, queue: Queue.Queue<MasterMessage>) =>
      Effect.sync(() => {
        if (outboxes.get(id) === queue) outboxes.delete(id)
      })

    const attach = (id: NodeId) =>
      Effect.acquireRelease(
        Effect.gen(function*() {
          const queue = yield* Queue.unbounded<MasterMessage>()
          const previous = yield* Effect.sync(() => {
            const old = outboxes.get(id)
            outboxes.set(id, queue)
            return old
          })
          // the older stream of this node ends: its worker reconnected (or an old half-open connection lingers)
          if (previous !== undefined) yield* Queue.shutdown(previous)
          return queue
        }),
        (queue) => detach(id, queue).pipe(Effect.zipRight(Queue.shutdown(queue)))
      ).pipe(Effect.map((queue): Queue.Dequeue<MasterMessage> => queue))

    const send = (id: NodeId, message: MasterMessage) =>
      Effect.sync(() => {
        const queue = outboxes.get(id)
        // unsafeOffer answers false on a queue shut meanwhile (offer would interrupt us instead)
        return queue !== undefined && queue.unsafeOffer(message)
      })

    /**
     * Shut `queue` once its stream has taken everything in it, so the stream ends right after
     * writing the Removed message. Queue.shutdown discards what is still queued, hence the wait;
     * a stream that is already waiting for its next message took it at once (the usual case).
     */
    const shutWhenFlushed = (queue: Queue.Queue<MasterMessage>) => {
      // size <= 0: nothing left (negative while the stream waits for more); a shut queue counts as flushed
      const flushed = Queue.size(queue).pipe(
        Effect.map((n) => n <= 0),
        Effect.catchAllCause(() => Effect.succeed(true))
      )
      return Effect.flatMap(flushed, (done) =>
        done
          ? Queue.shutdown(queue)
          : FiberSet.run(
            flushing,
            flushed.pipe(
              Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (d) => d }),
              Effect.timeout(EVICT_FLUSH_LIMIT),
              Effect.ignore,
              Effect.zipRight(Queue.shutdown(queue))
            )
          ).pipe(Effect.asVoid))
    }

    const evict = (id: NodeId, reason: string) =>
      Effect.gen(function*() {
        const queue = yield* Effect.sync(() => {
          const q = outboxes.get(id)
          outboxes.delete(id)
          return q
        })
        if (queue === undefined) return
        queue.unsafeOffer({ _tag: "Removed", reason })
        yield* shutWhenFlushed(queue)
      })

    return WorkerChannels.of({
      attach,
      send,
      evict,
      connected: Effect.sync(() => Array.from(outboxes.keys()))
    })
  })
)
