// The data dir holds token hashes and sealed secrets: it is 0700 and the database files 0600, even
// under a permissive umask and when an older start left them readable to others.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ensurePrivateDir } from "../../src/layers/state/DataDir.js"
import * as Database from "../../src/layers/state/Database.js"

const modeOf = (file: string) => fs.statSync(file).mode & 0o777

describe("the data dir", () => {
  it.scoped("is created 0700, and helyos.db with its -wal and -shm files 0600", () =>
    Effect.gen(function*() {
      const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "helyos-datadir-")), "data")
      const previous = process.umask(0o022)
      try {
        ensurePrivateDir(dir)
      } finally {
        process.umask(previous)
      }
      expect(modeOf(dir)).toBe(0o700)
      const file = path.join(dir, "helyos.db")
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE t (x INTEGER)`).pipe(Effect.provide(Database.layerWith(file)))
      for (const name of ["helyos.db", "helyos.db-wal", "helyos.db-shm"].filter((n) => fs.existsSync(path.join(dir, n)))) {
        expect([name, modeOf(path.join(dir, name))]).toEqual([name, 0o600])
      }
      expect(fs.existsSync(file)).toBe(true)
    }))

  it.scoped("made readable by an older start (0755, 0644) is tightened", () =>
    Effect.gen(function*() {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "helyos-datadir-"))
      fs.chmodSync(dir, 0o755)
      const file = path.join(dir, "helyos.db")
      fs.writeFileSync(file, "")
      fs.chmodSync(file, 0o644)
      ensurePrivateDir(dir)
      yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT 1`).pipe(Effect.provide(Database.layerWith(file)))
      expect([modeOf(dir), modeOf(file)]).toEqual([0o700, 0o600])
    }))
})
