// In-memory doubles for the cluster protocol tests: a token vault whose join token can be swapped,
// a node registry that counts heartbeats, events, the master's NodeWorkloads and a worker's
// LocalWorkload, plus a DaemonConfig with compressed timers.
import { Context, Effect, Layer, Option, PubSub, Queue, Redacted, Ref, type Scope, type Stream } from "effect"
import { randomBytes } from "node:crypto"
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import type { ClusterEvent } from "../../../src/domain/ClusterEvent.js"
import { NodeId, NodeResources } from "../../../src/domain/Node.js"
import type { LogChunk, LogRequest } from "../../../src/domain/LogRequest.js"
import type { Assignment } from "../../../src/domain/PodAssignment.js"
import type { PodReport } from "../../../src/domain/PodReport.js"
import { ClusterServer } from "../../../src/services/cluster/ClusterServer.js"
import { ClusterTls } from "../../../src/services/security/ClusterTls.js"
import { DaemonConfig, type DaemonConfigShape, fastTimers } from "../../../src/services/DaemonConfig.js"
import { Events } from "../../../src/services/observability/Events.js"
import { HostInfo } from "../../../src/services/workload/HostInfo.js"
import { LocalWorkload } from "../../../src/services/workload/LocalWorkload.js"
import { NodeRegistry } from "../../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../../src/services/orchestrator/NodeWorkloads.js"
import { TokenVault } from "../../../src/services/cluster/TokenVault.js"
import { WorkerChannels } from "../../../src/services/cluster/WorkerChannels.js"
import * as ClusterServerGrpc from "../../../src/layers/cluster/ClusterServerGrpc.js"
import * as NodeRegistryMemory from "../../../src/layers/cluster/NodeRegistryMemory.js"
import * as WorkerChannelsLive from "../../../src/layers/cluster/WorkerChannelsLive.js"
import * as ClusterTlsFiles from "../../../src/layers/security/ClusterTlsFiles.js"
import { podReport } from "./PodReports.js"

export const newJoinToken = () => `nxa_${randomBytes(32).toString("hex")}`

/**
 * This test process's data dir: a master built with ClusterTlsFiles writes its cluster CA here, and
 * a worker on the same default finds it as <data-dir>/grpc-ca.pem (the "CA file copied over" way
 * of trusting the master). Tests of the fingerprint way give the worker a data dir of its own.
 */
export const testDataDir = mkdtempSync(path.join(tmpdir(), "helyos-cluster-test-"))

/** A fresh, empty data dir (a worker that has never pinned anything). */
export const freshDataDir = (prefix = "helyos-worker-") => mkdtempSync(path.join(tmpdir(), prefix))

/** A DaemonConfig for tests: a master on 127.0.0.1, any port, fast timers (heartbeat 100 ms, reconnect cap 1 s). */
export const testConfig = (overrides: Partial<DaemonConfigShape> = {}): DaemonConfigShape =>
  DaemonConfig.make({
    mode: "master",
    port: 0,
    grpcPort: 0,
    dataDir: testDataDir,
    nodeName: "master",
    ...fastTimers,
    maxPods: 100,
    dockerSocket: "/nonexistent.sock",
    cliConfigPath: "/nonexistent.toml",
    ...overrides
  })

/** The worker's config for joining a master on 127.0.0.1:port. */
export const workerConfig = (name: string, port: number, token: string, overrides: Partial<DaemonConfigShape> = {}) =>
  testConfig({
    mode: "worker",
    nodeName: name,
    join: Option.some(`127.0.0.1:${port}`),
    joinToken: Option.some(Redacted.make(token)),
    ...overrides
  })

// ---- TokenVault: only the join token matters here; swap it to simulate a rotation ------------

export const makeTokenVault = (initial: string) =>
  Effect.gen(function*() {
    const current = yield* Ref.make({ token: initial, expired: false })
    // every join token the master was shown (proves what a worker did or did not send)
    const presented = yield* Ref.make<ReadonlyArray<string>>([])
    const service = TokenVault.of({
      ensureJoinToken: Effect.succeed(Option.none()),
      rotateJoinToken: () =>
        Effect.sync(newJoinToken).pipe(
          Effect.tap((token) => Ref.set(current, { token, expired: false })),
          Effect.map((token) => ({ token: Redacted.make(token), expiresAtMs: Option.none() }))
        ),
      verifyJoinToken: (token) =>
        Ref.update(presented, (all) => [...all, token]).pipe(
          Effect.zipRight(Ref.get(current)),
          Effect.map((c) => (c.token !== token ? "invalid" : c.expired ? "expired" : "valid"))
        ),
      hasJoinToken: Effect.succeed(true)
    })
    return {
      service,
      setJoinToken: (token: string) => Ref.set(current, { token, expired: false }),
      /** The current token's lifetime runs out (it is now refused as expired). */
      expireJoinToken: Ref.update(current, (c) => ({ ...c, expired: true })),
      /** The join tokens Register calls presented, in order. */
      presented: Ref.get(presented)
    }
  })

// ---- NodeRegistry: the in-memory registry, with heartbeats counted per node name --------------

export const makeNodeRegistry = Effect.gen(function*() {
  const registry = yield* NodeRegistryMemory.make(NodeRegistryMemory.makeTable())
  const counts = new Map<string, number>()
  const service = NodeRegistry.of({
    ...registry,
    heartbeat: (id, resources, caughtUp) =>
      Effect.tap(registry.heartbeat(id, resources, caughtUp), (node) => Effect.sync(() => counts.set(node.name, (counts.get(node.name) ?? 0) + 1)))
  })
  return {
    service,
    /** Heartbeats recorded for a node name (0 when unknown). */
    heartbeats: (name: string) => Effect.sync(() => counts.get(name) ?? 0),
    totalHeartbeats: Effect.sync(() => Array.from(counts.values()).reduce((n, c) => n + c, 0))
  }
})

