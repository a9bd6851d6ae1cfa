// ApiTokens on SQLite (table api_tokens), with every row also held in memory keyed by its lookup
// prefix: a request costs one SHA-256 and a constant-time compare, no SQL (last use is written at most
// once a minute per token). This process is the only writer, so memory and table never disagree.
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { randomUUID } from "node:crypto"
import { Clock, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import {
  type ApiTokenInfo,
  ApiTokenNameTaken,
  ApiTokenNotFound,
  ApiTokenScope,
  isExpired,
  LEGACY_DEFAULT,
  lookupPrefix
} from "../../domain/ApiToken.js"
import { API_TOKEN_PREFIX, apiTokenProblem, digestsEqual, isApiTokenFormat, mintToken, tokenDigest } from "../../domain/Tokens.js"
import { ApiTokens, type RejectReason } from "../../services/security/ApiTokens.js"

/** Last use is persisted at most this often per token: a busy client must not mean a write per request. */
export const LAST_USED_WRITE_INTERVAL = Duration.minutes(1)

const TokenRow = Schema.Struct({
  id: Schema.String,
  name: Schema.String,
  prefix: Schema.NullOr(Schema.String),
  hash: Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/)),
  scope: ApiTokenScope,
  createdAtMs: Schema.Number,
  expiresAtMs: Schema.NullOr(Schema.Number),
  lastUsedAtMs: Schema.NullOr(Schema.Number),
  revokedAtMs: Schema.NullOr(Schema.Number)
})

