// The bearer-token guard of every non-public group: `Authorization: Bearer nxa-api_…`. It answers
// 401 (unknown, revoked or expired token), 403 (a read token on anything but GET/HEAD) and 429 (too
// many failures from one address), and hands the caller's identity to the handlers as CurrentToken.
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import { Context, Schema } from "effect"
import { type ApiTokenInfo, InsufficientScope, TooManyFailedAuthentications } from "../../domain/ApiToken.js"
import { Unauthorized } from "../../domain/Errors.js"
import { httpError } from "./HttpErrors.js"

/** 401 `{"error":"missing or invalid bearer token"}` when the token is absent, wrong, revoked or expired. */
export const UnauthorizedError = httpError(Unauthorized, 401)

/** 403 `{"error":"token 'x' has read scope; this request needs admin"}`. */
export const ForbiddenError = httpError(InsufficientScope, 403)

/** 429 `{"error":"too many failed authentications; retry in Ns"}` (plus a Retry-After header). */
export const TooManyRequestsError = httpError(TooManyFailedAuthentications, 429)

/** The token that authenticated the current request. */
export class CurrentToken extends Context.Tag("helyos/api/CurrentToken")<CurrentToken, ApiTokenInfo>() {}

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("helyos/api/Authorization", {
  failure: Schema.Union(UnauthorizedError, ForbiddenError, TooManyRequestsError),
  provides: CurrentToken,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
