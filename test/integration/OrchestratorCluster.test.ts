// Workloads across a real cluster in one process (127.0.0.1, real clock, compressed timers): the
// orchestrator behind a real ClusterServer, real WorkerAgents converging in-memory engines, and the
// real heartbeat monitor declaring a silent worker dead. Pods move, and the healed worker is fenced.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Layer, Redacted, Scope, Stream } from "effect"
import type { DeploymentSpec } from "../../src/domain/DeploymentSpec.js"
import { decodeSpec } from "../../src/domain/DeploymentSpec.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import * as SecretStoreSql from "../../src/layers/security/SecretStoreSql.js"
import { MasterKey } from "../../src/services/security/MasterKey.js"
import { SecretStore } from "../../src/services/security/SecretStore.js"
import * as NodeRegistrySql from "../../src/layers/cluster/NodeRegistrySql.js"
import { ClusterServer } from "../../src/services/cluster/ClusterServer.js"
import { Labels } from "../../src/services/workload/ContainerRuntime.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { HostInfo } from "../../src/services/workload/HostInfo.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { TokenVault } from "../../src/services/cluster/TokenVault.js"
import { WorkerAgent } from "../../src/services/cluster/WorkerAgent.js"
import {
  fixedHostInfo,
  makeTokenVault,
  newJoinToken,
  testConfig,
  workerConfig
} from "../support/doubles/ClusterDoubles.js"
import * as ClusterServerGrpc from "../../src/layers/cluster/ClusterServerGrpc.js"
import * as HeartbeatMonitorLive from "../../src/layers/cluster/HeartbeatMonitorLive.js"
import * as WorkerAgentGrpc from "../../src/layers/cluster/WorkerAgentGrpc.js"
import * as WorkerChannelsLive from "../../src/layers/cluster/WorkerChannelsLive.js"
import * as EventLogLive from "../../src/layers/observability/EventLogLive.js"
import * as EventsLive from "../../src/layers/observability/EventsLive.js"
import * as OrchestratorLive from "../../src/layers/orchestrator/OrchestratorLive.js"
import * as ClusterTlsFiles from "../../src/layers/security/ClusterTlsFiles.js"
import * as Database from "../../src/layers/state/Database.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { eventually } from "../support/harness/Eventually.js"

const spec = (input: Record<string, unknown>): DeploymentSpec => {
  const decoded = decodeSpec({ project: "shop", deployment: { name: "api" }, image: "nginx:1", ...input })
  if (decoded._tag === "Left") throw new Error(decoded.left.message)
  return decoded.right
}

/** A master: SQLite state, the orchestrator, the cluster server and the monitor (NotReady 1 s, dead 2 s). */
const startMaster = (token: string) =>
  Effect.gen(function*() {
    const vault = yield* makeTokenVault(token)
    // its cluster CA goes to the tests' data dir, where the workers' default config finds it
    const layer = Layer.mergeAll(ClusterServerGrpc.layer, HeartbeatMonitorLive.layer).pipe(
      Layer.provideMerge(ClusterTlsFiles.layer),
      Layer.provideMerge(OrchestratorLive.layerWith({ reconcileInterval: "100 millis" })),
      // this master runs no pods itself (it is not registered as a node here)
      Layer.provideMerge(Layer.mergeAll(WorkerChannelsLive.layer, LocalWorkload.layerNoop, ContainerRuntimeMemory.layerWith())),
      Layer.provideMerge(Layer.mergeAll(
        NodeRegistrySql.layer,
        EventsLive.layer,
        EventLogLive.layer,
        SecretStoreSql.layer.pipe(Layer.provide(MasterKey.layerEphemeral)),
        Layer.succeed(TokenVault, vault.service),
        Layer.succeed(DaemonConfig, testConfig())
      )),
      Layer.provideMerge(Database.layerWith(":memory:"))
    )
    const ctx = yield* Layer.build(layer)
    return {
      port: Context.get(ctx, ClusterServer).port,
      orchestrator: Context.get(ctx, Orchestrator),
      registry: Context.get(ctx, NodeRegistry),
      secrets: Context.get(ctx, SecretStore)
    }
  })

/** One worker host's engine; it outlives the agent, as a real Docker engine outlives helyosd. */
const engine = Effect.map(
  Layer.build(ContainerRuntimeMemory.layerWith({ images: ["nginx:1"] })),
  (ctx) => ({ ctx, control: Context.get(ctx, MemoryEngine) })
)
type Engine = Effect.Effect.Success<typeof engine>

