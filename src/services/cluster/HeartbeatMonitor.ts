// The master's node monitor: a Schedule-driven fiber that marks silent workers NotReady and dead.
import { Context, type Effect } from "effect"

export class HeartbeatMonitor extends Context.Tag("helyos/HeartbeatMonitor")<HeartbeatMonitor, {
  /** One scan now (the loop runs it every monitor interval). */
  readonly scan: Effect.Effect<void>
}>() {}
