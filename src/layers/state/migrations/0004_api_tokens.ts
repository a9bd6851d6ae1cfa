// Migration 0004: named API tokens. The single token hash kept in cluster_config until now becomes
// the row `legacy-default` (scope admin). Its lookup prefix is unknown (only the hash was stored),
// so it is NULL until the token is next presented or replaced.
import * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE api_tokens (
      id TEXT PRIMARY KEY NOT NULL,
      name TEXT NOT NULL,
      prefix TEXT,
      hash TEXT NOT NULL,
      scope TEXT NOT NULL CHECK (scope IN ('admin', 'read')),
      created_at_ms INTEGER NOT NULL,
      expires_at_ms INTEGER,
      last_used_at_ms INTEGER,
      revoked_at_ms INTEGER
    )
  `
  // names are unique among active tokens only: a revoked name can be reused
  yield* sql`CREATE UNIQUE INDEX api_tokens_active_name ON api_tokens (name) WHERE revoked_at_ms IS NULL`
  yield* sql`CREATE INDEX api_tokens_by_prefix ON api_tokens (prefix)`
  const now = yield* Clock.currentTimeMillis
  yield* sql`
    INSERT INTO api_tokens (id, name, prefix, hash, scope, created_at_ms)
    SELECT lower(hex(randomblob(16))), 'legacy-default', NULL, value, 'admin', ${now}
    FROM cluster_config WHERE key = 'api_token_hash'
  `
  yield* sql`DELETE FROM cluster_config WHERE key = 'api_token_hash'`
})
