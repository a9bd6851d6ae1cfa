// Every schema migration, in order. Add a migration as a new file plus one line here;
// keys are "<id>_<name>" (the Migrator runs each id once, recorded in effect_sql_migrations).
import type * as SqlClient from "@effect/sql/SqlClient"
import type { Effect } from "effect"
import cluster from "./0001_cluster.js"
import workloads from "./0002_workloads.js"
import podStatus from "./0003_pod_status.js"
import apiTokens from "./0004_api_tokens.js"
import secrets from "./0005_secrets.js"

export const migrations: Record<string, Effect.Effect<void, unknown, SqlClient.SqlClient>> = {
  "0001_cluster": cluster,
  "0002_workloads": workloads,
  "0003_pod_status": podStatus,
  "0004_api_tokens": apiTokens,
  "0005_secrets": secrets
}
