// Worker side: this host's pods. The WorkerAgent hands it each Assignment and asks it for statuses.
import { Context, Effect, Layer, Stream } from "effect"
import type { LogRequest } from "../../domain/LogRequest.js"
import type { Assignment, PodAssignment } from "../../domain/PodAssignment.js"
import type { PodEvent, PodReport } from "../../domain/PodReport.js"

export class LocalWorkload extends Context.Tag("helyos/LocalWorkload")<LocalWorkload, {
  /** Converge this host to the master's desired pod set (latest generation wins; returns at once). */
  readonly apply: (assignment: Assignment) => Effect.Effect<void>
  /**
   * Self-fencing: stop every pod now, keeping the generation, so the next assignment of the same or
   * a later generation starts again whatever is still assigned here. Returns how many pods were stopped.
   */
  readonly fence: Effect.Effect<number>
  /** The status of every pod this node runs, for the next ping. */
  readonly statuses: Effect.Effect<ReadonlyArray<PodReport>>
  /**
   * Every pod of the current assignment with its status now, read together (what this node's DNS
   * resolver overlays on the master's records: polled several times a second, so it is cheap).
   */
  readonly assigned: Effect.Effect<ReadonlyArray<{ readonly pod: PodAssignment; readonly report: PodReport }>>
  /** What happened to this node's pods since the last call, oldest first (bounded; for the next ping). */
  readonly takeEvents: Effect.Effect<ReadonlyArray<PodEvent>>
  /** Generation of the last assignment fully applied. */
  readonly appliedGeneration: Effect.Effect<number>
  /** A pod's logs, for a master's LogRequest. Fails with a readable message. */
  readonly logs: (request: LogRequest) => Stream.Stream<Uint8Array, string>
}>() {
  /** Runs nothing: for a control-plane-only worker and for tests. */
  static readonly layerNoop = Layer.succeed(LocalWorkload, LocalWorkload.of({
    apply: () => Effect.void,
    fence: Effect.succeed(0),
    statuses: Effect.succeed([]),
    assigned: Effect.succeed([]),
    takeEvents: Effect.succeed([]),
    appliedGeneration: Effect.succeed(0),
    logs: () => Stream.fail("this node runs no pods")
  }))
}
