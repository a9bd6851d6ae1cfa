// The layer graph of each mode. single: API + state; master: + cluster gRPC + monitor; worker: the agent.
// Every mode runs this node's DNS resolver with --dns-mode embedded (NodeDnsLive), the no-op one otherwise.
import { Context, Effect, Layer, Option } from "effect"
import { ensurePrivateDir } from "../../layers/state/DataDir.js"
import * as path from "node:path"
import * as NodeRegistrySql from "../../layers/cluster/NodeRegistrySql.js"
import * as SecretStoreSql from "../../layers/security/SecretStoreSql.js"
import * as TokenVaultSql from "../../layers/cluster/TokenVaultSql.js"
import * as ApiTokensSql from "../../layers/security/ApiTokensSql.js"
import { serveWorkerHttp } from "../../layers/observability/WorkerHttp.js"
import { ApiServer } from "../../services/api/ApiServer.js"
import { DaemonConfig, type DaemonConfigShape } from "../../services/DaemonConfig.js"
import { HostInfo } from "../../services/workload/HostInfo.js"
import { WorkerAgent } from "../../services/cluster/WorkerAgent.js"
import { ClusterServer } from "../../services/cluster/ClusterServer.js"
import { announceApiToken, announceJoinToken, announceLogin, listeningLine, registerSelf } from "./Announce.js"
import * as ApiServerHttp from "../../layers/api/ApiServerHttp.js"
import * as ClusterServerGrpc from "../../layers/cluster/ClusterServerGrpc.js"
import * as HeartbeatMonitorLive from "../../layers/cluster/HeartbeatMonitorLive.js"
import * as WorkerAgentGrpc from "../../layers/cluster/WorkerAgentGrpc.js"
import * as WorkerChannelsLive from "../../layers/cluster/WorkerChannelsLive.js"
import * as NodeDnsLive from "../../layers/dns/NodeDnsLive.js"
import * as EventLogLive from "../../layers/observability/EventLogLive.js"
import * as EventsLive from "../../layers/observability/EventsLive.js"
import * as MetricsEventFeed from "../../layers/observability/MetricsEventFeed.js"
import * as MetricsPrometheus from "../../layers/observability/MetricsPrometheus.js"
import * as WorkerMetricsPrometheus from "../../layers/observability/WorkerMetricsPrometheus.js"
import * as OrchestratorLive from "../../layers/orchestrator/OrchestratorLive.js"
import * as ApiTlsFiles from "../../layers/security/ApiTlsFiles.js"
import * as ClusterTlsFiles from "../../layers/security/ClusterTlsFiles.js"
import * as MasterKeyFile from "../../layers/security/MasterKeyFile.js"
import * as Database from "../../layers/state/Database.js"
import * as ContainerRuntimeDocker from "../../layers/workload/ContainerRuntimeDocker.js"
import * as HostInfoOs from "../../layers/workload/HostInfoOs.js"
import * as LocalWorkloadRuntime from "../../layers/workload/LocalWorkloadRuntime.js"

/** State shared by single and master: SQLite at <data-dir>/helyos.db, tokens, nodes, events. */
const stateLayer = (config: DaemonConfigShape) => {
  ensurePrivateDir(config.dataDir)
  // secrets: in helyos.db, sealed with <data-dir>/master.key (a bad key file stops the start)
  const secrets = SecretStoreSql.layer.pipe(Layer.provide(MasterKeyFile.layer))
  return Layer.mergeAll(TokenVaultSql.layer, ApiTokensSql.layer, NodeRegistrySql.layer, secrets).pipe(
    Layer.provideMerge(Database.layerWith(path.join(config.dataDir, "helyos.db"))),
    Layer.provideMerge(Layer.mergeAll(EventsLive.layer, EventLogLive.layer))
  )
}

