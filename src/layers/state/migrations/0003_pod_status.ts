// Migration 0003: what workers report about each pod beyond its status (last exit code and reason,
// probe verdict, start and exit times), and a deployment's restart generation (`helyos restart`).
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // NULL until the pod's container first exits / has a health check / starts
  yield* sql`ALTER TABLE pods ADD COLUMN exit_code INTEGER`
  yield* sql`ALTER TABLE pods ADD COLUMN reason TEXT`
  yield* sql`ALTER TABLE pods ADD COLUMN health TEXT`
  yield* sql`ALTER TABLE pods ADD COLUMN last_exit_at_ms INTEGER`
  yield* sql`ALTER TABLE pods ADD COLUMN started_at_ms INTEGER`
  // bumped by each restart: pods made before it are replaced like pods of an older spec
  yield* sql`ALTER TABLE deployments ADD COLUMN restart_generation INTEGER NOT NULL DEFAULT 0`
})
