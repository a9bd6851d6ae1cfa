// SecretStore on SQLite (the secrets table of helyos.db): AES-256-GCM with the MasterKey, a fresh
// nonce per write, `project/name` as associated data. Plaintext is never written, logged or cached.
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { createHash } from "node:crypto"
import { Clock, Effect, Either, Layer, Option, Redacted, Schema } from "effect"
import { associatedData, open, seal } from "../../domain/SecretCrypto.js"
import {
  decodeSecretText,
  SecretNotFound,
  secretValueBytes,
  SecretUndecryptable,
  validateSecretName
} from "../../domain/Secrets.js"
import { MasterKey } from "../../services/security/MasterKey.js"
import { SecretStore } from "../../services/security/SecretStore.js"

const SealedRow = Schema.Struct({ name: Schema.String, sealed: Schema.Uint8ArrayFromSelf })
const NameRow = Schema.Struct({ name: Schema.String })

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const key = Redacted.value(yield* MasterKey)

  const sealedOf = SqlSchema.findAll({
    Request: Schema.Struct({ project: Schema.String, names: Schema.Array(Schema.String) }),
    Result: SealedRow,
    execute: ({ names, project }) =>
      sql`SELECT name, sealed FROM secrets WHERE project = ${project} AND ${sql.in("name", names)}`
  })
  const namesOf = SqlSchema.findAll({
    Request: Schema.String,
    Result: NameRow,
    execute: (project) => sql`SELECT name FROM secrets WHERE project = ${project} ORDER BY name`
  })
  const existing = SqlSchema.findOne({
    Request: Schema.Struct({ project: Schema.String, name: Schema.String }),
    Result: NameRow,
    execute: ({ name, project }) => sql`SELECT name FROM secrets WHERE project = ${project} AND name = ${name}`
  })

  // one writer at a time, so `created` is true for exactly one of two racing first sets
  const writer = (yield* Effect.makeSemaphore(1)).withPermits(1)

  const set = (project: string, name: string, value: Redacted.Redacted<string>) =>
    Effect.gen(function*() {
      yield* validateSecretName(name)
      const bytes = yield* secretValueBytes(Redacted.value(value))
      const sealed = seal(key, associatedData(project, name), bytes)
      const nowMs = yield* Clock.currentTimeMillis
      return yield* writer(Effect.gen(function*() {
        const before = yield* existing({ project, name })
        yield* sql`
          INSERT INTO secrets ${sql.insert({ project, name, sealed, createdAtMs: nowMs, updatedAtMs: nowMs })}
          ON CONFLICT (project, name) DO UPDATE SET sealed = excluded.sealed, updated_at_ms = excluded.updated_at_ms
        `
        return { created: Option.isNone(before) }
      }))
    }).pipe(Effect.catchTags({ SqlError: Effect.die, ParseError: Effect.die }))

  const list = (project: string) =>
    Effect.map(namesOf(project), (rows) => rows.map((row) => row.name)).pipe(Effect.orDie)

  const remove = (project: string, name: string) =>
    writer(Effect.gen(function*() {
      if (Option.isNone(yield* existing({ project, name }))) return yield* new SecretNotFound({ project, name })
      yield* sql`DELETE FROM secrets WHERE project = ${project} AND name = ${name}`
    })).pipe(Effect.catchTags({ SqlError: Effect.die, ParseError: Effect.die }))

  const removeProject = (project: string) =>
    writer(sql`DELETE FROM secrets WHERE project = ${project}`).pipe(Effect.asVoid, Effect.orDie)

  const resolve = (project: string, names: ReadonlyArray<string>) =>
    Effect.gen(function*() {
      const wanted = [...new Set(names)]
      const rows = wanted.length === 0 ? [] : yield* sealedOf({ project, names: wanted }).pipe(Effect.orDie)
      const byName = new Map(rows.map((row) => [row.name, row.sealed]))
      const values = new Map<string, Redacted.Redacted<string>>()
      const digest = createHash("sha256")
      for (const name of wanted) {
        const sealed = byName.get(name)
        if (sealed === undefined) return yield* new SecretNotFound({ project, name })
        const undecryptable = new SecretUndecryptable({ project, name })
        const plaintext = yield* Either.mapLeft(open(key, associatedData(project, name), sealed), () => undecryptable)
        const text = yield* Either.mapLeft(decodeSecretText(plaintext), () => undecryptable)
        values.set(name, Redacted.make(text))
        // the sealed blob carries a fresh random nonce per set: its digest says "set again", never the value
        digest.update(name).update("\u0000").update(sealed)
      }
      return { values, revision: digest.digest("hex").slice(0, 16) }
    })

  return SecretStore.of({ set, list, remove, removeProject, resolve })
})

/** SecretStore on the migrated SqlClient (Database.layerWith), keyed by MasterKey. */
export const layer = Layer.effect(SecretStore, make)
