// Per-project secrets, encrypted at rest under this node's master key. Values enter and leave only
// as Redacted and only in memory; nothing here ever hands a value back to a client, only to injection.
import { Context, type Effect, type Redacted } from "effect"
import type {
  InvalidSecretName,
  InvalidSecretValue,
  SecretNotFound,
  SecretUndecryptable
} from "../../domain/Secrets.js"

/** A deployment's secrets, decrypted for injection. */
export interface ResolvedSecrets {
  /** name -> value, in the order asked for */
  readonly values: ReadonlyMap<string, Redacted.Redacted<string>>
  /** Changes whenever one of these secrets is set again (never derived from a value): redeploys roll on it. */
  readonly revision: string
}

export class SecretStore extends Context.Tag("helyos/SecretStore")<SecretStore, {
  /** Create or overwrite `project/name` (a fresh nonce each time). `created`: it did not exist before. */
  readonly set: (
    project: string,
    name: string,
    value: Redacted.Redacted<string>
  ) => Effect.Effect<{ readonly created: boolean }, InvalidSecretName | InvalidSecretValue>
  /** The project's secret names, sorted. Never values. */
  readonly list: (project: string) => Effect.Effect<ReadonlyArray<string>>
  /** Delete one secret; running containers keep the value they were started with. */
  readonly remove: (project: string, name: string) => Effect.Effect<void, SecretNotFound>
  /** Delete every secret of a project (the project itself is being deleted). */
  readonly removeProject: (project: string) => Effect.Effect<void>
  /** Decrypt `names` of `project`; fails on the first one that is missing or does not open. */
  readonly resolve: (
    project: string,
    names: ReadonlyArray<string>
  ) => Effect.Effect<ResolvedSecrets, SecretNotFound | SecretUndecryptable>
}>() {}
