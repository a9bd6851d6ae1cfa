// TokenVault on SQLite: the join and API tokens exist at rest only as SHA-256 digests in cluster_config.
// The current digests are also held in memory, so a rotation is seen by the very next verification.
import { SqlClient, SqlSchema } from "@effect/sql"
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Effect, Layer, Option, Redacted, Schema, SynchronizedRef } from "effect"
import { API_TOKEN_PREFIX, apiTokenProblem, isApiTokenFormat, isJoinTokenFormat, JOIN_TOKEN_PREFIX } from "../domain/Tokens.js"
import { TokenVault } from "../services/TokenVault.js"

const JOIN_KEY = "join_token_hash"
const API_KEY = "api_token_hash"

// A plain SHA-256 is enough: the tokens carry 256 random bits, so there is nothing for a slow KDF
// (bcrypt/scrypt) to protect against; brute force is infeasible either way, and verification stays cheap.
const digest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

const mint = (prefix: string): Redacted.Redacted<string> =>
  Redacted.make(prefix + randomBytes(32).toString("hex"))

interface Digests {
  readonly join: Option.Option<Buffer>
  readonly api: Option.Option<Buffer>
}

/**
 * Constant time with respect to the secret: the candidate is always hashed and compared as a
 * fixed 32-byte digest, whatever its shape. The format check only looks at the candidate.
 */
const matches = (stored: Option.Option<Buffer>, candidate: string, wellFormed: (t: string) => boolean): boolean => {
  const presented = digest(candidate)
  if (Option.isNone(stored)) return false
  const equal = timingSafeEqual(presented, stored.value)
  return equal && wellFormed(candidate)
}

const ConfigRow = Schema.Struct({ key: Schema.String, value: Schema.String })

const decodeDigest = (key: string, hex: string): Effect.Effect<Buffer> =>
  /^[0-9a-f]{64}$/.test(hex)
    ? Effect.succeed(Buffer.from(hex, "hex"))
    : Effect.dieMessage(`cluster_config '${key}' is not a SHA-256 hex digest: the database is corrupt`)

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const loadAll = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ConfigRow,
    execute: () => sql`SELECT key, value FROM cluster_config WHERE key IN (${JOIN_KEY}, ${API_KEY})`
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
  // SynchronizedRef: every write goes to SQLite and memory together, one writer at a time
  const digests = yield* SynchronizedRef.make<Digests>({ join: yield* load(JOIN_KEY), api: yield* load(API_KEY) })

  const replaceJoin = (token: Redacted.Redacted<string>) =>
    SynchronizedRef.updateEffect(digests, (current) => {
      const hash = digest(Redacted.value(token))
      return Effect.as(store(JOIN_KEY, hash), { ...current, join: Option.some(hash) })
    })
  const replaceApi = (token: Redacted.Redacted<string>) =>
    SynchronizedRef.updateEffect(digests, (current) => {
      const hash = digest(Redacted.value(token))
      return Effect.as(store(API_KEY, hash), { ...current, api: Option.some(hash) })
    })

  const ensureJoinToken = SynchronizedRef.modifyEffect(digests, (current) => {
    if (Option.isSome(current.join)) return Effect.succeed([Option.none(), current] as const)
    const token = mint(JOIN_TOKEN_PREFIX)
    const hash = digest(Redacted.value(token))
    return Effect.as(store(JOIN_KEY, hash), [Option.some(token), { ...current, join: Option.some(hash) }] as const)
  })

  const rotateJoinToken = Effect.gen(function*() {
    const token = mint(JOIN_TOKEN_PREFIX)
    yield* replaceJoin(token)
    return token
  })

  const ensureApiToken = (configured: Option.Option<Redacted.Redacted<string>>) =>
    Option.match(configured, {
      onSome: (token) => {
        // validated at the edge (flags); a malformed one here would never verify, so it is a bug
        const problem = apiTokenProblem(Redacted.value(token))
        return problem !== undefined
          ? Effect.dieMessage(`configured API token rejected: ${problem}`)
          : Effect.as(replaceApi(token), Option.some({ token, minted: false }))
      },
      onNone: () =>
        SynchronizedRef.modifyEffect(digests, (current) => {
          if (Option.isSome(current.api)) return Effect.succeed([Option.none(), current] as const)
          const token = mint(API_TOKEN_PREFIX)
          const hash = digest(Redacted.value(token))
          return Effect.as(
            store(API_KEY, hash),
            [Option.some({ token, minted: true }), { ...current, api: Option.some(hash) }] as const
          )
        })
    })

  return TokenVault.of({
    ensureJoinToken,
    rotateJoinToken,
    verifyJoinToken: (token) => Effect.map(SynchronizedRef.get(digests), (d) => matches(d.join, token, isJoinTokenFormat)),
    hasJoinToken: Effect.map(SynchronizedRef.get(digests), (d) => Option.isSome(d.join)),
    ensureApiToken,
    verifyApiToken: (token) => Effect.map(SynchronizedRef.get(digests), (d) => matches(d.api, token, isApiTokenFormat))
  })
})

/** TokenVault backed by the cluster_config table; requires a migrated SqlClient (DatabaseLive). */
export const TokenVaultSql = {
  make,
  layer: Layer.effect(TokenVault, make)
} as const

/** The same layer under the `XxxLive` name the programs use. */
export const TokenVaultSqlLive = TokenVaultSql.layer
