// Worker side: join the master, keep the heartbeat stream open, reconnect with backoff, obey Removed.
import { Context, type Effect } from "effect"
import { Schema } from "effect"

/** Why a worker stops for good (the daemon logs it and exits). */
export class WorkerStopped extends Schema.TaggedError<WorkerStopped>()("WorkerStopped", {
  /**
   * Refused: the master turned the registration down for good (bad name, name held by the master).
   * UntrustedMaster: the master could not be verified (CA fingerprint mismatch, no way to trust it).
   */
  reason: Schema.Literal("InvalidJoinToken", "JoinTokenExpired", "Removed", "SessionRevoked", "Refused", "UntrustedMaster"),
  detail: Schema.String
}) {
  override get message() {
    return this.detail
  }
}

export class WorkerAgent extends Context.Tag("helyos/WorkerAgent")<WorkerAgent, {
  /** Register and heartbeat until the node is removed or refused; transient failures are retried. */
  readonly run: Effect.Effect<never, WorkerStopped>
}>() {}
