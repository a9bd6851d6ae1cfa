// Every schema migration, in order. Add a migration as a new file plus one line here;
// keys are "<id>_<name>" (the Migrator runs each id once, recorded in effect_sql_migrations).
import type { SqlClient } from "@effect/sql"
import type { Effect } from "effect"
import cluster from "./0001_cluster.js"
import workloads from "./0002_workloads.js"

export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_cluster": cluster,
  "0002_workloads": workloads
}