// ---- Events: everything published, kept in order -------------------------------------------

export const makeEvents = Effect.gen(function*() {
  const published = yield* Ref.make<ReadonlyArray<ClusterEvent>>([])
  const hub = yield* PubSub.unbounded<ClusterEvent>()
  const service = Events.of({
    publish: (event) => Ref.update(published, (all) => [...all, event]).pipe(Effect.zipRight(PubSub.publish(hub, event))),
    subscribe: PubSub.subscribe(hub)
  })
  return { service, published: Ref.get(published) }
})

// ---- NodeWorkloads (master): a settable desired set, recorded reports and log chunks ---------

export interface Report {
  readonly nodeId: NodeId
  readonly pods: ReadonlyArray<PodReport>
  readonly appliedGeneration: number
}

export const makeNodeWorkloads = Effect.gen(function*() {
  const desired = yield* Ref.make<Assignment>({ generation: 0, pods: [] })
  const reports = yield* Ref.make<ReadonlyArray<Report>>([])
  const chunks = yield* Queue.unbounded<{ readonly nodeId: NodeId; readonly chunk: LogChunk }>()
  const service = NodeWorkloads.of({
    desired: () => Ref.get(desired),
    report: (nodeId, pods, appliedGeneration) => Ref.update(reports, (all) => [...all, { nodeId, pods, appliedGeneration }]),
    logChunk: (nodeId, chunk) => Queue.offer(chunks, { nodeId, chunk }),
    podCounts: Effect.succeed(new Map()),
    dnsSnapshot: Effect.succeed(Option.none())
  })
  return { service, setDesired: (a: Assignment) => Ref.set(desired, a), reports: Ref.get(reports), chunks }
})

// ---- LocalWorkload (worker): records what it is told to apply; logs from a fixed script -----

export const makeLocalWorkload = (logs: (request: LogRequest) => Stream.Stream<Uint8Array, string>) =>
  Effect.gen(function*() {
    const applied = yield* Ref.make<ReadonlyArray<Assignment>>([])
    // while held, the worker reports the generation it had applied when held (a slow converge)
    const heldAt = yield* Ref.make<number | undefined>(undefined)
    const fenced = yield* Ref.make(0)
    const latest = Effect.map(Ref.get(applied), (all) => all.at(-1)?.generation ?? 0)
    const report = podReport({
      podId: "pod-1",
      status: "running",
      containerId: "c1",
      containerIp: "10.0.0.2",
      restartCount: 0,
      message: ""
    })
    const service = LocalWorkload.of({
      apply: (a) => Ref.update(applied, (all) => [...all, a]),
      fence: Effect.as(Ref.update(fenced, (n) => n + 1), 1),
      statuses: Effect.succeed([report]),
      assigned: Effect.succeed([]),
      takeEvents: Effect.succeed([]),
      appliedGeneration: Effect.flatMap(Ref.get(heldAt), (held) => (held === undefined ? latest : Effect.succeed(held))),
      logs
    })
    return {
      service,
      applied: Ref.get(applied),
      /** Stop reporting progress: appliedGeneration stays where it is until `release`. */
      hold: Effect.flatMap(latest, (g) => Ref.set(heldAt, g)),
      release: Ref.set(heldAt, undefined),
      /** How many times the worker fenced itself (stopped all its pods). */
      fenced: Ref.get(fenced)
    }
  })

export const fixedHostInfo = HostInfo.of({
  hostname: "test-host",
  resources: Effect.succeed(new NodeResources({ cpuCores: 4, memoryBytes: 8e9, cpuAvailable: 3.5, memoryAvailable: 6e9 }))
})
/**
 * A master's in-memory state: the vault holding `token`, the registry, events and NodeWorkloads
 * (outlives any one server, like the SQLite file would).
 */
export const makeMasterState = (token: string) =>
  Effect.gen(function*() {
    return {
      vault: yield* makeTokenVault(token),
      registry: yield* makeNodeRegistry,
      events: yield* makeEvents,
      workloads: yield* makeNodeWorkloads
    }
  })
export type MasterState = Effect.Effect.Success<ReturnType<typeof makeMasterState>>

/**
 * A real ClusterServer (+ its WorkerChannels and cluster CA files) over the state, bound in `scope`
 * (default: the caller's). Without `dataDir` the CA lands in testDataDir, where workers on the
 * default config find it.
 */
export const startClusterMaster = (
  state: MasterState,
  options: { readonly port?: number; readonly scope?: Scope.Scope; readonly dataDir?: string } = {}
) =>
  Effect.gen(function*() {
    const layer = ClusterServerGrpc.layer.pipe(
      Layer.provideMerge(WorkerChannelsLive.layer),
      Layer.provideMerge(ClusterTlsFiles.layer),
      Layer.provide(Layer.mergeAll(
        Layer.succeed(
          DaemonConfig,
          testConfig({ grpcPort: options.port ?? 0, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) })
        ),
        Layer.succeed(TokenVault, state.vault.service),
        Layer.succeed(NodeRegistry, state.registry.service),
        Layer.succeed(Events, state.events.service),
        Layer.succeed(NodeWorkloads, state.workloads.service)
      ))
    )
    const scope = options.scope ?? (yield* Effect.scope)
    const ctx = yield* Layer.buildWithScope(layer, scope)
    return {
      port: Context.get(ctx, ClusterServer).port,
      channels: Context.get(ctx, WorkerChannels),
      tls: Context.get(ctx, ClusterTls)
    }
  })
