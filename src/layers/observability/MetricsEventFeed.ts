// Feeds the container counters from the cluster's event stream (the same pod events `helyos top`
// and GET /api/v1/events show), so the runtime and the orchestrator need no metrics hooks of their own.
import { Effect, Layer, Stream } from "effect"
import type { HelyosEvent } from "../../domain/HelyosEvent.js"
import { EventLog } from "../../services/observability/EventLog.js"
import { Metrics } from "../../services/observability/Metrics.js"
import { countsOf } from "./PromKit.js"

const count = (metrics: Metrics["Type"], event: HelyosEvent) => {
  if (event.kind !== "pod") return Effect.void
  const { container, restart } = countsOf(event.action)
  return Effect.zipRight(
    restart ? metrics.countPodRestart : Effect.void,
    container === undefined ? Effect.void : metrics.countContainerEvent(container)
  )
}

/** Counts for as long as the daemon runs. Needs Metrics and EventLog. */
export const layer = Layer.scopedDiscard(
  Effect.gen(function*() {
    const metrics = yield* Metrics
    const feed = yield* (yield* EventLog).subscribe
    // a Missed item (this subscriber fell behind) loses those counts; nothing else can be done with it
    yield* feed.pipe(
      Stream.runForEach((item) => item._tag === "Event" ? count(metrics, item.event) : Effect.void),
      Effect.forkScoped
    )
  })
)
