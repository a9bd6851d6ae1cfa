// What happened to this node's pods, kept until the next ping drains it. Bounded: when nobody drains
// (no master connection), the oldest events go first so memory stays flat.
import { Clock, Effect, Ref } from "effect"
import type { PodEvent } from "../../../domain/PodReport.js"

/** How many events wait for a ping at most. */
export const POD_EVENT_CAPACITY = 256

/** started | died | OOMKilled | unhealthy | restarted | crashloop | failed */
export type PodEventAction = "started" | "died" | "OOMKilled" | "unhealthy" | "restarted" | "crashloop" | "failed"

export interface PodEventBuffer {
  /** Record an event now (Clock time); logged at info so a single node shows it too. */
  readonly push: (podId: string, action: PodEventAction, message: string, exitCode?: number) => Effect.Effect<void>
  /** Everything since the last call, oldest first. */
  readonly take: Effect.Effect<ReadonlyArray<PodEvent>>
}

/** `observe` sees every event as it is pushed (a worker's metrics), so nothing is taken from the ping. */
export const makePodEventBuffer = (
  capacity: number = POD_EVENT_CAPACITY,
  observe: (action: PodEventAction) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<PodEventBuffer> =>
  Effect.map(Ref.make<ReadonlyArray<PodEvent>>([]), (events) => ({
    push: (podId, action, message, exitCode = 0) =>
      Effect.gen(function*() {
        const atMs = yield* Clock.currentTimeMillis
        yield* Ref.update(events, (all) => [...all, { podId, action, message, atMs, exitCode }].slice(-capacity))
        yield* observe(action)
        yield* Effect.logInfo(`pod ${podId} ${action}: ${message}`)
      }),
    take: Ref.getAndSet(events, [])
  }))
