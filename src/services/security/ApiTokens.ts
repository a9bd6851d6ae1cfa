// Named API tokens (`nxa-api_` + 64 hex) for the REST API: mint, list, revoke, and the per-request
// check. Only a hash of each secret is kept; a plaintext exists once, when minted, as Redacted.
import { Context, type Effect, type Option, type Redacted } from "effect"
import type { ApiTokenInfo, ApiTokenNameTaken, ApiTokenNotFound, ApiTokenScope } from "../../domain/ApiToken.js"

/** Why a presented token was refused: for the debug log only (the client always reads the same 401). */
export type RejectReason = "malformed" | "unknown" | "revoked" | "expired"

export class ApiTokens extends Context.Tag("helyos/ApiTokens")<ApiTokens, {
  /**
   * The `legacy-default` token: a configured one replaces its hash; else an existing row is kept;
   * else a new one is minted. Some(token) when the plaintext is known now, `minted` when just generated.
   */
  readonly ensureDefault: (
    configured: Option.Option<Redacted.Redacted<string>>
  ) => Effect.Effect<Option.Option<{ readonly token: Redacted.Redacted<string>; readonly minted: boolean }>>
  /** Mint a named token; its secret is returned only here. `ttlSecs` None = never expires. */
  readonly create: (request: {
    readonly name: string
    readonly scope: ApiTokenScope
    readonly ttlSecs: Option.Option<number>
  }) => Effect.Effect<{ readonly info: ApiTokenInfo; readonly token: Redacted.Redacted<string> }, ApiTokenNameTaken>
  /** Every token ever minted (revoked ones too), oldest first. */
  readonly list: Effect.Effect<ReadonlyArray<ApiTokenInfo>>
  /** Refuse the active token with this name from now on; the row stays, marked revoked. */
  readonly revoke: (name: string) => Effect.Effect<void, ApiTokenNotFound>
  /** Who a presented bearer token is (and note its use), or why it is refused. */
  readonly authenticate: (token: string) => Effect.Effect<ApiTokenInfo, RejectReason>
}>() {}