/** A worker agent on `engine`, alive until its scope closes (closing it is the worker dying). */
const startWorker = (name: string, port: number, token: string, host: Engine) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const layer = WorkerAgentGrpc.layer.pipe(
      Layer.provide(LocalWorkloadRuntime.layerWith({ resyncInterval: "100 millis", stopGrace: "10 millis" })),
      Layer.provide(Layer.mergeAll(
        Layer.succeedContext(host.ctx),
        Layer.succeed(DaemonConfig, workerConfig(name, port, token)),
        Layer.succeed(HostInfo, fixedHostInfo)
      ))
    )
    const ctx = yield* Layer.buildWithScope(layer, scope)
    yield* Effect.forkIn(Context.get(ctx, WorkerAgent).run, scope)
    return { kill: Scope.close(scope, Exit.void) }
  })

/** The containers running on an engine for `node`. */
const runningOn = (host: Engine, node: string) =>
  Effect.map(host.control.containers, (all) =>
    all.filter((c) => c.state === "running" && c.labels[Labels.node] === node))

describe("Orchestrator over a real cluster", () => {
  it.scopedLive("pods spread over workers, run, log back; a dead worker's pods move, and the healed worker is fenced", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const { orchestrator, port, registry } = yield* startMaster(token)
      const engine1 = yield* engine
      const engine2 = yield* engine
      const w1 = yield* startWorker("w1", port, token, engine1)
      yield* startWorker("w2", port, token, engine2)
      yield* eventually(Effect.map(registry.list, (nodes) => nodes.length === 2), { what: "both workers joined" })
      yield* orchestrator.deploy(spec({ replicas: 4 }))

      yield* eventually(Effect.map(orchestrator.deployment("shop", "api"), (d) => d.status === "running"), { what: "4 replicas run" })
      expect((yield* runningOn(engine1, "w1")).length).toBe(2)
      expect((yield* runningOn(engine2, "w2")).length).toBe(2)

      // logs of a pod on a worker come back over PushLogs
      const onW1 = (yield* orchestrator.pods()).find((p) => p.node === "w1")!
      yield* engine1.control.writeLog(onW1.container_id!, "hello from w1\n")
      const lines = yield* Stream.runCollect(orchestrator.logs("shop", "api", { follow: false, pod: onW1.name }))
      expect(Chunk.toReadonlyArray(lines)).toContainEqual({ pod: onW1.name, line: "hello from w1" })

      // w1 dies: 2 s of silence later its pods run on w2, each replica index once
      yield* w1.kill
      yield* eventually(Effect.map(orchestrator.pods(), (pods) => pods.length === 4 && pods.every((p) => p.node === "w2" && p.status === "running")), { what: "w1's pods moved to w2", within: "10 seconds" })
      expect((yield* orchestrator.pods()).map((p) => p.name)).toEqual(["api-0", "api-1", "api-2", "api-3"])
      expect((yield* runningOn(engine2, "w2")).length).toBe(4)
      // its old containers still run on its engine: nobody could tell it yet
      expect((yield* runningOn(engine1, "w1")).length).toBe(2)

      // w1 comes back: its assignment no longer lists the moved pods, so it removes them
      yield* startWorker("w1", port, token, engine1)
      yield* eventually(Effect.map(runningOn(engine1, "w1"), (c) => c.length === 0), { what: "w1 fenced its old containers" })
      expect((yield* orchestrator.pods()).filter((p) => p.status === "running")).toHaveLength(4)
    }), { timeout: 30_000 })

  it.scopedLive("a secret reaches the worker's container environment over the cluster stream", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const { orchestrator, port, registry, secrets } = yield* startMaster(token)
      const host = yield* engine
      yield* startWorker("w1", port, token, host)
      yield* eventually(Effect.map(registry.list, (nodes) => nodes.length === 1), { what: "the worker joined" })
      yield* secrets.set("shop", "DB_PASSWORD", Redacted.make("over-the-wire"))
      yield* orchestrator.deploy(spec({ replicas: 1, env: { DB_PASSWORD: "plain", MODE: "x" }, secrets: ["DB_PASSWORD"] }))
      yield* eventually(Effect.map(orchestrator.deployment("shop", "api"), (d) => d.status === "running"), { what: "the pod runs" })
      const [container] = yield* runningOn(host, "w1")
      expect(container!.spec!.env).toEqual({ DB_PASSWORD: "over-the-wire", MODE: "x" })
    }), { timeout: 30_000 })
})
