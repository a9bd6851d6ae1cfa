// A master's orchestrator on SQLite with test doubles around it: WorkerChannels that record what is
// sent, a LocalWorkload that "runs" whatever it is given, the in-memory engine, and workers played by hand.
import { SqlClient } from "@effect/sql"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Context, type Duration, Effect, Layer, Redacted, Ref, Stream } from "effect"
import { decodeSpec, type DeploymentSpec } from "../../../src/domain/DeploymentSpec.js"
import { type NodeId, NodeResources } from "../../../src/domain/Node.js"
import type { PodView } from "../../../src/domain/Workload.js"
import type { MasterMessage } from "../../../src/domain/MasterMessage.js"
import type { Assignment } from "../../../src/domain/PodAssignment.js"
import type { PodReport } from "../../../src/domain/PodReport.js"
import * as NodeRegistrySql from "../../../src/layers/cluster/NodeRegistrySql.js"
import * as SecretStoreSql from "../../../src/layers/security/SecretStoreSql.js"
import { MasterKey } from "../../../src/services/security/MasterKey.js"
import { OrchestratorControl } from "../../../src/services/orchestrator/OrchestratorControl.js"
import { DaemonConfig, type DaemonConfigShape } from "../../../src/services/DaemonConfig.js"
import { LocalWorkload } from "../../../src/services/workload/LocalWorkload.js"
import { NodeRegistry } from "../../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../../src/services/orchestrator/NodeWorkloads.js"
import { WorkerChannels } from "../../../src/services/cluster/WorkerChannels.js"
import { podReport } from "../doubles/PodReports.js"
import { tempDbFile } from "./TempDb.js"
import * as EventLogLive from "../../../src/layers/observability/EventLogLive.js"
import * as EventsLive from "../../../src/layers/observability/EventsLive.js"
import * as OrchestratorLive from "../../../src/layers/orchestrator/OrchestratorLive.js"
import * as Database from "../../../src/layers/state/Database.js"
import * as ContainerRuntimeMemory from "../../../src/layers/workload/ContainerRuntimeMemory.js"

export const MASTER = "master"

export const config = DaemonConfig.make({
  mode: "master",
  port: 0,
  grpcPort: 0,
  dataDir: tmpdir(),
  nodeName: MASTER,
  cliConfigPath: path.join(tmpdir(), "helyos-cli.toml")
})

/** What the master sent to workers, and which of them count as connected. */
export class Wire extends Context.Tag("test/Wire")<Wire, {
  readonly sent: Effect.Effect<ReadonlyArray<{ readonly nodeId: NodeId; readonly message: MasterMessage }>>
  readonly connect: (id: NodeId) => Effect.Effect<void>
  readonly disconnect: (id: NodeId) => Effect.Effect<void>
}>() {}

const wireLayer = Layer.effectContext(Effect.gen(function*() {
  const sent = yield* Ref.make<ReadonlyArray<{ readonly nodeId: NodeId; readonly message: MasterMessage }>>([])
  const connected = yield* Ref.make<ReadonlySet<NodeId>>(new Set())
  const channels = WorkerChannels.of({
    attach: () => Effect.die("not used by the orchestrator"),
    send: (nodeId, message) =>
      Effect.flatMap(Ref.get(connected), (c) =>
        c.has(nodeId) ? Effect.as(Ref.update(sent, (all) => [...all, { nodeId, message }]), true) : Effect.succeed(false)),
    evict: () => Effect.void,
    connected: Effect.map(Ref.get(connected), (c) => [...c])
  })
  const wire = Wire.of({
    sent: Ref.get(sent),
    connect: (id) => Ref.update(connected, (c) => new Set([...c, id])),
    disconnect: (id) => Ref.update(connected, (c) => new Set([...c].filter((x) => x !== id)))
  })
  return Context.make(WorkerChannels, channels).pipe(Context.add(Wire, wire))
}))

/** The master's own host: takes each assignment and reports every pod of the latest one as `status`. */
export class LocalHost extends Context.Tag("test/LocalHost")<LocalHost, {
  readonly applied: Effect.Effect<ReadonlyArray<Assignment>>
  readonly setStatus: (status: string, message?: string) => Effect.Effect<void>
}>() {}