/** --overlay and its flags are accepted; say once what they do today (nothing yet) and what a user gets. */
const noteOverlay = (config: DaemonConfigShape) =>
  config.overlay.enabled
    ? Effect.logWarning(
      `--overlay is accepted but takes effect with the overlay network (not yet; --cluster-cidr ${config.overlay.clusterCidr}, ` +
        `--wg-port ${config.overlay.wgPort}): pods on different nodes cannot reach each other by IP, and .internal names ` +
        `answer only the pods of the asking node`
    )
    : Effect.void

/**
 * This node's resolver (--dns-mode embedded) over its own pods, or the no-op one. Every mode runs it:
 * each node answers its own pods' lookups from the records the master publishes.
 */
const dnsLayer = NodeDnsLive.layer

/** single or master: serve the API (and, on a master, the cluster) until interrupted. */
export const runServer = (config: DaemonConfigShape) => {
  const configLayer = Layer.succeed(DaemonConfig, config)
  // this host's own pods run in-process on the local Docker engine; the daemon starts without one
  const localPods = LocalWorkloadRuntime.layer.pipe(Layer.provideMerge(ContainerRuntimeDocker.layer))
  // metrics: provided under the orchestrator, which times its passes; the event feed counts container events
  const core = Layer.mergeAll(OrchestratorLive.layer, MetricsEventFeed.layer).pipe(
    // the resolver before the orchestrator, which publishes the records to it (and to the workers)
    Layer.provideMerge(dnsLayer),
    Layer.provideMerge(localPods),
    Layer.provideMerge(Layer.mergeAll(WorkerChannelsLive.layer, HostInfoOs.layer, MetricsPrometheus.layer)),
    Layer.provideMerge(stateLayer(config)),
    // TLS material first: a broken certificate stops the start before anything opens
    Layer.provideMerge(ApiTlsFiles.layer),
    Layer.provideMerge(configLayer)
  )
  const cluster = config.mode === "master"
    // the cluster CA and server certificate in --data-dir: gRPC on 6444 is always TLS
    ? Layer.mergeAll(ClusterServerGrpc.layer, HeartbeatMonitorLive.layer).pipe(Layer.provideMerge(ClusterTlsFiles.layer))
    : Layer.empty
  const program = Effect.gen(function*() {
    yield* noteOverlay(config)
    yield* announceApiToken
    if (config.mode === "master") yield* announceJoinToken
    yield* registerSelf(yield* (yield* HostInfo).resources)
    // the API starts last, so a client that can connect finds the tokens and the master node in place
    const api = yield* Layer.build(ApiServerHttp.layer).pipe(Effect.map((ctx) => Context.get(ctx, ApiServer)))
    const cluster = yield* Effect.serviceOption(ClusterServer)
    yield* Effect.logInfo(listeningLine({
      mode: config.mode,
      scheme: api.url.startsWith("https:") ? "https" : "http",
      host: config.host,
      port: api.port,
      advertiseAddr: config.advertiseAddr,
      grpc: Option.map(cluster, (server) => ({ host: config.host, port: server.port }))
    }))
    yield* announceLogin(api.port)
    return yield* Effect.never
  })
  return program.pipe(Effect.scoped, Effect.provide(Layer.provideMerge(cluster, core)))
}

/** worker: serve /health and /metrics, join the master and keep heartbeating until removed or refused. */
export const runWorker = (config: DaemonConfigShape) =>
  Effect.gen(function*() {
    yield* noteOverlay(config)
    // the endpoint first: a --metrics-port in use stops the start before the worker joins
    yield* serveWorkerHttp
    return yield* (yield* WorkerAgent).run
  }).pipe(
    Effect.scoped,
    Effect.provide(WorkerAgentGrpc.layer.pipe(
      // this node's resolver, fed the master's records by the agent
      Layer.provideMerge(dnsLayer),
      Layer.provideMerge(Layer.mergeAll(HostInfoOs.layer, LocalWorkloadRuntime.layer.pipe(Layer.provide(ContainerRuntimeDocker.layer)))),
      // one registry, seen by the pod runtime (pod events), the agent (connection) and the endpoint
      Layer.provideMerge(WorkerMetricsPrometheus.layer),
      Layer.provideMerge(Layer.succeed(DaemonConfig, config))
    ))
  )
