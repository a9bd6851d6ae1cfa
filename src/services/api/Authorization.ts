// The bearer-token guard of every non-public group: `Authorization: Bearer nxa-api_…`.
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Unauthorized } from "../../domain/Errors.js"
import { httpError } from "./HttpErrors.js"

/** 401 `{"error":"missing or invalid bearer token"}` when the token is absent or wrong. */
export const UnauthorizedError = httpError(Unauthorized, 401)

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("helyos/api/Authorization", {
  failure: UnauthorizedError,
  security: { bearer: HttpApiSecurity.bearer }
}) {}
