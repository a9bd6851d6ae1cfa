// ApiTokensSql on a real SQLite file: legacy-default (first run, configured, migrated from the old
// single hash), hashes at rest, expiry and last use driven by the TestClock, restarts.
import { Migrator, SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Either, Exit, Layer, Option, Redacted, TestClock } from "effect"
import { LEGACY_DEFAULT } from "../../src/domain/ApiToken.js"
import { isApiTokenFormat } from "../../src/domain/Tokens.js"
import * as ApiTokensSql from "../../src/layers/security/ApiTokensSql.js"
import { migrations } from "../../src/layers/state/migrations/index.js"
import { ApiTokens } from "../../src/services/security/ApiTokens.js"
import * as Database from "../../src/layers/state/Database.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "helyos-apitokens-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** One daemon lifetime on the file: ApiTokens plus the SqlClient behind it. */
const inLifetime = <A, E>(file: string, body: Effect.Effect<A, E, ApiTokens | SqlClient.SqlClient>) =>
  Effect.scoped(Effect.provide(body, ApiTokensSql.layer.pipe(Layer.provideMerge(Database.layerWith(file)))))

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")
const bytesOnDisk = (dir: string) =>
  Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name)))).toString("latin1")

const configured = `nxa-api_${"0123456789abcdef".repeat(4)}`
const other = `nxa-api_${"fedcba9876543210".repeat(4)}`

const reason = <A>(effect: Effect.Effect<A, string>) => Effect.map(Effect.either(effect), Either.match({ onLeft: (r) => r, onRight: () => "ok" }))

