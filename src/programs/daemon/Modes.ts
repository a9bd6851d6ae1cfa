// The layer graph of each mode. single: API + state; master: + cluster gRPC + monitor; worker: the agent.
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ApiServerLive } from "../../layers/ApiServer.js"
import { ClusterServerGrpcLive } from "../../layers/ClusterServerGrpc.js"
import { DatabaseLive } from "../../layers/Database.js"
import { EventsLive } from "../../layers/EventsLive.js"
import { HeartbeatMonitorLive } from "../../layers/HeartbeatMonitorLive.js"
import { HostInfoOsLive } from "../../layers/HostInfoOs.js"
import { NodeRegistrySqlLive } from "../../layers/NodeRegistrySql.js"
import { TokenVaultSqlLive } from "../../layers/TokenVaultSql.js"
import { WorkerAgentGrpcLive } from "../../layers/WorkerAgentGrpc.js"
import { WorkerChannelsLive } from "../../layers/WorkerChannelsLive.js"
import { ContainerRuntimeDocker } from "../../layers/ContainerRuntimeDocker.js"
import { LocalWorkloadRuntime } from "../../layers/LocalWorkloadRuntime.js"
import { OrchestratorLive } from "../../layers/OrchestratorLive.js"
import { ApiServer } from "../../services/ApiServer.js"
import { DaemonConfig, type DaemonConfigShape } from "../../services/DaemonConfig.js"
import { HostInfo } from "../../services/HostInfo.js"
import { WorkerAgent } from "../../services/WorkerAgent.js"
import { announceApiToken, announceJoinToken, registerSelf } from "./Announce.js"

/** State shared by single and master: SQLite at <data-dir>/helyos.db, tokens, nodes, events. */
const stateLayer = (config: DaemonConfigShape) => {
  fs.mkdirSync(config.dataDir, { recursive: true })
  return Layer.mergeAll(TokenVaultSqlLive, NodeRegistrySqlLive).pipe(
    Layer.provideMerge(DatabaseLive(path.join(config.dataDir, "helyos.db"))),
    Layer.provideMerge(EventsLive)
  )
}

/** single or master: serve the API (and, on a master, the cluster) until interrupted. */
export const runServer = (config: DaemonConfigShape) => {
  const configLayer = Layer.succeed(DaemonConfig, config)
  // this host's own pods run in-process on the local Docker engine; the daemon starts without one
  const localPods = LocalWorkloadRuntime().pipe(Layer.provideMerge(ContainerRuntimeDocker))
  const core = OrchestratorLive.pipe(
    Layer.provideMerge(localPods),
    Layer.provideMerge(Layer.mergeAll(WorkerChannelsLive, HostInfoOsLive)),
    Layer.provideMerge(stateLayer(config)),
    Layer.provideMerge(configLayer)
  )
  const cluster = config.mode === "master"
    ? Layer.mergeAll(ClusterServerGrpcLive, HeartbeatMonitorLive)
    : Layer.empty
  const program = Effect.gen(function*() {
    yield* announceApiToken
    if (config.mode === "master") yield* announceJoinToken
    yield* registerSelf(yield* (yield* HostInfo).resources)
    // the API starts last, so a client that can connect finds the tokens and the master node in place
    const api = yield* Layer.build(ApiServerLive).pipe(Effect.map((ctx) => Context.get(ctx, ApiServer)))
    yield* Effect.logInfo(
      `helyosd ${config.mode} listening on ${api.url}` +
        (config.mode === "master" ? ` (cluster gRPC on ${config.host}:${config.grpcPort})` : "")
    )
    return yield* Effect.never
  })
  return program.pipe(Effect.scoped, Effect.provide(Layer.provideMerge(cluster, core)))
}

/** worker: join the master and keep heartbeating until removed or refused. */
export const runWorker = (config: DaemonConfigShape) =>
  Effect.flatMap(WorkerAgent, (agent) => agent.run).pipe(
    Effect.provide(WorkerAgentGrpcLive.pipe(
      Layer.provide(Layer.mergeAll(HostInfoOsLive, LocalWorkloadRuntime().pipe(Layer.provide(ContainerRuntimeDocker)))),
      Layer.provide(Layer.succeed(DaemonConfig, config))
    ))
  )
