// /api/v1/cluster: the join token. It is stored as a hash, so "show" always answers 410 Gone and
// "rotate" is the only way to get a token again (printed once), optionally with a lifetime.
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import { NotAClusterMaster, TokenNotRevealable } from "../../domain/Errors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

/** The longest join token lifetime accepted (100 years; longer is "never", say so by omitting it). */
export const MAX_JOIN_TTL_SECS = 100 * 365 * 24 * 3600

/** `ttl_secs` ≤ 0 or absent (or null) means the token never expires, as for API tokens. */
export const RotateJoinTokenRequest = Schema.Struct({
  ttl_secs: Schema.optionalWith(
    Schema.NullOr(Schema.Int.pipe(Schema.lessThanOrEqualTo(MAX_JOIN_TTL_SECS, {
      message: () => `ttl_secs must be an integer number of seconds of at most ${MAX_JOIN_TTL_SECS} (100 years)`
    }))),
    { exact: true }
  )
})

/**
 * The new join token (the plaintext travels once, in this response; Redacted everywhere else),
 * its expiry (RFC 3339, null = never) and what a worker needs besides: the cluster CA fingerprint
 * it pins and the master's gRPC port.
 */
export const JoinToken = Schema.Struct({
  token: Schema.Redacted(Schema.String),
  expires_at: Schema.NullOr(Schema.String),
  ca_fingerprint: Schema.String,
  grpc_port: Schema.Int
})

export const TokenNotRevealableError = httpError(TokenNotRevealable, 410)
/** Only a master has a join token: single-node daemons and workers answer 409. */
export const NotAClusterMasterError = httpError(NotAClusterMaster, 409)

export class ClusterApi extends HttpApiGroup.make("cluster")
  .add(
    // never succeeds: the token is not recoverable (declared 204 only because an endpoint needs a success)
    HttpApiEndpoint.get("showToken", "/api/v1/cluster/token")
      .addError(TokenNotRevealableError)
      .addError(NotAClusterMasterError)
  )
  .add(
    HttpApiEndpoint.post("rotateToken", "/api/v1/cluster/token/rotate")
      // no body at all (a bare POST, as before lifetimes existed) is the same as `{}`
      .setPayload(Schema.NullOr(RotateJoinTokenRequest))
      .addSuccess(JoinToken)
      .addError(NotAClusterMasterError)
  )
  .middleware(Authorization)
{}
