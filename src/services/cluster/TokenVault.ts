// The cluster's join token at rest (API tokens: services/security/ApiTokens). Only hashes are stored;
// a plaintext exists once, when it is minted, and is handed back as Redacted.
import { Context, type Duration, type Effect, type Option, type Redacted } from "effect"

/** What a presented join token is worth: only the holder of the real token learns it expired. */
export type JoinTokenCheck = "valid" | "invalid" | "expired"

/** A join token just minted: the plaintext (shown once) and when it stops admitting workers. */
export interface MintedJoinToken {
  readonly token: Redacted.Redacted<string>
  /** epoch ms; none = never expires */
  readonly expiresAtMs: Option.Option<number>
}

export class TokenVault extends Context.Tag("helyos/TokenVault")<TokenVault, {
  /** Mint the join token if none exists yet; Some(token) only when it was minted now (log it once). */
  readonly ensureJoinToken: Effect.Effect<Option.Option<Redacted.Redacted<string>>>
  /**
   * Replace the join token: the old one is refused from now on, the new one is returned once.
   * With a ttl it is refused as expired once that much time (Effect's Clock) has passed.
   */
  readonly rotateJoinToken: (ttl: Option.Option<Duration.Duration>) => Effect.Effect<MintedJoinToken>
  /** Constant-time check of a presented join token against the current hash, then its expiry. */
  readonly verifyJoinToken: (token: string) => Effect.Effect<JoinTokenCheck>
  /** Is a join token set up at all? */
  readonly hasJoinToken: Effect.Effect<boolean>
}>() {}
