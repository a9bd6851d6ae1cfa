// /api/v1/cluster: the join token. It is stored as a hash, so "show" always answers 410 Gone and
// "rotate" is the only way to get a token again (printed once).
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { NotAClusterMaster, TokenNotRevealable } from "../../domain/Errors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

/** `{"token": "nxa_…"}`: the plaintext travels once, in this response; Redacted everywhere else. */
export const JoinToken = Schema.Struct({ token: Schema.Redacted(Schema.String) })

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
      .addSuccess(JoinToken)
      .addError(NotAClusterMasterError)
  )
  .middleware(Authorization)
{}
