// Migration 0002: workloads. Projects, deployments (the spec as JSON plus its change hash) and pods:
// one row per pod, `desired` = run (wanted on its node) or retire (on its way out until the node says it is gone).
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

export default Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE projects (
      name TEXT PRIMARY KEY NOT NULL,
      status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
      created_at_ms INTEGER NOT NULL
    )
  `
  yield* sql`
    CREATE TABLE deployments (
      id TEXT PRIMARY KEY NOT NULL,
      project TEXT NOT NULL,
      name TEXT NOT NULL,
      spec_json TEXT NOT NULL,
      spec_hash TEXT NOT NULL,
      replicas INTEGER NOT NULL CHECK (replicas >= 0),
      stopped INTEGER NOT NULL DEFAULT 0 CHECK (stopped IN (0, 1)),
      created_at_ms INTEGER NOT NULL,
      updated_at_ms INTEGER NOT NULL,
      UNIQUE (project, name)
    )
  `
  // A pod keeps its own template (what its container runs): during a rolling update the old pods
  // must go on being described with the old spec, which the deployment row no longer holds.
  yield* sql`
    CREATE TABLE pods (
      id TEXT PRIMARY KEY NOT NULL,
      deployment_id TEXT NOT NULL,
      project TEXT NOT NULL,
      deployment_name TEXT NOT NULL,
      replica_index INTEGER NOT NULL CHECK (replica_index >= 0),
      node_id TEXT,
      desired TEXT NOT NULL DEFAULT 'run' CHECK (desired IN ('run', 'retire')),
      status TEXT NOT NULL CHECK (status IN (
        'pending', 'creating', 'running', 'stopping', 'stopped', 'failed', 'restarting', 'crashloopbackoff'
      )),
      container_id TEXT,
      container_ip TEXT,
      restart_count INTEGER NOT NULL DEFAULT 0,
      message TEXT,
      image TEXT NOT NULL,
      spec_hash TEXT NOT NULL,
      template_json TEXT NOT NULL,
      created_at_ms INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX pods_by_node ON pods (node_id, desired)`
  yield* sql`CREATE INDEX pods_by_deployment ON pods (deployment_id, replica_index)`
  // When pods failed on a node: the scheduler's failure term (recent failures weigh against a node)
  yield* sql`
    CREATE TABLE node_failures (
      node_id TEXT NOT NULL,
      at_ms INTEGER NOT NULL
    )
  `
  yield* sql`CREATE INDEX node_failures_by_time ON node_failures (at_ms)`
})
