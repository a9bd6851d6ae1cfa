// For tests: drive the orchestrator's loop by hand instead of waiting for its interval.
// Only OrchestratorLive.layerWith provides it; a daemon's layer graph never asks for it.
import { Context, type Effect } from "effect"

export class OrchestratorControl extends Context.Tag("helyos/OrchestratorControl")<OrchestratorControl, {
  /** Run the local status poll and one reconcile pass now. */
  readonly reconcile: Effect.Effect<void>
}>() {}
