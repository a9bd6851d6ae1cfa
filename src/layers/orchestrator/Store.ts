// The orchestrator's SQL: projects, deployments, pods, node failures and the scheduler config.
// SQLite is the truth; every statement here is small, and a SQL error is a defect (the file is ours).
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { Effect, Option, Schema } from "effect"
import { NodeId } from "../../domain/Node.js"
import { defaultSchedulerConfig, SchedulerConfig } from "../../domain/Scheduler.js"
import { DeploymentId, PodExitReason, PodHealth, PodId, PodStatus, ProjectStatus } from "../../domain/Workload.js"
import { DeploymentNotFound, ProjectNotFound } from "../../domain/WorkloadErrors.js"

export const ProjectRow = Schema.Struct({
  name: Schema.String,
  status: ProjectStatus,
  createdAtMs: Schema.Number
})
export type ProjectRow = typeof ProjectRow.Type

export const DeploymentRow = Schema.Struct({
  id: DeploymentId,
  project: Schema.String,
  name: Schema.String,
  specJson: Schema.String,
  specHash: Schema.String,
  replicas: Schema.Number,
  /** SQLite has no boolean: 0 / 1 */
  stopped: Schema.Number,
  createdAtMs: Schema.Number,
  updatedAtMs: Schema.Number,
  /** bumped by `helyos restart`: every pod of an earlier generation is replaced */
  restartGeneration: Schema.Number
})
export type DeploymentRow = typeof DeploymentRow.Type

/**
 * What a pod must have been made from to be current: the spec's hash, plus the restart generation
 * once there has been a restart (a pod's `specHash` column stores this revision).
 */
export const revisionOf = (row: Pick<DeploymentRow, "specHash" | "restartGeneration">): string =>
  row.restartGeneration === 0 ? row.specHash : `${row.specHash}+restart${row.restartGeneration}`

/** run: the pod belongs on its node; retire: it is being removed and lingers until its node says it is gone. */
export const PodDesired = Schema.Literal("run", "retire")
export type PodDesired = typeof PodDesired.Type

export const PodRow = Schema.Struct({
  id: PodId,
  deploymentId: DeploymentId,
  project: Schema.String,
  deploymentName: Schema.String,
  replicaIndex: Schema.Number,
  nodeId: Schema.NullOr(NodeId),
  desired: PodDesired,
  status: PodStatus,
  containerId: Schema.NullOr(Schema.String),
  containerIp: Schema.NullOr(Schema.String),
  restartCount: Schema.Number,
  message: Schema.NullOr(Schema.String),
  image: Schema.String,
  specHash: Schema.String,
  templateJson: Schema.String,
  createdAtMs: Schema.Number,
  /** the last exit of the pod's container (NULL while it never exited) and why it ended */
  exitCode: Schema.NullOr(Schema.Number),
  reason: Schema.NullOr(PodExitReason),
  /** probe verdict; NULL without a health check */
  health: Schema.NullOr(PodHealth),
  lastExitAtMs: Schema.NullOr(Schema.Number),
  /** when the current container started; NULL while none runs */
  startedAtMs: Schema.NullOr(Schema.Number)
})
export type PodRow = typeof PodRow.Type

/** A new pod's details: nothing reported yet. */
export const noPodDetails = {
  exitCode: null,
  reason: null,
  health: null,
  lastExitAtMs: null,
  startedAtMs: null
} as const satisfies Partial<PodRow>

/** The columns a pod report or the reconciler may change. */
export type PodChanges = Partial<
  Pick<
    PodRow,
    | "nodeId"
    | "desired"
    | "status"
    | "containerId"
    | "containerIp"
    | "restartCount"
    | "message"
    | "exitCode"
    | "reason"
    | "health"
    | "lastExitAtMs"
    | "startedAtMs"
  >
>

const FailureRow = Schema.Struct({ nodeId: NodeId, atMs: Schema.Number })
const CountRow = Schema.Struct({ nodeId: NodeId, pods: Schema.Number })
const ConfigRow = Schema.Struct({ value: Schema.String })

const SCHEDULER_KEY = "scheduler"
const decodeSchedulerConfig = Schema.decodeUnknownOption(Schema.parseJson(SchedulerConfig))

/**
 * `cachePods`: keep the last full read of `pods` until the next write through this instance. Only
 * for the instance that does every write (the orchestrator's); an observer beside it turns it off.
 */
