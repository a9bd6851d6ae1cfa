// The master's heartbeat monitor: a scoped fiber that scans the workers every monitor interval and
// marks the silent ones NotReady, then dead (announcing each death exactly once on Events).
import { Clock, Duration, Effect, Layer, Schedule } from "effect"
import { ClusterEvent } from "../../domain/ClusterEvent.js"
import type { NodeRecord } from "../../domain/Node.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { Events } from "../../services/observability/Events.js"
import { HeartbeatMonitor } from "../../services/cluster/HeartbeatMonitor.js"
import { NodeRegistry } from "../../services/cluster/NodeRegistry.js"

/** "61s", or "2.1s" for the compressed timers tests use. */
const seconds = (ms: number): string => (ms < 10_000 ? `${Math.floor(ms / 100) / 10}s` : `${Math.floor(ms / 1000)}s`)

export const layer = Layer.scoped(
  HeartbeatMonitor,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const events = yield* Events
    const notReadyAfterMs = Duration.toMillis(config.notReadyAfter)
    const deadAfterMs = Duration.toMillis(config.deadAfter)
    // After a (re)start, a worker still in its reconnect backoff may need up to the backoff cap (+20 %
    // jitter) to reach us: until it has been heard from, it gets that much more grace on top.
    const startedAt = yield* Clock.currentTimeMillis
    const reconnectWindowMs = Math.ceil(Duration.toMillis(config.reconnectCap) * 1.2)
    const knownAtStart = new Set((yield* registry.list).map((n) => n.id))

    const markNotReady = (node: NodeRecord, silentMs: number) =>
      Effect.gen(function*() {
        yield* registry.setLiveness(node.id, "NotReady")
        yield* events.publish(ClusterEvent.NodeNotReady({ nodeId: node.id, name: node.name }))
        yield* Effect.logWarning(`node '${node.name}' is NotReady (no heartbeat for ${seconds(silentMs)})`)
      })

    // Dead is recorded before the event goes out, so the next scan skips the node: one NodeDead per death
    const declareDead = (node: NodeRecord, silentMs: number) =>
      Effect.gen(function*() {
        yield* registry.setLiveness(node.id, "Dead")
        yield* events.publish(ClusterEvent.NodeDead({ nodeId: node.id, name: node.name }))
        yield* Effect.logWarning(
          `node '${node.name}' is dead (no heartbeat for ${seconds(silentMs)}): its pods will be rescheduled`
        )
      })

    // Masters are never monitored. Draining workers are: a draining node can die, and its pods must move.
    const check = (now: number) => (node: NodeRecord) => {
      if (node.role !== "Worker") return Effect.void
      const silentMs = now - node.lastHeartbeatMs
      const grace = knownAtStart.has(node.id) && node.lastHeartbeatMs <= startedAt ? reconnectWindowMs : 0
      if (silentMs >= deadAfterMs + grace && node.liveness !== "Dead") return declareDead(node, silentMs)
      if (silentMs >= notReadyAfterMs + grace && node.liveness === "Ready") return markNotReady(node, silentMs)
      return Effect.void
    }

    // scans never overlap (the loop and an on-demand `scan`), or two could both declare one death
    const oneScanAtATime = (yield* Effect.makeSemaphore(1)).withPermits(1)

    const scan = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const nodes = yield* registry.list
      yield* Effect.forEach(
        nodes,
        // removed between list and transition: nothing left to mark
        (node) => check(now)(node).pipe(Effect.catchTag("NodeNotFound", () => Effect.void)),
        { discard: true }
      )
    }).pipe(oneScanAtATime)

    // catchAllCause before repeat: one failed scan must not end the loop
    yield* scan.pipe(
      Effect.catchAllCause((cause) => Effect.logError("heartbeat scan failed", cause)),
      Effect.repeat(Schedule.spaced(config.monitorInterval)),
      Effect.forkScoped
    )

    return HeartbeatMonitor.of({ scan })
  })
)
