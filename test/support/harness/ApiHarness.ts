// A real ApiServer on 127.0.0.1 (port 0) over a temp SQLite file, seeded with a master and two
// workers: what the API and CLI integration tests talk to. Worker streams are a recording double.
import { Effect, Either, Layer, Option, Redacted } from "effect"
import { mkdtempSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { type NodeId, NodeResources } from "../../../src/domain/Node.js"
import type { ApiTls, ApiTlsMaterialError } from "../../../src/services/security/ApiTls.js"
import * as NodeRegistrySql from "../../../src/layers/cluster/NodeRegistrySql.js"
import * as SecretStoreSql from "../../../src/layers/security/SecretStoreSql.js"
import { MasterKey } from "../../../src/services/security/MasterKey.js"
import * as TokenVaultSql from "../../../src/layers/cluster/TokenVaultSql.js"
import * as ApiTokensSql from "../../../src/layers/security/ApiTokensSql.js"
import { ApiTokens } from "../../../src/services/security/ApiTokens.js"
import { HostInfo } from "../../../src/services/workload/HostInfo.js"
import { DaemonConfig, type DaemonMode } from "../../../src/services/DaemonConfig.js"
import { LocalWorkload } from "../../../src/services/workload/LocalWorkload.js"
import { NodeRegistry } from "../../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../../src/services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../../../src/services/orchestrator/Orchestrator.js"
import { TokenVault } from "../../../src/services/cluster/TokenVault.js"
import { WorkerChannels } from "../../../src/services/cluster/WorkerChannels.js"
import * as ApiServerHttp from "../../../src/layers/api/ApiServerHttp.js"
import * as EventLogLive from "../../../src/layers/observability/EventLogLive.js"
import * as EventsLive from "../../../src/layers/observability/EventsLive.js"
import * as OrchestratorLive from "../../../src/layers/orchestrator/OrchestratorLive.js"
import * as ApiTlsFiles from "../../../src/layers/security/ApiTlsFiles.js"
import * as ClusterTlsFiles from "../../../src/layers/security/ClusterTlsFiles.js"
import * as Database from "../../../src/layers/state/Database.js"
import * as ContainerRuntimeMemory from "../../../src/layers/workload/ContainerRuntimeMemory.js"

/** The API token the harness configures. */
export const TOKEN = `nxa-api_${"ab".repeat(32)}`
/** What this host's HostInfo reads now (4 cores, 2 busy; 8 GiB, 4 GiB used), unlike the registry's `resources`. */
export const liveResources = new NodeResources({
  cpuCores: 4,
  memoryBytes: 8 * 2 ** 30,
  cpuAvailable: 2,
  memoryAvailable: 4 * 2 ** 30
})

/** A well-formed token that is not the configured one. */
export const WRONG = `nxa-api_${"cd".repeat(32)}`

/** 4 cores (1 used), 8 GiB (2 GiB used). */
export const resources = new NodeResources({ cpuCores: 4, memoryBytes: 8 * 2 ** 30, cpuAvailable: 3, memoryAvailable: 6 * 2 ** 30 })

/** Evictions the API asked for, in order (a stand-in for the gRPC streams). Reset it in a test before use. */
export const evictions: Array<{ readonly id: NodeId; readonly reason: string }> = []

const WorkerChannelsRecorder = Layer.succeed(WorkerChannels, WorkerChannels.of({
  attach: () => Effect.die("no streams in this test"),
  send: () => Effect.succeed(false),
  evict: (id, reason) => Effect.sync(() => void evictions.push({ id, reason })),
  connected: Effect.succeed([])
}))

const config = (mode: DaemonMode) =>
  DaemonConfig.layer({
    mode,
    port: 0,
    grpcPort: 0,
    dataDir: "unused",
    nodeName: "master",
    apiToken: Option.some(Redacted.make(TOKEN)),
    cliConfigPath: "unused"
  })

/**
 * The API of a daemon in `mode` with nodes master, w1 (3 pods) and w2, serving until the scope
 * closes. Provides ApiServer (its URL) plus the state services, so a test can look behind the API.
 * `podCounts` replaces the pod counts (e.g. with a defect); `tls` how it is served (plain HTTP by default).
 */
export const apiOn = (
  mode: DaemonMode,
  podCounts?: NodeWorkloads["Type"]["podCounts"],
  tls: Layer.Layer<ApiTls, ApiTlsMaterialError> = ApiTlsFiles.layerPlainHttp
) => {
  const db = path.join(mkdtempSync(path.join(os.tmpdir(), "helyos-api-")), "helyos.db")
  const secrets = SecretStoreSql.layer.pipe(Layer.provide(MasterKey.layerEphemeral))
  const state = Layer.mergeAll(TokenVaultSql.layer, ApiTokensSql.layer, NodeRegistrySql.layer, secrets).pipe(
    Layer.provideMerge(Database.layerWith(db)),
    Layer.provideMerge(Layer.mergeAll(EventsLive.layer, EventLogLive.layer))
  )
  const seeded = Layer.effectDiscard(Effect.gen(function*() {
    const vault = yield* TokenVault
    const registry = yield* NodeRegistry
    yield* (yield* ApiTokens).ensureDefault(Option.some(Redacted.make(TOKEN)))
    yield* vault.ensureJoinToken
    yield* registry.join({ name: "master", address: "127.0.0.1:6444", role: "Master", resources })
    yield* registry.join({ name: "w1", address: "127.0.0.1:7001", role: "Worker", resources })
    yield* registry.join({ name: "w2", address: "127.0.0.1:7002", role: "Worker", resources })
  }))
  const workloads = Layer.effect(NodeWorkloads, Effect.gen(function*() {
    const registry = yield* NodeRegistry
    return NodeWorkloads.of({
      desired: () => Effect.succeed({ generation: 0, pods: [] }),
      report: () => Effect.void,
      logChunk: () => Effect.void,
      podCounts: podCounts ?? Effect.map(Effect.either(registry.findByName("w1")), (w1) =>
        Either.isRight(w1) ? new Map([[w1.right.id, 3]]) : new Map()),
      dnsSnapshot: Effect.succeed(Option.none())
    })
  }))
  const hostInfo = Layer.succeed(HostInfo, HostInfo.of({ hostname: "master", resources: Effect.succeed(liveResources) }))
  // only the Orchestrator: the nodes routes keep the pod counts above
  const orchestrator = Layer.effect(Orchestrator, Orchestrator).pipe(
    Layer.provide(OrchestratorLive.layerWith({ reconcileInterval: "1 hour" })),
    Layer.provide(Layer.mergeAll(LocalWorkload.layerNoop, ContainerRuntimeMemory.layerWith()))
  )
  // a master has its cluster CA (the join command the API returns carries its fingerprint)
  const clusterTls = mode === "master" ? ClusterTlsFiles.layerWith(path.dirname(db)) : Layer.empty
  return ApiServerHttp.layer.pipe(
    Layer.provideMerge(tls),
    Layer.provideMerge(clusterTls),
    Layer.provideMerge(orchestrator),
    Layer.provideMerge(Layer.mergeAll(workloads, WorkerChannelsRecorder, seeded, hostInfo)),
    Layer.provideMerge(state),
    Layer.provideMerge(config(mode))
  )
}
