// The SecretStore on a real SQLite file with the master key in a real data dir: ciphertext only on
// disk, a 0600 32-byte key that survives restarts, and refusals for a replaced or broken key.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted } from "effect"
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { loadOrCreateMasterKey, MASTER_KEY_FILE } from "../../src/layers/security/MasterKeyFile.js"
import * as SecretStoreSql from "../../src/layers/security/SecretStoreSql.js"
import { MasterKey } from "../../src/services/security/MasterKey.js"
import { SecretStore } from "../../src/services/security/SecretStore.js"
import * as Database from "../../src/layers/state/Database.js"

const PLAINTEXT = "hunter2-plaintext-marker-7f3a"

const dataDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "helyos-secrets-"))

/** One daemon lifetime on `dir`: helyos.db + master.key there. */
const storeIn = (dir: string) =>
  SecretStoreSql.layer.pipe(
    Layer.provideMerge(Layer.effect(MasterKey, loadOrCreateMasterKey(path.join(dir, MASTER_KEY_FILE)))),
    Layer.provideMerge(Database.layerWith(path.join(dir, "helyos.db")))
  )

const secrets = SecretStore

/** Every byte SQLite keeps for the database: the main file, the WAL and the shared-memory index. */
const databaseBytes = (dir: string) =>
  Buffer.concat(
    fs.readdirSync(dir).filter((f) => f.startsWith("helyos.db")).map((f) => fs.readFileSync(path.join(dir, f)))
  )

const valuesOf = (project: string, names: ReadonlyArray<string>) =>
  Effect.flatMap(secrets, (s) => s.resolve(project, names)).pipe(
    Effect.map(({ values }) => Object.fromEntries([...values].map(([k, v]) => [k, Redacted.value(v)])))
  )

