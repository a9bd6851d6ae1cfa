// Expected failures, named. Each message is the line a user reads; the API maps each tag to one status.
import { Schema } from "effect"

export class NodeNotFound extends Schema.TaggedError<NodeNotFound>()("NodeNotFound", {
  name: Schema.String
}) {
  override get message() {
    return `node '${this.name}' not found`
  }
}

export class NodeNotDrained extends Schema.TaggedError<NodeNotDrained>()("NodeNotDrained", {
  name: Schema.String,
  status: Schema.String
}) {
  override get message() {
    return `node '${this.name}' must be drained before removal (status: ${this.status})`
  }
}

export class InvalidJoinToken extends Schema.TaggedError<InvalidJoinToken>()("InvalidJoinToken", {}) {
  override get message() {
    return "invalid join token"
  }
}

export class SessionInvalid extends Schema.TaggedError<SessionInvalid>()("SessionInvalid", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {}) {
  override get message() {
    return "missing or invalid bearer token"
  }
}

export class TokenNotRevealable extends Schema.TaggedError<TokenNotRevealable>()("TokenNotRevealable", {}) {
  override get message() {
    return "the join token is shown only once, at creation. Use 'helyos cluster token rotate' (POST /api/v1/cluster/token/rotate) to generate a new one."
  }
}

export class NotAClusterMaster extends Schema.TaggedError<NotAClusterMaster>()("NotAClusterMaster", {}) {
  override get message() {
    return "this daemon is not a cluster master (start helyosd with --mode master)"
  }
}
