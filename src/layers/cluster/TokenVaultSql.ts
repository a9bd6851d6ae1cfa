// TokenVault on SQLite: the join token exists at rest only as a SHA-256 digest in cluster_config.
// The current digests are also held in memory, so a rotation is seen by the very next verification.
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Clock, Duration, Effect, Layer, Option, Redacted, Schema, SynchronizedRef } from "effect"
import { digestsEqual, isJoinTokenFormat, JOIN_TOKEN_PREFIX, mintToken, tokenDigest } from "../../domain/Tokens.js"
import { TokenVault } from "../../services/cluster/TokenVault.js"

const JOIN_KEY = "join_token_hash"
/** epoch ms after which the join token is refused as expired; absent = it never expires */
const JOIN_EXPIRY_KEY = "join_token_expires_ms"

interface Digests {
  readonly join: Option.Option<Buffer>
  readonly joinExpiresAtMs: Option.Option<number>
}

/**
 * Constant time with respect to the secret: the candidate is always hashed and compared as a
 * fixed 32-byte digest, whatever its shape. The format check only looks at the candidate.
 */
const matches = (stored: Option.Option<Buffer>, candidate: string, wellFormed: (t: string) => boolean): boolean => {
  const presented = tokenDigest(candidate)
  if (Option.isNone(stored)) return false
  const equal = digestsEqual(presented, stored.value)
  return equal && wellFormed(candidate)
}

const ConfigRow = Schema.Struct({ key: Schema.String, value: Schema.String })

const decodeDigest = (key: string, hex: string): Effect.Effect<Buffer> =>
  /^[0-9a-f]{64}$/.test(hex)
    ? Effect.succeed(Buffer.from(hex, "hex"))
    : Effect.dieMessage(`cluster_config '${key}' is not a SHA-256 hex digest: the database is corrupt`)

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const loadAll = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ConfigRow,
    execute: () => sql`SELECT key, value FROM cluster_config WHERE key IN (${JOIN_KEY}, ${JOIN_EXPIRY_KEY})`
  })
  const store = (key: string, hash: Buffer) =>
    sql`
      INSERT INTO cluster_config ${sql.insert({ key, value: hash.toString("hex") })}
      ON CONFLICT (key) DO UPDATE SET value = excluded.value
    `.pipe(Effect.asVoid, Effect.orDie)

  const rows = yield* loadAll(undefined).pipe(Effect.orDie)
  const load = (key: string) =>
    Option.match(Option.fromNullable(rows.find((row) => row.key === key)), {
      onNone: () => Effect.succeed(Option.none<Buffer>()),
      onSome: (row) => Effect.map(decodeDigest(key, row.value), Option.some)
    })
  const expiryRow = rows.find((row) => row.key === JOIN_EXPIRY_KEY)
  const joinExpiresAtMs = expiryRow === undefined
    ? Option.none<number>()
    : /^\d+$/.test(expiryRow.value)
    ? Option.some(Number(expiryRow.value))
    : yield* Effect.dieMessage(`cluster_config '${JOIN_EXPIRY_KEY}' is not a timestamp: the database is corrupt`)
  // SynchronizedRef: every write goes to SQLite and memory together, one writer at a time
  const digests = yield* SynchronizedRef.make<Digests>({ join: yield* load(JOIN_KEY), joinExpiresAtMs })

  /** The new hash and its expiry (or none) in one transaction, then in memory. */
  const replaceJoin = (token: Redacted.Redacted<string>, expiresAtMs: Option.Option<number>) =>
    SynchronizedRef.updateEffect(digests, (current) => {
      const hash = tokenDigest(Redacted.value(token))
      const expiry = Option.match(expiresAtMs, {
        onNone: () => sql`DELETE FROM cluster_config WHERE key = ${JOIN_EXPIRY_KEY}`,
        onSome: (ms) =>
          sql`
            INSERT INTO cluster_config ${sql.insert({ key: JOIN_EXPIRY_KEY, value: String(ms) })}
            ON CONFLICT (key) DO UPDATE SET value = excluded.value
          `
      })
      return store(JOIN_KEY, hash).pipe(
        Effect.zipRight(Effect.orDie(expiry)),
        sql.withTransaction,
        Effect.orDie,
        Effect.as({ ...current, join: Option.some(hash), joinExpiresAtMs: expiresAtMs })
      )
    })

  const ensureJoinToken = SynchronizedRef.modifyEffect(digests, (current) => {
    if (Option.isSome(current.join)) return Effect.succeed([Option.none(), current] as const)
    const token = mintToken(JOIN_TOKEN_PREFIX)
    const hash = tokenDigest(Redacted.value(token))
    return Effect.as(store(JOIN_KEY, hash), [Option.some(token), { ...current, join: Option.some(hash) }] as const)
  })

  const rotateJoinToken = (ttl: Option.Option<Duration.Duration>) =>
    Effect.gen(function*() {
      const token = mintToken(JOIN_TOKEN_PREFIX)
      const now = yield* Clock.currentTimeMillis
      const expiresAtMs = Option.map(ttl, (d) => now + Math.round(Duration.toMillis(d)))
      yield* replaceJoin(token, expiresAtMs)
      return { token, expiresAtMs }
    })

  const verifyJoinToken = (token: string) =>
    Effect.gen(function*() {
      const current = yield* SynchronizedRef.get(digests)
      if (!matches(current.join, token, isJoinTokenFormat)) return "invalid" as const
      if (Option.isNone(current.joinExpiresAtMs)) return "valid" as const
      return (yield* Clock.currentTimeMillis) >= current.joinExpiresAtMs.value ? "expired" as const : "valid" as const
    })

  return TokenVault.of({
    ensureJoinToken,
    rotateJoinToken,
    verifyJoinToken,
    hasJoinToken: Effect.map(SynchronizedRef.get(digests), (d) => Option.isSome(d.join))
  })
})

/** TokenVault backed by the cluster_config table; requires a migrated SqlClient (Database.layerWith). */
export const layer = Layer.effect(TokenVault, make)
