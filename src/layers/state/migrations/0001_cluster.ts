// Migration 0001: the cluster's nodes and its key/value configuration (token hashes live there).
// Liveness and admin intent are separate columns: only an operator changes `schedulable`.
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // better-sqlite3 prepares one statement at a time, hence one tagged template per statement
  yield* sql`
    CREATE TABLE nodes (
      id TEXT PRIMARY KEY NOT NULL,
      name TEXT NOT NULL UNIQUE,
      address TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('Master', 'Worker')),
      schedulable TEXT NOT NULL DEFAULT 'active' CHECK (schedulable IN ('active', 'draining')),
      liveness TEXT NOT NULL CHECK (liveness IN ('Ready', 'NotReady', 'Dead')),
      cpu_cores REAL NOT NULL,
      memory_bytes INTEGER NOT NULL,
      cpu_available REAL NOT NULL,
      memory_available INTEGER NOT NULL,
      last_heartbeat_ms INTEGER NOT NULL,
      joined_at_ms INTEGER NOT NULL,
      session_hash TEXT NOT NULL
    )
  `
  yield* sql`
    CREATE TABLE cluster_config (
      key TEXT PRIMARY KEY NOT NULL,
      value TEXT NOT NULL
    )
  `
})
