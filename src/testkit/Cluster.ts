// A whole Helyos cluster in one process and in virtual time: the real master (orchestrator, scheduler,
// heartbeat monitor, registry, on SQLite) and simulated workers that heartbeat through the real
// WorkerChannels / NodeWorkloads path and run the real pod runtime over an in-memory engine each.
// Time moves only when the test says so (`TestClock.adjust`); faults are handles on the machines.
import type * as SqlClient from "@effect/sql/SqlClient"
import { randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { Clock, Context, Duration, Effect, FiberRef, Layer, LogLevel, Option, Random, Redacted, Scope } from "effect"
import { ClusterEvent } from "../domain/ClusterEvent.js"
import { decodeSpec, parseMemory } from "../domain/DeploymentSpec.js"
import { NodeNotDrained, type NodeNotFound } from "../domain/Errors.js"
import { NodeResources, nodeStatus, type Schedulable } from "../domain/Node.js"
import { MASTER_KEY_BYTES } from "../domain/SecretCrypto.js"
import type { MissingSecret, SecretUndecryptable } from "../domain/Secrets.js"
import type { DeploymentView, PodView } from "../domain/Workload.js"
import type { DeploymentNotFound, InvalidReplicas, ProjectSuspended, SpecInvalid } from "../domain/WorkloadErrors.js"
import * as ContainerRuntimeMemory from "../layers/workload/ContainerRuntimeMemory.js"
import * as Database from "../layers/state/Database.js"
import { makeStoreWith, type Store } from "../layers/orchestrator/Store.js"
import { NodeView } from "../services/api/NodesApi.js"
import { NodeRegistry } from "../services/cluster/NodeRegistry.js"
import { WorkerChannels } from "../services/cluster/WorkerChannels.js"
import { DaemonConfig, type DaemonConfigShape } from "../services/DaemonConfig.js"
import { Events } from "../services/observability/Events.js"
import { NodeWorkloads } from "../services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../services/orchestrator/Orchestrator.js"
import { type ContainerInfo, Labels, type RuntimeUnavailable } from "../services/workload/ContainerRuntime.js"
import type { MemoryEngine } from "../services/workload/MemoryEngine.js"
import * as SimMaster from "./SimMaster.js"
import { type Engine, WorkerHost } from "./SimWorker.js"
import { VirtualClock, VirtualScheduler } from "./VirtualTime.js"

/** What REMOVED_REASON says in the REST API: a removed worker is told so and stops. */
const REMOVED_REASON = "removed by an operator"

/** One simulated worker machine. Every field is optional. */
export interface WorkerSpec {
  /** its node name; default `w<n>` (w1, w2, …) */
  readonly name?: string
  /** CPU cores it reports; default 4 */
  readonly cpu?: number
  /** memory it reports: bytes, or a size like "8g", "512m"; default "8g" */
  readonly memory?: number | string
  /** its --stop-after-disconnect; default the cluster's `stopAfterDisconnect` */
  readonly stopAfterDisconnect?: Duration.DurationInput
}

/** The master's numbers a simulation may change; anything left out is helyosd's documented default. */
export type SimConfig = Partial<
  Pick<
    DaemonConfigShape,
    | "heartbeatInterval"
    | "monitorInterval"
    | "notReadyAfter"
    | "deadAfter"
    | "reconnectCap"
    | "maxPods"
    | "reconcileInterval"
    | "resyncInterval"
    | "stopGrace"
    | "restartRules"
  >
>

/** How to build a simulated cluster. */
export interface ClusterOptions {
  /** how many workers (w1 … wN, 4 CPUs and 8 GiB each), or one spec per worker; default 3 */
  readonly workers?: number | ReadonlyArray<WorkerSpec>
  /** timers and limits (DaemonConfig fields); default: helyosd's documented defaults (heartbeat 5 s, scan 10 s, NotReady 30 s, dead 60 s) */
  readonly config?: SimConfig
  /** every worker's --stop-after-disconnect (self-fencing); default none: workers keep serving */
  readonly stopAfterDisconnect?: Duration.DurationInput
  /** the images every engine can pull: "any" (default) or only these */
  readonly images?: "any" | ReadonlyArray<string>
  /** seed of the simulation's Random (the reconnect jitter); default 1 */
  readonly seed?: number
  /** log level of the simulated daemons; default "None" (silent) */
  readonly logLevel?: LogLevel.Literal
}

/** A container on a worker's engine, with what it belongs to. */
export interface SimContainer {
  /** the worker whose engine holds it */
  readonly worker: string
  /** its engine id */
  readonly id: string
  /** its name on the engine: helyos-<project>-<deployment>-<index>-<pod id prefix> */
  readonly name: string
  /** running, exited, … as the engine has it */
  readonly state: ContainerInfo["state"]
  /** the pod it is (PodView.id) */
  readonly podId: string
  readonly project: string
  readonly deployment: string
  /** the replica index of its pod (PodView.replica_index) */
  readonly replicaIndex: number
  /** the memory limit it was started with (0: none) */
  readonly memoryBytes: number
}

/** Whether a worker runs and how its network path to the master is. */
export interface WorkerState {
  /** helyosd runs on it */
  readonly running: boolean
  /** why helyosd last stopped ("killed", or the worker's own reason, e.g. removed from the cluster) */
  readonly exitReason: string | undefined
  /** cut both ways */
  readonly partitioned: boolean
  /** its messages to the master are lost */
  readonly silenced: boolean
}

/** One worker machine of the simulation: its faults and its engine. */
export interface Worker {
  /** its node name */
  readonly name: string
  /**
   * The worker goes silent: nothing it sends reaches the master any more (its pings are lost), while
   * what the master sends still arrives on its open stream until the master's HTTP/2 keepalive gives
   * up on it (after 2 to 4 heartbeat intervals); no new stream can open. Its pods keep running.
   */
  readonly silence: () => Effect.Effect<void>
  /** Cut the path between the worker and the master both ways (its pods keep running, fenced or not). */
  readonly partition: () => Effect.Effect<void>
  /** Undo `silence` and `partition`: the worker is back within about two heartbeats. */
  readonly heal: () => Effect.Effect<void>
  /**
   * The machine goes down: helyosd and every container on it stop (the engine keeps them, exited).
   * With `containers: "keep"` only helyosd dies (kill -9) and the containers keep running.
   */
  readonly kill: (options?: { readonly containers?: "stop" | "keep" }) => Effect.Effect<void>
  /** Start helyosd again (after `kill`), or restart it: it registers again under its name. */
  readonly restart: () => Effect.Effect<void>
  /** The containers on its engine, in any state. */
  readonly containers: () => Effect.Effect<ReadonlyArray<SimContainer>>
  readonly state: () => Effect.Effect<WorkerState>
  /** Its engine's control: make a container exit, fail runs, take the engine away (MemoryEngine). */
  readonly engine: MemoryEngine["Type"]
}

/** The simulated master: restart it on the same store, or stop it for a while. */
export interface Master {
  /** Stop and start again at once on the same store: every stream drops, nothing is rescheduled by it. */
  readonly restart: () => Effect.Effect<void>
  /** Stop the master (workers lose their streams and retry); the store stays. */
  readonly stop: () => Effect.Effect<void>
  /** Start a stopped master on the same store. */
  readonly start: () => Effect.Effect<void>
  /** Is a master running? */
  readonly running: () => Effect.Effect<boolean>
  /**
   * Run an effect against the running master's services (Orchestrator, NodeRegistry, NodeWorkloads,
   * HeartbeatMonitor, Events, EventLog, SecretStore, WorkerChannels, DaemonConfig, SqlClient).
   */
  readonly use: <A, E>(effect: Effect.Effect<A, E, SimMaster.MasterServices>) => Effect.Effect<A, E>
}

/**
 * A running simulated cluster. Reads and operator actions go through the services the REST API uses,
 * and answer what the API answers (NodeView, PodView, DeploymentView).
 */
export interface Cluster {
  /** POST /api/v1/deploy: a spec as the API takes it, e.g. `{ project, deployment: { name }, image, replicas }`. */
  readonly deploy: (
    spec: unknown
  ) => Effect.Effect<DeploymentView, SpecInvalid | ProjectSuspended | RuntimeUnavailable | MissingSecret | SecretUndecryptable>
  /** `helyos scale`: the desired replica count. */
  readonly scale: (
    project: string,
    name: string,
    replicas: number
  ) => Effect.Effect<DeploymentView, DeploymentNotFound | ProjectSuspended | InvalidReplicas>
  /** `helyos stop`: every pod stops, the definition stays. */
  readonly stop: (project: string, name: string) => Effect.Effect<DeploymentView, DeploymentNotFound>
  /** `helyos rm`: the deployment and its pods go. */
  readonly remove: (project: string, name: string) => Effect.Effect<void, DeploymentNotFound>
  /** `helyos node drain`: no new pods; its pods move elsewhere, replacement first. */
  readonly drain: (node: string) => Effect.Effect<NodeView, NodeNotFound>
  /** `helyos node undrain`. */
  readonly undrain: (node: string) => Effect.Effect<NodeView, NodeNotFound>
  /** `helyos node rm [--force]`: drained first unless forced; the worker is told and stops. */
  readonly removeNode: (
    node: string,
    options?: { readonly force?: boolean }
  ) => Effect.Effect<void, NodeNotFound | NodeNotDrained>
  /** `GET /api/v1/nodes`. */
  readonly nodes: () => Effect.Effect<ReadonlyArray<NodeView>>
  /** One node as `GET /api/v1/nodes` shows it. */
  readonly node: (name: string) => Effect.Effect<NodeView, NodeNotFound>
  /** `GET /api/v1/pods[?project=]`. */
  readonly pods: (project?: string) => Effect.Effect<ReadonlyArray<PodView>>
  /** `GET /api/v1/deployments[?project=]`. */
  readonly deployments: (project?: string) => Effect.Effect<ReadonlyArray<DeploymentView>>
  /** Every event of the cluster's event stream since the simulation began, across master restarts. */
  readonly events: () => Effect.Effect<ReadonlyArray<SimMaster.SimEvent>>
  /** The worker of that name (a typo throws). */
  readonly worker: (name: string) => Worker
  /** Every worker machine, in the order they were added. */
  readonly workers: () => ReadonlyArray<Worker>
  /** A new worker machine; it boots and joins at once. */
  readonly addWorker: (spec?: WorkerSpec) => Effect.Effect<Worker>
  /** The containers on every engine (running or not), each with its worker. */
  readonly containers: () => Effect.Effect<ReadonlyArray<SimContainer>>
  /** The master: restart it, stop it, reach its services. */
  readonly master: Master
  /** The virtual time now (epoch ms). */
  readonly now: () => Effect.Effect<number>
}

/** The master's configuration in a simulation: helyosd's defaults, control plane only. */
const masterConfig = (config: SimConfig): DaemonConfigShape =>
  DaemonConfig.make({
    mode: "master",
    nodeName: "master",
    dataDir: tmpdir(),
    cliConfigPath: path.join(tmpdir(), "helyos-testkit-cli.toml"),
    port: 0,
    grpcPort: 0,
    metricsPort: 0,
    ...config
  })

const memoryOf = (memory: number | string | undefined): number => {
  if (memory === undefined) return 8 * 1024 ** 3
  if (typeof memory === "number") return memory
  const bytes = parseMemory(memory)
  if (bytes === undefined) throw new Error(`worker memory ${JSON.stringify(memory)} is not a size like 8g or 512m`)
  return bytes
}

/** A container's replica index, read from its name (helyos-<project>-<deployment>-<index>-<pod>). */
const indexOf = (name: string): number => {
  const parts = name.split("-")
  return Number(parts[parts.length - 2] ?? Number.NaN)
}

const toSimContainer = (worker: string, c: ContainerInfo & { readonly spec?: { readonly memoryBytes: number } | undefined }): SimContainer => ({
  worker,
  id: c.id,
  name: c.name,
  state: c.state,
  podId: c.labels[Labels.podId] ?? "",
  project: c.labels[Labels.project] ?? "",
  deployment: c.labels[Labels.deployment] ?? "",
  replicaIndex: indexOf(c.name),
  memoryBytes: c.spec?.memoryBytes ?? 0
})

/** The keepalive of a stream opened at `openedAtMs`: the first ping at or after `downAtMs` goes unanswered. */
const keepaliveDeadline = (openedAtMs: number, downAtMs: number, everyMs: number): number => {
  const ticks = Math.max(1, Math.ceil((downAtMs - openedAtMs) / everyMs))
  return openedAtMs + ticks * everyMs + everyMs
}

/** What the invariants and the fault runner read beside the public API. */
export interface ClusterInternals {
  readonly config: DaemonConfigShape
  readonly hosts: ReadonlyArray<WorkerHost>
  readonly store: Store
  readonly master: () => SimMaster.SimMaster | undefined
  readonly ineligiblePlacements: ReadonlyArray<SimMaster.IneligiblePlacement>
  readonly events: ReadonlyArray<SimMaster.SimEvent>
  readonly clock: VirtualClock
  /** when the simulation began (virtual epoch ms) */
  readonly startedAtMs: number
  /** called after every container start on any engine, with the worker's name */
  readonly onContainerStart: Array<(worker: string) => Effect.Effect<void>>
}

const internalsOf = new WeakMap<Cluster, ClusterInternals>()

/** The simulation behind a cluster handle (for the invariants and the fault runner). */
export const internals = (cluster: Cluster): ClusterInternals => {
  const found = internalsOf.get(cluster)
  if (found === undefined) throw new Error("not a simulated cluster")
  return found
}

/**
 * Build a simulated cluster that lives as long as the current scope. From here on, this fiber and
 * everything the cluster runs share one virtual clock: `TestClock.adjust(d)` moves it, nothing else.
 */
export const make = (options: ClusterOptions = {}): Effect.Effect<Cluster, never, Scope.Scope> =>
  Effect.gen(function*() {
    const scheduler = new VirtualScheduler()
    const clock = new VirtualClock(scheduler, yield* Clock.currentTimeMillis)
    yield* Effect.withClockScoped(clock)
    yield* Effect.withRandomScoped(Random.make(options.seed ?? 1))
    yield* Effect.locallyScoped(FiberRef.currentScheduler, scheduler)
    yield* Effect.locallyScoped(FiberRef.currentMinimumLogLevel, LogLevel.fromLiteral(options.logLevel ?? "None"))
    // no spans: every SQL statement would open one, and nobody reads them here
    yield* Effect.locallyScoped(FiberRef.currentTracerEnabled, false)

    /** Let everything due at this instant happen (time does not move): what follows an action is visible at once. */
    const settle = clock.adjust(0)
    const settled = <A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> => Effect.zipLeft(effect, settle)

    const scope = yield* Effect.scope
    const config = masterConfig(options.config ?? {})
    // the master's disk: one in-memory SQLite for the whole simulation, so a master restart is a new
    // build on the same store (no file, no fsync: a restart costs what a build costs)
    const database = (yield* Layer.buildWithScope(Database.layerWith(":memory:"), scope).pipe(Effect.orDie)) as Context.Context<
      SqlClient.SqlClient
    >
    // an observer beside the master: its writes do not pass through this instance, so nothing cached
    const store = yield* Effect.provide(makeStoreWith({ cachePods: false }), database)
    const masterKey = Redacted.make<Uint8Array>(randomBytes(MASTER_KEY_BYTES))
    const events: Array<SimMaster.SimEvent> = []
    const ineligiblePlacements: Array<SimMaster.IneligiblePlacement> = []
    const observer: SimMaster.MasterObserver = {
      recordEvent: (event) => void events.push(event),
      ineligiblePlacement: (placement) => void ineligiblePlacements.push(placement),
      lostEligibilityAt: new Map()
    }

    let master: SimMaster.SimMaster | undefined
    let epoch = 0
    const startMaster = Effect.suspend(() =>
      master !== undefined ? Effect.void : Effect.map(
        SimMaster.start({ config, database, masterKey, observer }, ++epoch),
        (m) => void (master = m)
      )
    )
    const stopMaster = Effect.suspend(() => {
      const running = master
      master = undefined
      return running === undefined ? Effect.void : running.stop
    })
    const current = () => master
    const requireMaster = Effect.suspend(() =>
      master === undefined ? Effect.dieMessage("the simulated master is stopped (cluster.master.start() first)") : Effect.succeed(master)
    )
    const use = <A, E>(effect: Effect.Effect<A, E, SimMaster.MasterServices>): Effect.Effect<A, E> =>
      Effect.flatMap(requireMaster, (m) => Effect.provide(effect, m.context))

    // ---------------------------------------------------------------------------------------------
    // Workers.

    const hosts: Array<WorkerHost> = []
    const handles = new Map<string, Worker>()
    const knownImages = new Set<string>(options.images === "any" || options.images === undefined ? [] : options.images)
    const anyImage = options.images === undefined || options.images === "any"
    const keepaliveMs = Math.max(1_000, 2 * Duration.toMillis(config.heartbeatInterval))

    const onContainerStart: Array<(worker: string) => Effect.Effect<void>> = []
    const newEngine = (worker: string) =>
      Effect.map(ContainerRuntimeMemory.make({ images: [...knownImages] }), ({ control, runtime }): Engine => ({
        control,
        runtime: {
          ...runtime,
          // "any": every pull succeeds (the image appears as it is asked for)
          ensureImage: anyImage ? (ref) => Effect.zipRight(control.addImage(ref), runtime.ensureImage(ref)) : runtime.ensureImage,
          // whoever watches container starts (Invariants.watch) looks right after each one
          run: (spec) =>
            Effect.tap(runtime.run(spec), () =>
              onContainerStart.length === 0 ? Effect.void : Effect.forEach(onContainerStart, (f) => f(worker), { discard: true }))
        }
      }))

    /** The link went down: each open stream's keepalive closes it unless the link is back in time. */
    const watchKeepalive = (host: WorkerHost, downAtMs: number) =>
      Effect.forEach([...host.link.connections], (connection) =>
        Effect.forkIn(
          Effect.gen(function*() {
            const deadline = keepaliveDeadline(connection.openedAtMs, downAtMs, keepaliveMs)
            yield* Effect.sleep(Duration.millis(deadline - downAtMs))
            if (host.link.downSince === downAtMs && connection.open) {
              connection.close({ _tag: "Dropped", detail: "keepalive: no answer from the peer" }, true)
            }
          }),
          scope
        ), { discard: true })

    const setLink = (host: WorkerHost, state: { readonly cut: boolean; readonly silenced: boolean }) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const wasUp = host.link.up
        host.link.set(state, now)
        if (wasUp && !host.link.up) yield* watchKeepalive(host, now)
      })

    const handleOf = (host: WorkerHost): Worker => ({
      name: host.name,
      silence: () => settled(setLink(host, { cut: host.link.cut, silenced: true })),
      partition: () => settled(setLink(host, { cut: true, silenced: host.link.silenced })),
      heal: () => settled(setLink(host, { cut: false, silenced: false })),
      kill: (killOptions) => settled(host.kill(killOptions?.containers ?? "stop")),
      restart: () => settled(Effect.zipRight(host.kill("keep"), host.start)),
      containers: () => Effect.map(host.engine.control.containers, (all) => all.map((c) => toSimContainer(host.name, c))),
      state: () =>
        Effect.sync(() => ({
          running: host.running,
          exitReason: host.exitReason,
          partitioned: host.link.cut,
          silenced: host.link.silenced
        })),
      engine: host.engine.control
    })

    const addWorker = (spec: WorkerSpec = {}) =>
      Effect.gen(function*() {
        const name = spec.name ?? `w${hosts.length + 1}`
        if (handles.has(name)) return yield* Effect.dieMessage(`a worker named '${name}' exists already`)
        const cpu = spec.cpu ?? 4
        const memory = memoryOf(spec.memory)
        const fence = spec.stopAfterDisconnect ?? options.stopAfterDisconnect
        const host = new WorkerHost(
          {
            name,
            address: `${name}.sim`,
            resources: new NodeResources({ cpuCores: cpu, memoryBytes: memory, cpuAvailable: cpu, memoryAvailable: memory }),
            stopAfterDisconnect: fence === undefined ? Option.none() : Option.some(Duration.decode(fence)),
            reconnectCap: config.reconnectCap,
            resyncInterval: config.resyncInterval,
            stopGrace: config.stopGrace,
            restartRules: config.restartRules
          },
          yield* newEngine(name),
          current,
          scope
        )
        hosts.push(host)
        const handle = handleOf(host)
        handles.set(name, handle)
        yield* host.start
        return handle
      }).pipe(settled)

    // ---------------------------------------------------------------------------------------------
    // The API, through the services the REST handlers use.

    const view = (name: string) =>
      use(Effect.gen(function*() {
        const node = yield* (yield* NodeRegistry).findByName(name)
        const counts = yield* (yield* NodeWorkloads).podCounts
        return NodeView.fromRecord(node, counts.get(node.id) ?? 0)
      }))

    /** NodesHandlers' drain/undrain: the event goes out only when the intent changes. */
    const setSchedulable = (name: string, schedulable: Schedulable) =>
      settled(Effect.zipRight(
        use(Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const before = yield* registry.findByName(name)
          if (before.schedulable === schedulable) return
          const node = yield* registry.setSchedulable(name, schedulable)
          yield* (yield* Events).publish(
            ClusterEvent.NodeDrainChanged({ nodeId: node.id, name: node.name, draining: schedulable === "draining" })
          )
        })),
        view(name)
      ))

    const cluster: Cluster = {
      deploy: (input) =>
        Effect.gen(function*() {
          const spec = yield* decodeSpec(input)
          return yield* use(Effect.flatMap(Orchestrator, (o) => o.deploy(spec)))
        }).pipe(settled),
      scale: (project, name, replicas) => settled(use(Effect.flatMap(Orchestrator, (o) => o.scale(project, name, replicas)))),
      stop: (project, name) => settled(use(Effect.flatMap(Orchestrator, (o) => o.stop(project, name)))),
      remove: (project, name) => settled(use(Effect.flatMap(Orchestrator, (o) => o.remove(project, name)))),
      drain: (name) => setSchedulable(name, "draining"),
      undrain: (name) => setSchedulable(name, "active"),
      removeNode: (name, removeOptions) =>
        settled(use(Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const node = yield* registry.findByName(name)
          const status = nodeStatus(node)
          if (status !== "Draining" && removeOptions?.force !== true) return yield* new NodeNotDrained({ name: node.name, status })
          const removed = yield* registry.remove(node.name)
          // removed first, so the worker's reconnect is refused; then it is told and exits
          yield* (yield* WorkerChannels).evict(removed.id, REMOVED_REASON)
          yield* (yield* Events).publish(ClusterEvent.NodeRemoved({ nodeId: removed.id, name: removed.name }))
        }))),
      nodes: () =>
        use(Effect.gen(function*() {
          const nodes = yield* (yield* NodeRegistry).list
          const counts = yield* (yield* NodeWorkloads).podCounts
          return nodes.map((node) => NodeView.fromRecord(node, counts.get(node.id) ?? 0))
        })),
      node: view,
      pods: (project) => use(Effect.flatMap(Orchestrator, (o) => o.pods(project))),
      deployments: (project) => use(Effect.flatMap(Orchestrator, (o) => o.deployments(project))),
      events: () => Effect.sync(() => [...events]),
      worker: (name) => {
        const handle = handles.get(name)
        if (handle === undefined) throw new Error(`no worker named '${name}' (workers: ${[...handles.keys()].join(", ")})`)
        return handle
      },
      workers: () => [...handles.values()],
      addWorker,
      containers: () =>
        Effect.map(
          Effect.forEach(hosts, (host) => Effect.map(host.engine.control.containers, (all) => all.map((c) => toSimContainer(host.name, c)))),
          (perHost) => perHost.flat()
        ),
      master: {
        restart: () => settled(Effect.zipRight(stopMaster, startMaster)),
        stop: () => settled(stopMaster),
        start: () => settled(startMaster),
        running: () => Effect.sync(() => master !== undefined),
        use
      },
      now: () => Clock.currentTimeMillis
    }

    internalsOf.set(cluster, {
      config,
      hosts,
      store,
      master: current,
      ineligiblePlacements,
      events,
      clock,
      startedAtMs: clock.unsafeCurrentTimeMillis(),
      onContainerStart
    })

    yield* startMaster
    // at the end: workers first, then the master (the database closes after them, built before)
    yield* Scope.addFinalizer(scope, Effect.zipRight(Effect.forEach(hosts, (h) => h.kill("keep"), { discard: true }), stopMaster))
    const specs = typeof options.workers === "number" || options.workers === undefined
      ? Array.from({ length: options.workers ?? 3 }, (): WorkerSpec => ({}))
      : options.workers
    for (const spec of specs) yield* addWorker(spec)
    yield* settle
    return cluster
  })

/** The simulated cluster as a service, for `Effect.provide(SimCluster.layer(options))`. */
export class SimCluster extends Context.Tag("helyos/testkit/SimCluster")<SimCluster, Cluster>() {
  /** Build a simulated cluster in the current scope (see `make`). */
  static readonly make = make
  /** The cluster as a layer; the virtual clock applies to the effect it is provided to. */
  static readonly layer = (options: ClusterOptions = {}): Layer.Layer<SimCluster> => Layer.scoped(SimCluster, make(options))
}
