// Migration 0005: secrets, one row per (project, name). `sealed` is nonce(12) || AES-256-GCM
// ciphertext || tag(16) under the node's master key, bound to `project/name`; no plaintext column exists.
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE secrets (
      project TEXT NOT NULL,
      name TEXT NOT NULL,
      sealed BLOB NOT NULL,
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL,
      PRIMARY KEY (project, name)
    )
  `
})