export const makeStoreWith = (options: { readonly cachePods: boolean }) => Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient

  const allProjects = SqlSchema.findAll({
    Request: Schema.Void,
    Result: ProjectRow,
    execute: () => sql`SELECT * FROM projects ORDER BY name`
  })
  const projectByName = SqlSchema.findOne({
    Request: Schema.String,
    Result: ProjectRow,
    execute: (name) => sql`SELECT * FROM projects WHERE name = ${name}`
  })
  const allDeployments = SqlSchema.findAll({
    Request: Schema.Void,
    Result: DeploymentRow,
    execute: () => sql`SELECT * FROM deployments ORDER BY project, name`
  })
  const deploymentByName = SqlSchema.findOne({
    Request: Schema.Struct({ project: Schema.String, name: Schema.String }),
    Result: DeploymentRow,
    execute: ({ name, project }) => sql`SELECT * FROM deployments WHERE project = ${project} AND name = ${name}`
  })
  const allPods = SqlSchema.findAll({
    Request: Schema.Void,
    Result: PodRow,
    // run before retire within an index, then oldest first: the order views and the reconciler want
    execute: () =>
      sql`SELECT * FROM pods ORDER BY project, deployment_name, replica_index, desired, created_at_ms, id`
  })
  const podsOfNode = SqlSchema.findAll({
    Request: NodeId,
    Result: PodRow,
    execute: (nodeId) => sql`SELECT * FROM pods WHERE node_id = ${nodeId}`
  })
  const runPodsOfNode = SqlSchema.findAll({
    Request: NodeId,
    Result: PodRow,
    execute: (nodeId) =>
      sql`SELECT * FROM pods WHERE node_id = ${nodeId} AND desired = 'run' ORDER BY project, deployment_name, replica_index, id`
  })
  const failuresSince = SqlSchema.findAll({
    Request: Schema.Number,
    Result: FailureRow,
    execute: (sinceMs) => sql`SELECT node_id, at_ms FROM node_failures WHERE at_ms >= ${sinceMs}`
  })
  const runCounts = SqlSchema.findAll({
    Request: Schema.Void,
    Result: CountRow,
    execute: () =>
      sql`SELECT node_id, COUNT(*) AS pods FROM pods WHERE desired = 'run' AND node_id IS NOT NULL GROUP BY node_id`
  })
  const configValue = SqlSchema.findOne({
    Request: Schema.String,
    Result: ConfigRow,
    execute: (key) => sql`SELECT value FROM cluster_config WHERE key = ${key}`
  })

  // Counts writes to `pods` (bumped before and after each one, and around transactions, which may
  // roll back): a reader that saw the same count twice saw the same pods in between.
  let podWrites = 0
  let writesInFlight = 0
  const podWrite = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.suspend(() => {
      podWrites++
      writesInFlight++
      return effect
    }).pipe(Effect.ensuring(Effect.sync(() => {
      podWrites++
      writesInFlight--
    })))

  // The whole pods table, decoded, is read by every reconcile pass and every view; with every write
  // going through this instance, the last read stays good until the next write. Only a read with no
  // write in flight is kept (one inside a transaction may see rows that roll back).
  let podsCache: { readonly writes: number; readonly rows: ReadonlyArray<PodRow> } | undefined
  const cachedPods = Effect.suspend(() => {
    const writes = podWrites
    if (!options.cachePods) return allPods(undefined).pipe(Effect.orDie)
    if (podsCache !== undefined && podsCache.writes === writes && writesInFlight === 0) return Effect.succeed(podsCache.rows)
    return Effect.tap(allPods(undefined).pipe(Effect.orDie), (rows) =>
      Effect.sync(() => {
        if (writesInFlight === 0 && podWrites === writes) podsCache = { writes, rows }
      }))
  })

  return {
    /** Run `effect` in one SQLite transaction (nested calls join the outer one). */
    transaction: <A, E, R>(effect: Effect.Effect<A, E, R>) => podWrite(sql.withTransaction(effect).pipe(Effect.orDie)),
    /** A number that changes whenever the `pods` table may have changed (no SQL). */
    podWrites: Effect.sync(() => podWrites),

    projects: allProjects(undefined).pipe(Effect.orDie),
    project: (name: string) => projectByName(name).pipe(Effect.orDie),
    insertProject: (row: ProjectRow) => sql`INSERT INTO projects ${sql.insert(row)}`.pipe(Effect.asVoid, Effect.orDie),
    setProjectStatus: (name: string, status: ProjectStatus) =>
      sql`UPDATE projects SET status = ${status} WHERE name = ${name}`.pipe(Effect.asVoid, Effect.orDie),
    deleteProject: (name: string) => sql`DELETE FROM projects WHERE name = ${name}`.pipe(Effect.asVoid, Effect.orDie),

    deployments: allDeployments(undefined).pipe(Effect.orDie),
    deployment: (project: string, name: string) => deploymentByName({ project, name }).pipe(Effect.orDie),
    insertDeployment: (row: DeploymentRow) =>
      sql`INSERT INTO deployments ${sql.insert(row)}`.pipe(Effect.asVoid, Effect.orDie),
    updateDeployment: (
      id: DeploymentId,
      changes: Partial<
        Pick<DeploymentRow, "specJson" | "specHash" | "replicas" | "stopped" | "updatedAtMs" | "restartGeneration">
      >
    ) => sql`UPDATE deployments SET ${sql.update(changes)} WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie),
    deleteDeployment: (id: DeploymentId) =>
      sql`DELETE FROM deployments WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie),

    pods: cachedPods,
    podsOfNode: (nodeId: NodeId) => podsOfNode(nodeId).pipe(Effect.orDie),
    runPodsOfNode: (nodeId: NodeId) => runPodsOfNode(nodeId).pipe(Effect.orDie),
    insertPod: (row: PodRow) => podWrite(sql`INSERT INTO pods ${sql.insert(row)}`.pipe(Effect.asVoid, Effect.orDie)),
    updatePod: (id: PodId, changes: PodChanges) =>
      Object.keys(changes).length === 0
        ? Effect.void
        : podWrite(sql`UPDATE pods SET ${sql.update(changes)} WHERE id = ${id}`.pipe(Effect.asVoid, Effect.orDie)),
    deletePods: (ids: ReadonlyArray<PodId>) =>
      ids.length === 0
        ? Effect.void
        : podWrite(sql`DELETE FROM pods WHERE ${sql.in("id", ids)}`.pipe(Effect.asVoid, Effect.orDie)),
    runPodCounts: Effect.map(
      runCounts(undefined).pipe(Effect.orDie),
      (rows): ReadonlyMap<NodeId, number> => new Map(rows.map((r) => [r.nodeId, r.pods]))
    ),

    /** Failures since `sinceMs`, by node, as epoch ms. */
    failuresSince: (sinceMs: number) =>
      Effect.map(failuresSince(sinceMs).pipe(Effect.orDie), (rows) => {
        const byNode = new Map<NodeId, Array<number>>()
        for (const row of rows) byNode.set(row.nodeId, [...(byNode.get(row.nodeId) ?? []), row.atMs])
        return byNode as ReadonlyMap<NodeId, ReadonlyArray<number>>
      }),
    /** One row per failure; failures older than `forgetBeforeMs` are dropped on the way (writes only on failures). */
    recordFailures: (nodeIds: ReadonlyArray<NodeId>, atMs: number, forgetBeforeMs: number) =>
      nodeIds.length === 0 ? Effect.void : Effect.gen(function*() {
        yield* sql`INSERT INTO node_failures ${sql.insert(nodeIds.map((nodeId) => ({ nodeId, atMs })))}`
        yield* sql`DELETE FROM node_failures WHERE at_ms < ${forgetBeforeMs}`
      }).pipe(Effect.orDie),

    /** The persisted scheduler config; the default (spread) until someone sets one. */
    schedulerConfig: Effect.map(
      configValue(SCHEDULER_KEY).pipe(Effect.orDie),
      (row): SchedulerConfig =>
        Option.getOrElse(Option.flatMap(row, (r) => decodeSchedulerConfig(r.value)), () => defaultSchedulerConfig)
    ),
    saveSchedulerConfig: (config: SchedulerConfig) => {
      const value = JSON.stringify(config)
      return sql`INSERT INTO cluster_config (key, value) VALUES (${SCHEDULER_KEY}, ${value})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value`.pipe(Effect.asVoid, Effect.orDie)
    }
  } as const
})

/** The orchestrator's store: it does every write, so it keeps its reads of `pods` between writes. */
export const makeStore = makeStoreWith({ cachePods: true })

export type Store = Effect.Effect.Success<typeof makeStore>

/** A deployment's row, or DeploymentNotFound: what every operation on one starts with. */
export const requireDeployment = (store: Store, project: string, name: string) =>
  Effect.flatMap(store.deployment(project, name), Option.match({
    onNone: () => Effect.fail(new DeploymentNotFound({ project, name })),
    onSome: Effect.succeed
  }))

/** A project's row, or ProjectNotFound. */
export const requireProject = (store: Store, name: string) =>
  Effect.flatMap(store.project(name), Option.match({
    onNone: () => Effect.fail(new ProjectNotFound({ name })),
    onSome: Effect.succeed
  }))
