// TokenVaultSql on a real SQLite file: formats, hashes at rest, constant-time checks, rotation, restarts.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Layer, Option, Redacted } from "effect"
import { isApiTokenFormat, isJoinTokenFormat } from "../../src/domain/Tokens.js"
import { DatabaseLive } from "../../src/layers/Database.js"
import { TokenVaultSql } from "../../src/layers/TokenVaultSql.js"
import { TokenVault } from "../../src/services/TokenVault.js"

/** A temp directory that disappears with the test's scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "helyos-vault-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** One "master lifetime" on the file: the vault plus the SqlClient, for looking at the table. */
const vaultOn = (file: string) => TokenVaultSql.layer.pipe(Layer.provideMerge(DatabaseLive(file)))

/** Run `body` in one lifetime; the database is closed when it returns. */
const inLifetime = <A, E>(file: string, body: Effect.Effect<A, E, TokenVault | SqlClient.SqlClient>) =>
  Effect.scoped(Effect.provide(body, vaultOn(file)))

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

/** Every byte the database keeps on disk (main file, WAL, shared memory). */
const bytesOnDisk = (dir: string) =>
  Buffer.concat(readdirSync(dir).map((name) => readFileSync(join(dir, name)))).toString("latin1")

const configValue = (key: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ value: string }>`SELECT value FROM cluster_config WHERE key = ${key}`
    return rows[0]?.value
  })

const hex64 = "0123456789abcdef".repeat(4)

describe("TokenVaultSql", () => {
  it.scoped("mints a join token of the form nxa_ + 64 hex once, and returns it only when minted", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const [first, second, has] = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const before = yield* vault.hasJoinToken
          expect(before).toBe(false)
          return [yield* vault.ensureJoinToken, yield* vault.ensureJoinToken, yield* vault.hasJoinToken] as const
        })
      )
      const token = Redacted.value(Option.getOrThrow(first))
      expect(isJoinTokenFormat(token)).toBe(true)
      expect(token).toMatch(/^nxa_[0-9a-f]{64}$/)
      expect(Option.isNone(second)).toBe(true)
      expect(has).toBe(true)
      // after a restart the token is still there, and still not shown again
      const again = yield* inLifetime(file, Effect.flatMap(TokenVault, (v) => v.ensureJoinToken))
      expect(Option.isNone(again)).toBe(true)
    }))

  it.scoped("keeps only SHA-256 hashes on disk: no plaintext token in any database file", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const file = join(dir, "helyos.db")
      const [join_, api, storedJoin, storedApi] = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const joinToken = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          const apiToken = Redacted.value(Option.getOrThrow(yield* vault.ensureApiToken(Option.none())).token)
          return [joinToken, apiToken, yield* configValue("join_token_hash"), yield* configValue("api_token_hash")] as const
        })
      )
      expect(storedJoin).toBe(sha256Hex(join_))
      expect(storedApi).toBe(sha256Hex(api))
      const disk = bytesOnDisk(dir)
      expect(disk).toContain(sha256Hex(join_)) // we are reading the right bytes...
      expect(disk).not.toContain(join_.slice(4)) // ...and the secrets are not among them
      expect(disk).not.toContain(api.slice(8))
    }))

  it.scoped("verifies the current join token and refuses other, malformed and empty tokens", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(yield* vault.verifyJoinToken(`nxa_${hex64}`)).toBe(false) // none minted yet
          const token = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          expect(yield* vault.verifyJoinToken(token)).toBe(true)
          const refused = [
            `nxa_${hex64}`,
            "",
            "nxa_",
            token.toUpperCase(),
            `${token}0`,
            token.slice(0, -1),
            ` ${token}`,
            `nxa-api_${token.slice(4)}`
          ]
          for (const candidate of refused) {
            expect(yield* vault.verifyJoinToken(candidate), candidate).toBe(false)
          }
        })
      )
    }))

  it.scoped("rotation refuses the old join token at once and accepts the new one, also after a restart", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const [old, fresh] = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const old = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          const fresh = Redacted.value(yield* vault.rotateJoinToken)
          expect(isJoinTokenFormat(fresh)).toBe(true)
          expect(fresh).not.toBe(old)
          expect(yield* vault.verifyJoinToken(old)).toBe(false)
          expect(yield* vault.verifyJoinToken(fresh)).toBe(true)
          return [old, fresh] as const
        })
      )
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(yield* vault.verifyJoinToken(old)).toBe(false)
          expect(yield* vault.verifyJoinToken(fresh)).toBe(true)
        })
      )
    }))

  it.scoped("a configured API token is accepted and still accepted after a restart without it", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const configured = `nxa-api_${hex64}`
      const first = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const ensured = yield* vault.ensureApiToken(Option.some(Redacted.make(configured)))
          expect(yield* vault.verifyApiToken(configured)).toBe(true)
          expect(yield* vault.verifyApiToken(`nxa-api_${"f".repeat(64)}`)).toBe(false)
          expect(yield* vault.verifyApiToken(`nxa_${hex64}`)).toBe(false)
          return ensured
        })
      )
      const { minted, token } = Option.getOrThrow(first)
      expect(minted).toBe(false)
      expect(Redacted.value(token)).toBe(configured)
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(Option.isNone(yield* vault.ensureApiToken(Option.none()))).toBe(true)
          expect(yield* vault.verifyApiToken(configured)).toBe(true)
        })
      )
    }))

  it.scoped("a minted API token is reused after a restart, until a configured one replaces it", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const minted = yield* inLifetime(
        file,
        Effect.flatMap(TokenVault, (vault) => vault.ensureApiToken(Option.none()))
      )
      const first = Option.getOrThrow(minted)
      expect(first.minted).toBe(true)
      const token = Redacted.value(first.token)
      expect(isApiTokenFormat(token)).toBe(true)
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(Option.isNone(yield* vault.ensureApiToken(Option.none()))).toBe(true)
          expect(yield* vault.verifyApiToken(token)).toBe(true)
          // an operator now configures one: it replaces the minted token
          const configured = `nxa-api_${hex64}`
          yield* vault.ensureApiToken(Option.some(Redacted.make(configured)))
          expect(yield* vault.verifyApiToken(configured)).toBe(true)
          expect(yield* vault.verifyApiToken(token)).toBe(false)
        })
      )
    }))

  it.scoped("the join and API tokens are independent: neither verifies as the other", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const joinToken = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          const apiToken = Redacted.value(Option.getOrThrow(yield* vault.ensureApiToken(Option.none())).token)
          expect(yield* vault.verifyApiToken(joinToken)).toBe(false)
          expect(yield* vault.verifyJoinToken(apiToken)).toBe(false)
          // rotating the join token leaves the API token alone
          yield* vault.rotateJoinToken
          expect(yield* vault.verifyApiToken(apiToken)).toBe(true)
        })
      )
    }))

  it.scoped("a redacted token prints as <redacted>, never as its value", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const token = yield* inLifetime(file, Effect.flatMap(TokenVault, (vault) => vault.rotateJoinToken))
      expect(String(token)).toBe("<redacted>")
      expect(JSON.stringify({ token })).not.toContain(Redacted.value(token))
    }))

  it.scoped("a malformed configured API token is refused as a defect (flags validate it first)", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const exit = yield* Effect.exit(
        inLifetime(file, Effect.flatMap(TokenVault, (vault) => vault.ensureApiToken(Option.some(Redacted.make("hunter2")))))
      )
      expect(exit._tag).toBe("Failure")
      expect(String(exit)).not.toContain("hunter2")
    }))
})