describe("SecretStore on SQLite", () => {
  it.scoped("set, list (names only, sorted), overwrite, resolve and remove", () =>
    Effect.gen(function*() {
      const store = yield* secrets
      expect(yield* store.set("web", "DB_PASSWORD", Redacted.make("one"))).toEqual({ created: true })
      expect(yield* store.set("web", "API_KEY", Redacted.make("two"))).toEqual({ created: true })
      expect(yield* store.set("shop", "DB_PASSWORD", Redacted.make("other project"))).toEqual({ created: true })
      expect(yield* store.list("web")).toEqual(["API_KEY", "DB_PASSWORD"])
      expect(yield* store.set("web", "DB_PASSWORD", Redacted.make("one, again"))).toEqual({ created: false })
      expect(yield* valuesOf("web", ["DB_PASSWORD", "API_KEY"])).toEqual({ DB_PASSWORD: "one, again", API_KEY: "two" })
      expect(yield* valuesOf("shop", ["DB_PASSWORD"])).toEqual({ DB_PASSWORD: "other project" })

      const missing = yield* Effect.flip(store.resolve("web", ["DB_PASSWORD", "NOPE"]))
      expect(missing.message).toBe("secret 'NOPE' not found in project 'web'")

      yield* store.remove("web", "API_KEY")
      expect(yield* store.list("web")).toEqual(["DB_PASSWORD"])
      const gone = yield* Effect.flip(store.remove("web", "API_KEY"))
      expect(gone._tag).toBe("SecretNotFound")

      yield* store.removeProject("web")
      expect(yield* store.list("web")).toEqual([])
      expect(yield* store.list("shop")).toEqual(["DB_PASSWORD"])
    }).pipe(Effect.provide(storeIn(dataDir()))))

  it.scoped("bad names and values are refused before anything is stored", () =>
    Effect.gen(function*() {
      const store = yield* secrets
      const name = yield* Effect.flip(store.set("web", "DB-PASSWORD", Redacted.make("x")))
      expect(name._tag).toBe("InvalidSecretName")
      const utf8 = yield* Effect.flip(store.set("web", "OK", Redacted.make("bad \udc00 surrogate")))
      expect(utf8.message).toContain("secret contains invalid UTF-8")
      expect(yield* store.list("web")).toEqual([])
    }).pipe(Effect.provide(storeIn(dataDir()))))

  it.scoped("a redeploy-relevant revision changes when a secret is set again, even to the same value", () =>
    Effect.gen(function*() {
      const store = yield* secrets
      yield* store.set("web", "A", Redacted.make("same"))
      const first = yield* store.resolve("web", ["A"])
      expect((yield* store.resolve("web", ["A"])).revision).toBe(first.revision)
      yield* store.set("web", "A", Redacted.make("same"))
      expect((yield* store.resolve("web", ["A"])).revision).not.toBe(first.revision)
    }).pipe(Effect.provide(storeIn(dataDir()))))

  it.scoped("the database files hold ciphertext only: the plaintext is nowhere on disk", () =>
    Effect.gen(function*() {
      const dir = dataDir()
      yield* Effect.gen(function*() {
        const store = yield* secrets
        yield* store.set("web", "DB_PASSWORD", Redacted.make(PLAINTEXT))
        yield* store.set("web", "DB_PASSWORD", Redacted.make(`${PLAINTEXT}-v2`))
        // while the daemon runs (WAL not yet checkpointed) ...
        expect(databaseBytes(dir).includes(Buffer.from(PLAINTEXT))).toBe(false)
        // ... and the row is really there, as nonce || ciphertext || tag
        const sql = yield* SqlClient.SqlClient
        const rows = yield* sql<{ readonly sealed: Uint8Array }>`SELECT sealed FROM secrets`
        expect(rows.length).toBe(1)
        expect(rows[0]!.sealed.length).toBe(12 + `${PLAINTEXT}-v2`.length + 16)
      }).pipe(Effect.provide(storeIn(dir)), Effect.scoped)
      // ... and after it closed the file
      const bytes = databaseBytes(dir)
      expect(bytes.length).toBeGreaterThan(0)
      expect(bytes.includes(Buffer.from(PLAINTEXT))).toBe(false)
      expect(fs.readdirSync(dir).some((f) => f.endsWith(".tmp"))).toBe(false)
    }))

  it.scoped("master.key is created once: 32 bytes, mode 0600, reused by the next start", () =>
    Effect.gen(function*() {
      const dir = dataDir()
      const keyFile = path.join(dir, MASTER_KEY_FILE)
      yield* Effect.flatMap(secrets, (s) => s.set("web", "TOKEN", Redacted.make("kept across restarts"))).pipe(
        Effect.provide(storeIn(dir)),
        Effect.scoped
      )
      const stat = fs.statSync(keyFile)
      expect(stat.size).toBe(32)
      expect(stat.mode & 0o777).toBe(0o600)
      const key = fs.readFileSync(keyFile)
      // a restart on the same data dir: the same key, and the secret opens
      const value = yield* valuesOf("web", ["TOKEN"]).pipe(Effect.provide(storeIn(dir)), Effect.scoped)
      expect(value).toEqual({ TOKEN: "kept across restarts" })
      expect(fs.readFileSync(keyFile).equals(key)).toBe(true)
    }))

  it.scoped("a replaced master.key cannot open the old secrets (and says so)", () =>
    Effect.gen(function*() {
      const dir = dataDir()
      yield* Effect.flatMap(secrets, (s) => s.set("web", "TOKEN", Redacted.make("v"))).pipe(
        Effect.provide(storeIn(dir)),
        Effect.scoped
      )
      fs.writeFileSync(path.join(dir, MASTER_KEY_FILE), randomBytes(32), { mode: 0o600 })
      const error = yield* Effect.flip(
        Effect.flatMap(secrets, (s) => s.resolve("web", ["TOKEN"])).pipe(Effect.provide(storeIn(dir)), Effect.scoped)
      )
      expect(error._tag).toBe("SecretUndecryptable")
      expect(error.message).toContain("cannot be decrypted")
    }))

  it.scoped("a blob copied to another name or project does not open there (associated data)", () =>
    Effect.gen(function*() {
      const store = yield* secrets
      const sql = yield* SqlClient.SqlClient
      yield* store.set("web", "DB_PASSWORD", Redacted.make("for web only"))
      yield* sql`INSERT INTO secrets (project, name, sealed, created_at_ms, updated_at_ms)
        SELECT project, 'STOLEN', sealed, created_at_ms, updated_at_ms FROM secrets WHERE name = 'DB_PASSWORD'`
      yield* sql`INSERT INTO secrets (project, name, sealed, created_at_ms, updated_at_ms)
        SELECT 'shop', name, sealed, created_at_ms, updated_at_ms FROM secrets WHERE name = 'DB_PASSWORD'`
      expect((yield* Effect.flip(store.resolve("web", ["STOLEN"])))._tag).toBe("SecretUndecryptable")
      expect((yield* Effect.flip(store.resolve("shop", ["DB_PASSWORD"])))._tag).toBe("SecretUndecryptable")
      expect(yield* valuesOf("web", ["DB_PASSWORD"])).toEqual({ DB_PASSWORD: "for web only" })
    }).pipe(Effect.provide(storeIn(dataDir()))))

  it.effect("a master.key of the wrong size is refused, never replaced", () =>
    Effect.gen(function*() {
      const dir = dataDir()
      const keyFile = path.join(dir, MASTER_KEY_FILE)
      fs.writeFileSync(keyFile, randomBytes(16), { mode: 0o600 })
      const exit = yield* Effect.exit(loadOrCreateMasterKey(keyFile))
      expect(Exit.isFailure(exit)).toBe(true)
      const error = yield* Effect.flip(loadOrCreateMasterKey(keyFile))
      expect(error.message).toContain("expected 32 bytes, got 16")
      expect(error.message).toContain(keyFile)
      expect(fs.statSync(keyFile).size).toBe(16)
    }))
})