describe("ApiTokensSql", () => {
  it.scoped("first start mints legacy-default once (admin, never expires); later starts keep it and print nothing", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const minted = yield* inLifetime(file, Effect.flatMap(ApiTokens, (t) => t.ensureDefault(Option.none())))
      const { minted: wasMinted, token } = Option.getOrThrow(minted)
      expect(wasMinted).toBe(true)
      expect(isApiTokenFormat(Redacted.value(token))).toBe(true)
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        expect(Option.isNone(yield* tokens.ensureDefault(Option.none()))).toBe(true)
        const me = yield* tokens.authenticate(Redacted.value(token))
        expect(me).toMatchObject({ name: LEGACY_DEFAULT, scope: "admin", expiresAtMs: null, revokedAtMs: null })
        expect((yield* tokens.list).map((t) => t.name)).toEqual([LEGACY_DEFAULT])
      }))
    }))

  it.scoped("a configured token replaces legacy-default's hash: the old one is refused at once, also after a restart", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        yield* tokens.ensureDefault(Option.some(Redacted.make(configured)))
        expect(yield* reason(tokens.authenticate(configured))).toBe("ok")
        const again = yield* tokens.ensureDefault(Option.some(Redacted.make(other)))
        expect(Option.getOrThrow(again).minted).toBe(false)
        expect(yield* reason(tokens.authenticate(other))).toBe("ok")
        expect(yield* reason(tokens.authenticate(configured))).toBe("unknown")
        expect((yield* tokens.list).map((t) => t.name)).toEqual([LEGACY_DEFAULT])
      }))
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        expect(Option.isNone(yield* tokens.ensureDefault(Option.none()))).toBe(true)
        expect(yield* reason(tokens.authenticate(other))).toBe("ok")
        expect(yield* reason(tokens.authenticate(configured))).toBe("unknown")
      }))
    }))

  it.scoped("a revoked legacy-default is neither minted again nor re-enabled by configuring the same token", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        yield* tokens.ensureDefault(Option.some(Redacted.make(configured)))
        yield* tokens.revoke(LEGACY_DEFAULT)
        expect(yield* reason(tokens.authenticate(configured))).toBe("revoked")
      }))
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        expect(Option.isNone(yield* tokens.ensureDefault(Option.none()))).toBe(true)
        expect(Option.isNone(yield* tokens.ensureDefault(Option.some(Redacted.make(configured))))).toBe(true)
        expect(yield* reason(tokens.authenticate(configured))).toBe("revoked")
        // a different configured token is a new legacy-default
        yield* tokens.ensureDefault(Option.some(Redacted.make(other)))
        expect(yield* reason(tokens.authenticate(other))).toBe("ok")
      }))
    }))

  it.scoped("the old single token hash (cluster_config) becomes legacy-default, still accepted after the upgrade", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      // the database as the previous release left it: migrations before 0004 and the hash in cluster_config
      const before = Object.fromEntries(Object.entries(migrations).filter(([key]) => key < "0004"))
      yield* Effect.scoped(Effect.provide(
        Effect.gen(function*() {
          yield* Migrator.make({})({ loader: Migrator.fromRecord(before) })
          const sql = yield* SqlClient.SqlClient
          yield* sql`INSERT INTO cluster_config (key, value) VALUES ('api_token_hash', ${sha256Hex(configured)})`
        }),
        Database.layerSqlite(file)
      ))
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        const sql = yield* SqlClient.SqlClient
        expect(yield* sql`SELECT * FROM cluster_config WHERE key = 'api_token_hash'`).toEqual([])
        expect(Option.isNone(yield* tokens.ensureDefault(Option.none()))).toBe(true)
        expect(yield* tokens.authenticate(configured)).toMatchObject({ name: LEGACY_DEFAULT, scope: "admin" })
        expect(yield* reason(tokens.authenticate(other))).toBe("unknown")
        // its lookup prefix is learnt on first use
        const rows = yield* sql<{ prefix: string | null }>`SELECT prefix FROM api_tokens`
        expect(rows).toEqual([{ prefix: "nxa-api_0123" }])
      }))
    }))

  it.scoped("only SHA-256 hashes are at rest: no plaintext token in any database file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "helyos.db")
      const secrets = yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        const first = Option.getOrThrow(yield* tokens.ensureDefault(Option.none())).token
        const ci = (yield* tokens.create({ name: "ci", scope: "read", ttlSecs: Option.none() })).token
        return [Redacted.value(first), Redacted.value(ci)]
      }))
      const disk = bytesOnDisk(dir)
      for (const secret of secrets) {
        expect(disk).toContain(sha256Hex(secret)) // the right bytes...
        expect(disk).not.toContain(secret.slice(8)) // ...without the secret
      }
    }))

  it.scoped("a token with a ttl is refused as expired once the Clock passes its expiry", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        const { info, token } = yield* tokens.create({ name: "deploy-bot", scope: "admin", ttlSecs: Option.some(3600) })
        expect(info.expiresAtMs).toBe(info.createdAtMs + 3_600_000)
        yield* TestClock.adjust("59 minutes")
        expect(yield* reason(tokens.authenticate(Redacted.value(token)))).toBe("ok")
        yield* TestClock.adjust("1 minute")
        expect(yield* reason(tokens.authenticate(Redacted.value(token)))).toBe("expired")
        // an expired token no longer holds its name
        const again = yield* tokens.create({ name: "deploy-bot", scope: "admin", ttlSecs: Option.none() })
        expect(yield* reason(tokens.authenticate(Redacted.value(again.token)))).toBe("ok")
      }))
    }))

  it.scoped("last use is recorded, written at most once a minute per token", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        const sql = yield* SqlClient.SqlClient
        const stored = Effect.map(sql<{ lastUsedAtMs: number | null }>`SELECT last_used_at_ms FROM api_tokens`, (r) => r[0]?.lastUsedAtMs)
        yield* TestClock.adjust("1 hour")
        const { token } = yield* tokens.create({ name: "ci", scope: "read", ttlSecs: Option.none() })
        expect(yield* stored).toBeNull()
        yield* tokens.authenticate(Redacted.value(token))
        expect(yield* stored).toBe(3_600_000)
        yield* TestClock.adjust("30 seconds")
        const me = yield* tokens.authenticate(Redacted.value(token))
        expect(me.lastUsedAtMs).toBe(3_600_000)
        expect(yield* stored).toBe(3_600_000)
        yield* TestClock.adjust("31 seconds")
        yield* tokens.authenticate(Redacted.value(token))
        expect(yield* stored).toBe(3_661_000)
      }))
    }))

  it.scoped("active names are unique; a revoked name can be reused and the old secret stays refused", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        const first = yield* tokens.create({ name: "alice", scope: "admin", ttlSecs: Option.none() })
        const taken = yield* Effect.exit(tokens.create({ name: "alice", scope: "read", ttlSecs: Option.none() }))
        expect(Exit.isFailure(taken) && String(taken.cause)).toContain("an active API token named 'alice' already exists")
        yield* tokens.revoke("alice")
        const missing = yield* Effect.exit(tokens.revoke("alice"))
        expect(Exit.isFailure(missing) && String(missing.cause)).toContain("no active API token named 'alice'")
        const second = yield* tokens.create({ name: "alice", scope: "read", ttlSecs: Option.none() })
        expect(yield* reason(tokens.authenticate(Redacted.value(first.token)))).toBe("revoked")
        expect(yield* tokens.authenticate(Redacted.value(second.token))).toMatchObject({ name: "alice", scope: "read" })
        expect((yield* tokens.list).map((t) => [t.name, t.revokedAtMs === null])).toEqual([["alice", false], ["alice", true]])
      }))
      // after a restart, the same answers from the table
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        expect((yield* tokens.list).map((t) => [t.name, t.scope, t.revokedAtMs === null])).toEqual([
          ["alice", "admin", false],
          ["alice", "read", true]
        ])
      }))
    }))

  it.scoped("malformed and unknown tokens are refused with their reason (for the debug log)", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(file, Effect.gen(function*() {
        const tokens = yield* ApiTokens
        yield* tokens.ensureDefault(Option.some(Redacted.make(configured)))
        for (const bad of ["", "Bearer", "nxa-api_short", configured.toUpperCase(), `${configured}0`, `nxa_${configured.slice(8)}`]) {
          expect(yield* reason(tokens.authenticate(bad)), bad).toBe("malformed")
        }
        // same lookup prefix, different secret
        expect(yield* reason(tokens.authenticate(`${configured.slice(0, 12)}${"0".repeat(60)}`))).toBe("unknown")
      }))
    }))
})
