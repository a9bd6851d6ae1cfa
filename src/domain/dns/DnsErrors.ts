// What can go wrong around the resolver that a caller acts on.
import { Schema } from "effect"

/**
 * A delta skipped revisions: the resolver kept its set (at `current`) and needs a full snapshot.
 * (A delta at or below the current revision is a re-delivery and is ignored, not an error.)
 */
export class DnsRevisionGap extends Schema.TaggedError<DnsRevisionGap>()("DnsRevisionGap", {
  current: Schema.Number,
  received: Schema.Number
}) {
  override get message() {
    return `DNS delta ${this.received} does not follow revision ${this.current}: a snapshot is needed`
  }
}

/** The listen address could not be bound (in use, no permission, not an address of this host). */
export class DnsListenError extends Schema.TaggedError<DnsListenError>()("DnsListenError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `cannot serve DNS on ${this.address}: ${this.reason}`
  }
}