const localLayer = Layer.effectContext(Effect.gen(function*() {
  const applied = yield* Ref.make<ReadonlyArray<Assignment>>([])
  const status = yield* Ref.make({ status: "running", message: "" })
  const latest = Effect.map(Ref.get(applied), (all) => all[all.length - 1])
  const assigned = Effect.gen(function*() {
    const a = yield* latest
    const s = yield* Ref.get(status)
    return (a?.pods ?? []).map((pod) => ({
      pod,
      report: podReport({
        podId: pod.podId,
        status: s.status,
        containerId: `c-${pod.podId.slice(0, 6)}`,
        containerIp: "10.0.0.2",
        restartCount: 0,
        message: s.message
      }) satisfies PodReport
    }))
  })
  const workload = LocalWorkload.of({
    apply: (assignment) => Ref.update(applied, (all) => [...all, assignment]),
    fence: Effect.die("the master's own pods are never fenced"),
    statuses: Effect.map(assigned, (all) => all.map((p) => p.report)),
    assigned,
    takeEvents: Effect.succeed([]),
    appliedGeneration: Effect.map(latest, (a) => a?.generation ?? 0),
    logs: (request) => Stream.make(new TextEncoder().encode(`local ${request.podId.slice(0, 6)} line 1\nline 2\n`))
  })
  const host = LocalHost.of({
    applied: Ref.get(applied),
    setStatus: (s, message = "") => Ref.set(status, { status: s, message })
  })
  return Context.make(LocalWorkload, workload).pipe(Context.add(LocalHost, host))
}))

/**
 * One master lifetime on `file` (":memory:" for a throwaway one). The loop interval is long unless
 * given: tests reconcile by hand (OrchestratorControl), and every operation runs a pass before it returns.
 */
/** One master key per test process: a master restarted on the same file still opens its secrets. */
const masterKey = Layer.succeed(MasterKey, Redacted.make<Uint8Array>(randomBytes(32)))

export const masterOn = (
  file: string,
  reconcileInterval: Duration.DurationInput = "1 hour",
  overrides: Partial<DaemonConfigShape> = {}
) =>
  OrchestratorLive.layerWith({ reconcileInterval }).pipe(
    Layer.provideMerge(Layer.mergeAll(wireLayer, localLayer, ContainerRuntimeMemory.layerWith())),
    Layer.provideMerge(Layer.mergeAll(
      NodeRegistrySql.layer,
      EventsLive.layer,
      EventLogLive.layer,
      SecretStoreSql.layer.pipe(Layer.provide(masterKey)),
      Layer.succeed(DaemonConfig, { ...config, ...overrides })
    )),
    Layer.provideMerge(Database.layerWith(file))
  )

const resources = new NodeResources({ cpuCores: 4, memoryBytes: 8 * 2 ** 30, cpuAvailable: 4, memoryAvailable: 8 * 2 ** 30 })

/** A node joins (Ready); workers also get a connected stream. */
export const join = (name: string, role: "Worker" | "Master" = "Worker") =>
  Effect.gen(function*() {
    const { node } = yield* (yield* NodeRegistry).join({ name, address: "127.0.0.1:7001", role, resources })
    if (role === "Worker") yield* (yield* Wire).connect(node.id)
    return node.id
  })

export const reconcile = Effect.flatMap(OrchestratorControl, (c) => c.reconcile)

/** Play a worker that applied its current assignment and now runs every pod of it as `status`. */
export const workerReports = (id: NodeId, status = "running", message = "") =>
  Effect.gen(function*() {
    const workloads = yield* NodeWorkloads
    const assignment = yield* workloads.desired(id)
    yield* workloads.report(
      id,
      assignment.pods.map((p) => podReport({
        podId: p.podId,
        status,
        containerId: `c-${p.podId.slice(0, 6)}`,
        containerIp: "10.0.0.9",
        restartCount: 0,
        message
      })),
      assignment.generation,
      []
    )
  })

/** The last Assignment each worker was sent over its stream. */
export const lastAssignment = (id: NodeId) =>
  Effect.map(Effect.flatMap(Wire, (w) => w.sent), (sent) => {
    const mine = sent.filter((s) => s.nodeId === id && s.message._tag === "Assignment")
    const last = mine[mine.length - 1]?.message
    return last?._tag === "Assignment" ? last.assignment : undefined
  })

export const spec = (input: Record<string, unknown>): DeploymentSpec => {
  const decoded = decodeSpec({ project: "shop", deployment: { name: "api" }, image: "nginx:1", ...input })
  if (decoded._tag === "Left") throw new Error(decoded.left.message)
  return decoded.right
}

/** How many rows a table holds (for facts the API does not show, like node failures). */
export const countRows = (table: "node_failures" | "pods" | "deployments") =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    Effect.map(sql.unsafe<{ readonly n: number }>(`SELECT COUNT(*) AS n FROM ${table}`), (rows) => rows[0]?.n ?? 0)).pipe(Effect.orDie)

/** Rows written since the connection opened: proves a report that changes nothing writes nothing. */
export const totalChanges = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  Effect.map(sql.unsafe<{ readonly n: number }>("SELECT total_changes() AS n"), (rows) => rows[0]?.n ?? 0)).pipe(Effect.orDie)

/** A database file in a fresh temp directory, removed when the scope closes (for master restarts). */
export const tempDb = tempDbFile("helyos-orchestrator-")
/** The pods that serve or are about to: all but those being stopped. */
export const running = (pods: ReadonlyArray<PodView>) => pods.filter((p) => p.status !== "stopping")
