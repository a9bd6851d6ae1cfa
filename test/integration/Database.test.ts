// Database.layerWith on a real file: WAL journal, migrations applied exactly once across restarts, name mapping.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { tempDbFile } from "../support/harness/TempDb.js"
import * as Database from "../../src/layers/state/Database.js"

const ALL_MIGRATIONS = [
  { migrationId: 1, name: "cluster" },
  { migrationId: 2, name: "workloads" },
  { migrationId: 3, name: "pod_status" },
  { migrationId: 4, name: "api_tokens" },
  { migrationId: 5, name: "secrets" }
]

const tempDb = tempDbFile("helyos-db-")

const inLifetime = <A, E>(file: string, body: Effect.Effect<A, E, SqlClient.SqlClient>) =>
  Effect.scoped(Effect.provide(body, Database.layerWith(file)))

describe("Database.layerWith", () => {
  it.scoped("a file database runs in WAL mode and records migration 0001 once across restarts", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      const migrations = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        return yield* sql<{ migrationId: number; name: string }>`SELECT migration_id, name FROM effect_sql_migrations`
      })
      expect(yield* inLifetime(file, migrations)).toEqual(ALL_MIGRATIONS)
      const [again, mode] = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const sql = yield* SqlClient.SqlClient
          return [yield* migrations, yield* sql<{ journalMode: string }>`PRAGMA journal_mode`] as const
        })
      )
      expect(again).toEqual(ALL_MIGRATIONS)
      expect(mode[0]?.journalMode).toBe("wal")
    }))

  it.scoped("columns are snake_case in SQL and camelCase in code; the schema refuses unknown liveness", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      const row = {
        id: "n1", name: "w1", address: "a", role: "Worker", schedulable: "active", liveness: "Ready",
        cpuCores: 1, memoryBytes: 2, cpuAvailable: 1, memoryAvailable: 2, lastHeartbeatMs: 3, joinedAtMs: 4,
        sessionHash: "h"
      }
      yield* sql`INSERT INTO nodes ${sql.insert(row)}`
      const [back] = yield* sql`SELECT * FROM nodes`
      expect(back).toEqual(row)
      const bad = yield* Effect.exit(sql`INSERT INTO nodes ${sql.insert({ ...row, id: "n2", name: "w2", liveness: "Zombie" })}`)
      expect(bad._tag).toBe("Failure")
    }).pipe(Effect.provide(Database.layerWith(":memory:"))))
})
