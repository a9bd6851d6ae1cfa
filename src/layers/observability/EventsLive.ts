// Events on an unbounded PubSub: publishing never blocks the monitor; each subscriber gets every
// event published after it subscribed, for as long as its scope lives.
import { Effect, Layer, PubSub } from "effect"
import type { ClusterEvent } from "../../domain/ClusterEvent.js"
import { Events } from "../../services/observability/Events.js"

export const layer = Layer.scoped(
  Events,
  Effect.gen(function*() {
    const hub = yield* Effect.acquireRelease(PubSub.unbounded<ClusterEvent>(), PubSub.shutdown)
    return Events.of({
      publish: (event) => PubSub.publish(hub, event).pipe(Effect.asVoid),
      subscribe: PubSub.subscribe(hub)
    })
  })
)
