// Named API tokens: scopes, what a token may do, the wire views and the expected failures.
// A token's secret never appears here: only metadata, the 12-character lookup prefix and the rules.
import { Schema } from "effect"
import { API_TOKEN_PREFIX } from "./Tokens.js"
import { rfc3339 } from "./Time.js"

/** The row that stands for the first-run or `--api-token` token. */
export const LEGACY_DEFAULT = "legacy-default"

/** `nxa-api_` + 4 hex: non-secret, indexed, narrows a lookup to (almost always) one row. */
export const LOOKUP_PREFIX_LENGTH = API_TOKEN_PREFIX.length + 4

/** The lookup prefix of a presented token (whatever its shape: a wrong one simply finds nothing). */
export const lookupPrefix = (token: string): string => token.slice(0, LOOKUP_PREFIX_LENGTH)

/** admin: everything; read: GET and HEAD only. */
export const ApiTokenScope = Schema.Literal("admin", "read")
export type ApiTokenScope = typeof ApiTokenScope.Type

/** May a token of this scope make a request with this method? */
export const scopeAllows = (scope: ApiTokenScope, method: string): boolean =>
  scope === "admin" || method === "GET" || method === "HEAD"

/** The longest lifetime a token may be given (100 years): keeps every expiry a representable date. */
export const MAX_TTL_SECS = 100 * 365 * 24 * 3600

/** A token as the daemon knows it (no secret, no hash). Times are epoch ms. */
export interface ApiTokenInfo {
  readonly id: string
  readonly name: string
  readonly scope: ApiTokenScope
  readonly createdAtMs: number
  readonly expiresAtMs: number | null
  readonly lastUsedAtMs: number | null
  readonly revokedAtMs: number | null
}

/** Has this token's lifetime run out at `nowMs`? */
export const isExpired = (token: Pick<ApiTokenInfo, "expiresAtMs">, nowMs: number): boolean =>
  token.expiresAtMs !== null && nowMs >= token.expiresAtMs

const Time = Schema.String
const OptionalTime = Schema.NullOr(Schema.String)
const time = (ms: number | null): string | null => ms === null ? null : rfc3339(ms)

/** GET /api/v1/whoami: who the presented token is. */
export const WhoAmI = Schema.Struct({
  name: Schema.String,
  scope: ApiTokenScope,
  created_at: Time,
  expires_at: OptionalTime,
  last_used_at: OptionalTime
})
export type WhoAmI = typeof WhoAmI.Type

/** One row of GET /api/v1/tokens: metadata only, never the secret, its hash or its prefix. */
export const ApiTokenView = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  scope: ApiTokenScope,
  created_at: Time,
  expires_at: OptionalTime,
  last_used_at: OptionalTime,
  expired: Schema.Boolean,
  revoked: Schema.Boolean,
  revoked_at: OptionalTime
})
export type ApiTokenView = typeof ApiTokenView.Type

/** POST /api/v1/tokens answer: the only place the secret is ever sent. */
export const CreatedApiToken = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  token: Schema.String,
  scope: ApiTokenScope,
  created_at: Time,
  expires_at: OptionalTime
})
export type CreatedApiToken = typeof CreatedApiToken.Type

export const toWhoAmI = (token: ApiTokenInfo): WhoAmI => ({
  name: token.name,
  scope: token.scope,
  created_at: rfc3339(token.createdAtMs),
  expires_at: time(token.expiresAtMs),
  last_used_at: time(token.lastUsedAtMs)
})

export const toApiTokenView = (token: ApiTokenInfo, nowMs: number): ApiTokenView => ({
  id: token.id,
  name: token.name,
  scope: token.scope,
  created_at: rfc3339(token.createdAtMs),
  expires_at: time(token.expiresAtMs),
  last_used_at: time(token.lastUsedAtMs),
  expired: isExpired(token, nowMs),
  revoked: token.revokedAtMs !== null,
  revoked_at: time(token.revokedAtMs)
})

/** The answer to POST /api/v1/tokens for a token just created with this secret. */
export const toCreatedApiToken = (token: ApiTokenInfo, secret: string): CreatedApiToken => ({
  id: token.id,
  name: token.name,
  token: secret,
  scope: token.scope,
  created_at: rfc3339(token.createdAtMs),
  expires_at: time(token.expiresAtMs)
})

// ---- expected failures ------------------------------------------------------------------------

export class ApiTokenNameTaken extends Schema.TaggedError<ApiTokenNameTaken>()("ApiTokenNameTaken", {
  name: Schema.String
}) {
  override get message() {
    return `an active API token named '${this.name}' already exists (revoke it first)`
  }
}

export class ApiTokenNotFound extends Schema.TaggedError<ApiTokenNotFound>()("ApiTokenNotFound", {
  name: Schema.String
}) {
  override get message() {
    return `no active API token named '${this.name}'`
  }
}

/** A valid token whose scope does not cover the request (403). */
export class InsufficientScope extends Schema.TaggedError<InsufficientScope>()("InsufficientScope", {
  name: Schema.String,
  scope: ApiTokenScope
}) {
  override get message() {
    return `token '${this.name}' has ${this.scope} scope; this request needs admin`
  }
}

/** Too many failed authentications from one address (429, with Retry-After). */
export class TooManyFailedAuthentications
  extends Schema.TaggedError<TooManyFailedAuthentications>()("TooManyFailedAuthentications", {
    retryAfterSecs: Schema.Number
  })
{
  override get message() {
    return `too many failed authentications; retry in ${this.retryAfterSecs}s`
  }
}
