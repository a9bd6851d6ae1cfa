// The layer graph of each mode. single: API + state; master: + cluster gRPC + monitor; worker: the agent.
import { Context, Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { ApiServerLive } from "../../layers/api/ApiServer.js"
import { ApiTlsFilesLive } from "../../layers/security/ApiTlsFiles.js"
import { ClusterServerGrpcLive } from "../../layers/cluster/ClusterServerGrpc.js"
import { ClusterTlsFilesLive } from "../../layers/security/ClusterTlsFiles.js"
import { DatabaseLive } from "../../layers/state/Database.js"
import { EventLogLive } from "../../layers/observability/EventLogLive.js"
import { EventsLive } from "../../layers/observability/EventsLive.js"
import { HeartbeatMonitorLive } from "../../layers/cluster/HeartbeatMonitorLive.js"
import { HostInfoOsLive } from "../../layers/workload/HostInfoOs.js"
import { NodeRegistrySqlLive } from "../../layers/cluster/NodeRegistrySql.js"
import { SecretStoreSqlLive } from "../../layers/security/SecretStoreSql.js"
import { TokenVaultSqlLive } from "../../layers/cluster/TokenVaultSql.js"
import { ApiTokensSqlLive } from "../../layers/security/ApiTokensSql.js"
import { WorkerAgentGrpcLive } from "../../layers/cluster/WorkerAgentGrpc.js"
import { serveWorkerHttp } from "../../layers/observability/WorkerHttp.js"
import { WorkerMetricsPrometheusLive } from "../../layers/observability/WorkerMetricsPrometheus.js"
import { WorkerChannelsLive } from "../../layers/cluster/WorkerChannelsLive.js"
import { ContainerRuntimeDocker } from "../../layers/workload/ContainerRuntimeDocker.js"
import { LocalWorkloadRuntime } from "../../layers/workload/LocalWorkloadRuntime.js"
import { MasterKeyFileLive } from "../../layers/security/MasterKeyFile.js"
import { MetricsEventFeedLive } from "../../layers/observability/MetricsEventFeed.js"
import { MetricsPrometheusLive } from "../../layers/observability/MetricsPrometheus.js"
import { OrchestratorLive } from "../../layers/orchestrator/OrchestratorLive.js"
import { ApiServer } from "../../services/api/ApiServer.js"
import { DaemonConfig, type DaemonConfigShape } from "../../services/DaemonConfig.js"
import { HostInfo } from "../../services/workload/HostInfo.js"
import { WorkerAgent } from "../../services/cluster/WorkerAgent.js"
import { announceApiToken, announceJoinToken, announceLogin, registerSelf } from "./Announce.js"

/** State shared by single and master: SQLite at <data-dir>/helyos.db, tokens, nodes, events. */
const stateLayer = (config: DaemonConfigShape) => {
  fs.mkdirSync(config.dataDir, { recursive: true })
  // secrets: in helyos.db, sealed with <data-dir>/master.key (a bad key file stops the start)
  const secrets = SecretStoreSqlLive.pipe(Layer.provide(MasterKeyFileLive))
  return Layer.mergeAll(TokenVaultSqlLive, ApiTokensSqlLive, NodeRegistrySqlLive, secrets).pipe(
    Layer.provideMerge(DatabaseLive(path.join(config.dataDir, "helyos.db"))),
    Layer.provideMerge(Layer.mergeAll(EventsLive, EventLogLive))
  )
}

/** single or master: serve the API (and, on a master, the cluster) until interrupted. */
export const runServer = (config: DaemonConfigShape) => {
  const configLayer = Layer.succeed(DaemonConfig, config)
  // this host's own pods run in-process on the local Docker engine; the daemon starts without one
  const localPods = LocalWorkloadRuntime({ restartRules: config.restartRules }).pipe(Layer.provideMerge(ContainerRuntimeDocker))
  // metrics: provided under the orchestrator, which times its passes; the event feed counts container events
  const core = Layer.mergeAll(OrchestratorLive, MetricsEventFeedLive).pipe(
    Layer.provideMerge(localPods),
    Layer.provideMerge(Layer.mergeAll(WorkerChannelsLive, HostInfoOsLive, MetricsPrometheusLive)),
    Layer.provideMerge(stateLayer(config)),
    // TLS material first: a broken certificate stops the start before anything opens
    Layer.provideMerge(ApiTlsFilesLive),
    Layer.provideMerge(configLayer)
  )
  const cluster = config.mode === "master"
    // the cluster CA and server certificate in --data-dir: gRPC on 6444 is always TLS
    ? Layer.mergeAll(ClusterServerGrpcLive, HeartbeatMonitorLive).pipe(Layer.provideMerge(ClusterTlsFilesLive))
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
    yield* announceLogin(api.port)
    return yield* Effect.never
  })
  return program.pipe(Effect.scoped, Effect.provide(Layer.provideMerge(cluster, core)))
}

/** worker: serve /health and /metrics, join the master and keep heartbeating until removed or refused. */
export const runWorker = (config: DaemonConfigShape) =>
  Effect.gen(function*() {
    // the endpoint first: a --metrics-port in use stops the start before the worker joins
    yield* serveWorkerHttp
    return yield* (yield* WorkerAgent).run
  }).pipe(
    Effect.scoped,
    Effect.provide(WorkerAgentGrpcLive.pipe(
      Layer.provideMerge(Layer.mergeAll(HostInfoOsLive, LocalWorkloadRuntime({ restartRules: config.restartRules }).pipe(Layer.provide(ContainerRuntimeDocker)))),
      // one registry, seen by the pod runtime (pod events), the agent (connection) and the endpoint
      Layer.provideMerge(WorkerMetricsPrometheusLive),
      Layer.provideMerge(Layer.succeed(DaemonConfig, config))
    ))
  )
