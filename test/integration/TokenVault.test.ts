// TokenVaultSql on a real SQLite file: formats, hashes at rest, constant-time checks, rotation, restarts.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Layer, Option, Redacted, TestClock } from "effect"
import { isJoinTokenFormat } from "../../src/domain/Tokens.js"
import * as TokenVaultSql from "../../src/layers/cluster/TokenVaultSql.js"
import { TokenVault } from "../../src/services/cluster/TokenVault.js"
import * as Database from "../../src/layers/state/Database.js"

/** A temp directory that disappears with the test's scope. */
const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "helyos-vault-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** One "master lifetime" on the file: the vault plus the SqlClient, for looking at the table. */
const vaultOn = (file: string) => TokenVaultSql.layer.pipe(Layer.provideMerge(Database.layerWith(file)))

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
      const [join_, storedJoin] = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const joinToken = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          return [joinToken, yield* configValue("join_token_hash")] as const
        })
      )
      expect(storedJoin).toBe(sha256Hex(join_))
      const disk = bytesOnDisk(dir)
      expect(disk).toContain(sha256Hex(join_)) // we are reading the right bytes...
      expect(disk).not.toContain(join_.slice(4)) // ...and the secret is not among them
    }))

  it.scoped("verifies the current join token and refuses other, malformed and empty tokens", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(yield* vault.verifyJoinToken(`nxa_${hex64}`)).toBe("invalid") // none minted yet
          const token = Redacted.value(Option.getOrThrow(yield* vault.ensureJoinToken))
          expect(yield* vault.verifyJoinToken(token)).toBe("valid")
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
            expect(yield* vault.verifyJoinToken(candidate), candidate).toBe("invalid")
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
          const fresh = Redacted.value((yield* vault.rotateJoinToken(Option.none())).token)
          expect(isJoinTokenFormat(fresh)).toBe(true)
          expect(fresh).not.toBe(old)
          expect(yield* vault.verifyJoinToken(old)).toBe("invalid")
          expect(yield* vault.verifyJoinToken(fresh)).toBe("valid")
          return [old, fresh] as const
        })
      )
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          expect(yield* vault.verifyJoinToken(old)).toBe("invalid")
          expect(yield* vault.verifyJoinToken(fresh)).toBe("valid")
        })
      )
    }))

  it.scoped("a join token rotated with a ttl admits until then, is refused as expired after (also after a restart)", () =>
    // TestClock: time starts at 0 and moves only when told
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const token = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          const minted = yield* vault.rotateJoinToken(Option.some(Duration.hours(1)))
          expect(minted.expiresAtMs).toEqual(Option.some(3_600_000))
          const token = Redacted.value(minted.token)
          expect(yield* vault.verifyJoinToken(token)).toBe("valid")
          yield* TestClock.adjust("59 minutes")
          expect(yield* vault.verifyJoinToken(token)).toBe("valid")
          yield* TestClock.adjust("1 minute")
          expect(yield* vault.verifyJoinToken(token)).toBe("expired")
          // only the holder of the real token learns that it expired
          expect(yield* vault.verifyJoinToken(`nxa_${hex64}`)).toBe("invalid")
          return token
        })
      )
      expect(yield* inLifetime(file, Effect.flatMap(TokenVault, (v) => v.verifyJoinToken(token)))).toBe("expired")
      expect(yield* inLifetime(file, configValue("join_token_expires_ms"))).toBe("3600000")
    }))

  it.scoped("a rotation without a ttl never expires and clears the previous token's expiry", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const token = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const vault = yield* TokenVault
          yield* vault.rotateJoinToken(Option.some(Duration.seconds(5)))
          const { expiresAtMs, token } = yield* vault.rotateJoinToken(Option.none())
          expect(Option.isNone(expiresAtMs)).toBe(true)
          yield* TestClock.adjust("3650 days")
          expect(yield* vault.verifyJoinToken(Redacted.value(token))).toBe("valid")
          expect(yield* configValue("join_token_expires_ms")).toBeUndefined()
          return Redacted.value(token)
        })
      )
      expect(yield* inLifetime(file, Effect.flatMap(TokenVault, (v) => v.verifyJoinToken(token)))).toBe("valid")
    }))

  it.scoped("a redacted token prints as <redacted>, never as its value", () =>
    Effect.gen(function*() {
      const file = join(yield* tempDir, "helyos.db")
      const { token } = yield* inLifetime(file, Effect.flatMap(TokenVault, (vault) => vault.rotateJoinToken(Option.none())))
      expect(String(token)).toBe("<redacted>")
      expect(JSON.stringify({ token })).not.toContain(Redacted.value(token))
    }))

})
