// /api/v1/tokens (mint, list, revoke named API tokens) and /api/v1/whoami (the caller's own token).
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import {
  ApiTokenNameTaken,
  ApiTokenNotFound,
  ApiTokenScope,
  ApiTokenView,
  CreatedApiToken,
  MAX_TTL_SECS,
  WhoAmI
} from "../../domain/ApiToken.js"
import { InvalidName } from "../../domain/WorkloadErrors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

export const ApiTokenNameTakenError = httpError(ApiTokenNameTaken, 409)
export const ApiTokenNotFoundError = httpError(ApiTokenNotFound, 404)
export const InvalidTokenNameError = httpError(InvalidName, 422)

/** `ttl_secs` ≤ 0 or absent (or null) means the token never expires. */
export const CreateTokenRequest = Schema.Struct({
  name: Schema.String,
  scope: Schema.optionalWith(ApiTokenScope, { exact: true, default: () => "admin" as const }),
  ttl_secs: Schema.optionalWith(
    Schema.NullOr(Schema.Int.pipe(Schema.lessThanOrEqualTo(MAX_TTL_SECS, {
      message: () => `ttl_secs must be an integer number of seconds of at most ${MAX_TTL_SECS} (100 years)`
    }))),
    { exact: true }
  )
})

export class TokensApi extends HttpApiGroup.make("tokens")
  .add(HttpApiEndpoint.get("whoami", "/api/v1/whoami").addSuccess(WhoAmI))
  .add(
    HttpApiEndpoint.post("create", "/api/v1/tokens")
      .setPayload(CreateTokenRequest)
      .addSuccess(CreatedApiToken, { status: 201 })
      .addError(ApiTokenNameTakenError)
      .addError(InvalidTokenNameError)
  )
  .add(HttpApiEndpoint.get("list", "/api/v1/tokens").addSuccess(Schema.Array(ApiTokenView)))
  .add(
    // 204 on success
    HttpApiEndpoint.del("revoke", "/api/v1/tokens/:name")
      .setPath(Schema.Struct({ name: Schema.String }))
      .addError(ApiTokenNotFoundError)
  )
  .middleware(Authorization)
{}
