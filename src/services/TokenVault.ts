// The cluster's secrets at rest: the join token and the API token. Only hashes are stored;
// a plaintext exists once, when it is minted, and is handed back as Redacted.
import { Context, type Effect, type Option, type Redacted } from "effect"

export class TokenVault extends Context.Tag("helyos/TokenVault")<TokenVault, {
  /** Mint the join token if none exists yet; Some(token) only when it was minted now (log it once). */
  readonly ensureJoinToken: Effect.Effect<Option.Option<Redacted.Redacted<string>>>
  /** Replace the join token: the old one is refused from now on, the new one is returned once. */
  readonly rotateJoinToken: Effect.Effect<Redacted.Redacted<string>>
  /** Constant-time check of a presented join token against the current hash. */
  readonly verifyJoinToken: (token: string) => Effect.Effect<boolean>
  /** Is a join token set up at all? */
  readonly hasJoinToken: Effect.Effect<boolean>
  /**
   * Make the API token: the configured one if given (its hash replaces the stored one), else the
   * stored one, else a new one. Some(token) when the plaintext is known now (configured or minted),
   * with `minted` telling whether it was just generated.
   */
  readonly ensureApiToken: (
    configured: Option.Option<Redacted.Redacted<string>>
  ) => Effect.Effect<Option.Option<{ readonly token: Redacted.Redacted<string>; readonly minted: boolean }>>
  /** Constant-time check of a presented bearer token. */
  readonly verifyApiToken: (token: string) => Effect.Effect<boolean>
}>() {}