/** A row in memory: its metadata (updated in place with the table) plus the prefix and digest. */
interface Entry {
  info: ApiTokenInfo
  prefix: string | null
  readonly hash: Buffer
}

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const lock = yield* Effect.makeSemaphore(1)
  const serialized = lock.withPermits(1)
  const writeInterval = Duration.toMillis(LAST_USED_WRITE_INTERVAL)

  const loadAll = SqlSchema.findAll({
    Request: Schema.Void,
    Result: TokenRow,
    execute: () => sql`SELECT * FROM api_tokens ORDER BY created_at_ms, rowid`
  })
  const rows = yield* loadAll(undefined).pipe(
    Effect.catchTag("ParseError", (e) => Effect.dieMessage(`api_tokens holds a malformed row: the database is corrupt (${e.message})`)),
    Effect.orDie
  )

  // every token ever minted, oldest first; indexed by lookup prefix (migrated rows have none yet)
  const entries: Array<Entry> = []
  const byPrefix = new Map<string, Array<Entry>>()
  const unprefixed: Array<Entry> = []
  const index = (entry: Entry) => {
    if (entry.prefix === null) return void unprefixed.push(entry)
    const bucket = byPrefix.get(entry.prefix)
    if (bucket === undefined) byPrefix.set(entry.prefix, [entry])
    else bucket.push(entry)
  }
  const unindex = (entry: Entry) => {
    const bucket = entry.prefix === null ? unprefixed : byPrefix.get(entry.prefix)
    const at = bucket?.indexOf(entry) ?? -1
    if (bucket !== undefined && at >= 0) bucket.splice(at, 1)
    if (entry.prefix !== null && bucket?.length === 0) byPrefix.delete(entry.prefix)
  }
  const remember = (entry: Entry) => {
    entries.push(entry)
    index(entry)
  }
  for (const { hash, prefix, ...info } of rows) remember({ info, prefix, hash: Buffer.from(hash, "hex") })

  const activeNamed = (name: string) => entries.find((e) => e.info.name === name && e.info.revokedAtMs === null)

  const insert = (entry: Entry) =>
    sql`INSERT INTO api_tokens ${
      sql.insert({ ...entry.info, prefix: entry.prefix, hash: entry.hash.toString("hex") })
    }`.pipe(Effect.orDie, Effect.zipRight(Effect.sync(() => remember(entry))))

  const markRevoked = (entry: Entry, atMs: number) =>
    sql`UPDATE api_tokens SET revoked_at_ms = ${atMs} WHERE id = ${entry.info.id}`.pipe(
      Effect.orDie,
      Effect.zipRight(Effect.sync(() => void (entry.info = { ...entry.info, revokedAtMs: atMs })))
    )

  /** A migrated row's prefix becomes known when its token is first seen: index it from then on. */
  const learnPrefix = (entry: Entry, prefix: string) => {
    // already learnt, or the row was given a new secret meanwhile (then this entry is stale)
    if (entry.prefix !== null || !entries.includes(entry)) return Effect.void
    return sql`UPDATE api_tokens SET prefix = ${prefix} WHERE id = ${entry.info.id}`.pipe(
      Effect.orDie,
      Effect.zipRight(Effect.sync(() => {
        unindex(entry)
        entry.prefix = prefix
        index(entry)
      }))
    )
  }

  /** legacy-default takes the configured token's hash in place (same row, same id): the old one is refused at once. */
  const replaceSecret = (entry: Entry, hash: Buffer, prefix: string) =>
    sql`UPDATE api_tokens SET hash = ${hash.toString("hex")}, prefix = ${prefix} WHERE id = ${entry.info.id}`.pipe(
      Effect.orDie,
      Effect.zipRight(Effect.sync(() => {
        const at = entries.indexOf(entry)
        const replaced: Entry = { info: entry.info, prefix, hash }
        entries[at] = replaced
        unindex(entry)
        index(replaced)
      }))
    )

  const newEntry = (token: Redacted.Redacted<string>, name: string, scope: ApiTokenScope, nowMs: number, expiresAtMs: number | null): Entry => ({
    info: { id: randomUUID(), name, scope, createdAtMs: nowMs, expiresAtMs, lastUsedAtMs: null, revokedAtMs: null },
    prefix: lookupPrefix(Redacted.value(token)),
    hash: tokenDigest(Redacted.value(token))
  })

  const ensureDefault = (configured: Option.Option<Redacted.Redacted<string>>) =>
    serialized(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const current = activeNamed(LEGACY_DEFAULT)
      if (Option.isNone(configured)) {
        // a revoked legacy-default stays revoked: minting again would undo the operator's revocation
        if (entries.some((e) => e.info.name === LEGACY_DEFAULT)) return Option.none()
        const token = mintToken(API_TOKEN_PREFIX)
        yield* insert(newEntry(token, LEGACY_DEFAULT, "admin", now, null))
        return Option.some({ token, minted: true })
      }
      const token = configured.value
      // validated at the edge (flags); a malformed one here would never verify, so it is a bug
      const problem = apiTokenProblem(Redacted.value(token))
      if (problem !== undefined) return yield* Effect.dieMessage(`configured API token rejected: ${problem}`)
      const hash = tokenDigest(Redacted.value(token))
      const prefix = lookupPrefix(Redacted.value(token))
      if (current !== undefined && digestsEqual(current.hash, hash)) {
        if (current.prefix === null) yield* learnPrefix(current, prefix)
        return Option.some({ token, minted: false })
      }
      const revoked = entries.some((e) =>
        e.info.name === LEGACY_DEFAULT && e.info.revokedAtMs !== null && digestsEqual(e.hash, hash)
      )
      if (revoked) {
        yield* Effect.logWarning("the configured API token (--api-token / HELYOS_API_TOKEN) was revoked; it stays refused")
        return Option.none()
      }
      if (current !== undefined) {
        yield* replaceSecret(current, hash, prefix)
      } else {
        yield* insert(newEntry(token, LEGACY_DEFAULT, "admin", now, null))
      }
      yield* Effect.logInfo("configured API token stored as a SHA-256 hash (legacy-default)")
      return Option.some({ token, minted: false })
    }))

  const create = (request: { readonly name: string; readonly scope: ApiTokenScope; readonly ttlSecs: Option.Option<number> }) =>
    serialized(Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const current = activeNamed(request.name)
      if (current !== undefined) {
        if (!isExpired(current.info, now)) return yield* new ApiTokenNameTaken({ name: request.name })
        // an expired token no longer holds its name: retire it so the name can be used again
        yield* markRevoked(current, now)
      }
      const token = mintToken(API_TOKEN_PREFIX)
      const expiresAtMs = Option.match(request.ttlSecs, { onNone: () => null, onSome: (secs) => now + secs * 1000 })
      const entry = newEntry(token, request.name, request.scope, now, expiresAtMs)
      yield* insert(entry)
      return { info: entry.info, token }
    }))

  const list = Effect.sync(() => entries.map((e) => e.info))

  const revoke = (name: string) =>
    serialized(Effect.gen(function*() {
      const current = activeNamed(name)
      if (current === undefined) return yield* new ApiTokenNotFound({ name })
      yield* markRevoked(current, yield* Clock.currentTimeMillis)
    }))

  /** Note a use, persisting it only when the stored one is older than the write interval. */
  const noteUse = (entry: Entry, nowMs: number) =>
    entry.info.lastUsedAtMs !== null && nowMs - entry.info.lastUsedAtMs < writeInterval
      ? Effect.void
      : Effect.zipRight(
        Effect.sync(() => void (entry.info = { ...entry.info, lastUsedAtMs: nowMs })),
        sql`UPDATE api_tokens SET last_used_at_ms = ${nowMs} WHERE id = ${entry.info.id}`.pipe(Effect.orDie)
      )

  const authenticate = (token: string): Effect.Effect<ApiTokenInfo, RejectReason> =>
    Effect.gen(function*() {
      // the presented token is hashed whatever its shape, so timing says nothing about why it failed
      const presented = tokenDigest(token)
      if (!isApiTokenFormat(token)) return yield* Effect.fail("malformed" as const)
      const prefix = lookupPrefix(token)
      // the candidate count depends only on the (public) prefix; each compare is constant time
      const candidates = [...(byPrefix.get(prefix) ?? []), ...unprefixed].filter((e) => digestsEqual(e.hash, presented))
      const entry = candidates.find((e) => e.info.revokedAtMs === null) ?? candidates[0]
      if (entry === undefined) return yield* Effect.fail("unknown" as const)
      if (entry.info.revokedAtMs !== null) return yield* Effect.fail("revoked" as const)
      const now = yield* Clock.currentTimeMillis
      if (isExpired(entry.info, now)) return yield* Effect.fail("expired" as const)
      if (entry.prefix === null) yield* serialized(learnPrefix(entry, prefix))
      yield* noteUse(entry, now)
      return entry.info
    })

  return ApiTokens.of({ ensureDefault, create, list, revoke, authenticate })
})

/** ApiTokens backed by the api_tokens table; requires a migrated SqlClient (Database.layerWith). */
export const layer = Layer.effect(ApiTokens, make)
