// One lifetime of the simulated master: the real orchestrator, scheduler, heartbeat monitor, node
// registry (NodeRegistrySql), WorkerChannels and event log, built on a database that outlives it (so
// a restart is a new build on the same store), plus the master's end of each worker's stream, which
// does what ClusterServerGrpc does with a Register and a Connect call once the wire is decoded.
import type * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Duration, Effect, Either, Exit, FiberSet, Layer, Redacted, Scope, Stream } from "effect"
import { ClusterEvent } from "../domain/ClusterEvent.js"
import { isEligible, NodeId, type NodeRecord, type NodeResources } from "../domain/Node.js"
import * as HeartbeatMonitorLive from "../layers/cluster/HeartbeatMonitorLive.js"
import * as NodeRegistrySql from "../layers/cluster/NodeRegistrySql.js"
import * as WorkerChannelsLive from "../layers/cluster/WorkerChannelsLive.js"
import * as EventLogLive from "../layers/observability/EventLogLive.js"
import * as EventsLive from "../layers/observability/EventsLive.js"
import * as OrchestratorLive from "../layers/orchestrator/OrchestratorLive.js"
import * as SecretStoreSql from "../layers/security/SecretStoreSql.js"
import * as ContainerRuntimeMemory from "../layers/workload/ContainerRuntimeMemory.js"
import { HeartbeatMonitor } from "../services/cluster/HeartbeatMonitor.js"
import { NodeRegistry } from "../services/cluster/NodeRegistry.js"
import { WorkerChannels } from "../services/cluster/WorkerChannels.js"
import { DaemonConfig, type DaemonConfigShape } from "../services/DaemonConfig.js"
import { EventLog } from "../services/observability/EventLog.js"
import { Events } from "../services/observability/Events.js"
import { NodeWorkloads } from "../services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../services/orchestrator/Orchestrator.js"
import { OrchestratorControl } from "../services/orchestrator/OrchestratorControl.js"
import { MasterKey } from "../services/security/MasterKey.js"
import { SecretStore } from "../services/security/SecretStore.js"
import { LocalWorkload } from "../services/workload/LocalWorkload.js"
import type { Connection, Ping } from "./Wire.js"

/** The services of one master lifetime, for `cluster.master.use(…)`. */
export type MasterServices =
  | Orchestrator
  | OrchestratorControl
  | NodeWorkloads
  | NodeRegistry
  | HeartbeatMonitor
  | WorkerChannels
  | Events
  | EventLog
  | SecretStore
  | DaemonConfig
  | SqlClient.SqlClient

/** One entry of the event stream (`helyos events`), kept by the simulation across master restarts. */
export interface SimEvent {
  /** virtual epoch ms */
  readonly atMs: number
  /** which master lifetime recorded it (1 for the first, +1 per restart) */
  readonly master: number
  /** node | pod | deployment */
  readonly kind: string
  /** the node's name, the pod's (api-0) or the deployment's (shop/api) */
  readonly name: string
  /** joined, notready, dead, ready, scheduled, started, rescheduled, … */
  readonly action: string
  readonly message: string
}

/** A pod placed on a node that could not take new pods when the decision was made. */
export interface IneligiblePlacement {
  /** virtual epoch ms of the placement */
  readonly atMs: number
  /** the pod's name (api-0) */
  readonly pod: string
  readonly node: string
  /** the node's liveness then: NotReady or Dead */
  readonly liveness: string
  /** the node's admin intent then: draining, or active */
  readonly schedulable: string
}

/** What the simulation watches in every master lifetime. */
export interface MasterObserver {
  readonly recordEvent: (event: SimEvent) => void
  readonly ineligiblePlacement: (placement: IneligiblePlacement) => void
  /** when each node last stopped being able to take pods (NotReady, dead, draining, removed) */
  readonly lostEligibilityAt: Map<string, number>
}

export interface MasterDeps {
  readonly config: DaemonConfigShape
  /** the migrated SqlClient of the store, built once for the whole simulation */
  readonly database: Context.Context<SqlClient.SqlClient>
  /** the master key file: the same across restarts, so secrets still open */
  readonly masterKey: Redacted.Redacted<Uint8Array>
  readonly observer: MasterObserver
}

/** What a worker gets back from Register. */
export interface Registration {
  readonly nodeId: string
  readonly secret: string
  readonly heartbeatInterval: Duration.Duration
}

/** A running master: its services, and its ends of Register and Connect. */
export interface SimMaster {
  /** 1 for the first master lifetime, +1 per restart */
  readonly epoch: number
  readonly context: Context.Context<MasterServices>
  /** Register: a worker joins (or re-joins under its name) and gets its session. */
  readonly register: (name: string, address: string, resources: NodeResources) => Effect.Effect<Registration>
  /** Connect: serve this stream for the node until it ends (the stream is served on the master's fibers). */
  readonly accept: (connection: Connection, nodeId: string, secret: string) => Effect.Effect<void>
  /** Stop this master: every stream ends (UNAVAILABLE), its loops stop; the store stays. */
  readonly stop: Effect.Effect<void>
}

const PLACED = /^placed on node '(.*)'$/

/** The registry, with the moments a node stops taking pods noted (so a placement can be judged). */
const observedRegistry = (observer: MasterObserver) =>
  Layer.effect(
    NodeRegistry,
    Effect.map(NodeRegistrySql.make, (registry) => {
      const noteLoss = (before: NodeRecord | undefined, after: NodeRecord | undefined) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.sync(() => {
            const was = before !== undefined && isEligible(before)
            const is = after !== undefined && isEligible(after)
            if (was && !is) observer.lostEligibilityAt.set((before ?? after)!.id, now)
          }))
      const around = <E>(id: Effect.Effect<NodeRecord, E>, change: Effect.Effect<NodeRecord, E>) =>
        Effect.gen(function*() {
          const before = yield* Effect.option(id)
          const after = yield* change
          yield* noteLoss(before._tag === "Some" ? before.value : undefined, after)
          return after
        })
      return NodeRegistry.of({
        ...registry,
        setLiveness: (id, liveness) => around(registry.get(id), registry.setLiveness(id, liveness)),
        setSchedulable: (name, schedulable) => around(registry.findByName(name), registry.setSchedulable(name, schedulable)),
        remove: (name) =>
          Effect.tap(registry.remove(name), (removed) => noteLoss(removed, undefined))
      })
    })
  )

/** The event log, each event also handed to the simulation; a placement is checked as it is recorded. */
const observedEventLog = (observer: MasterObserver, epoch: number) =>
  Layer.effect(
    EventLog,
    Effect.gen(function*() {
      const log = yield* EventLogLive.make()
      const registry = yield* NodeRegistry
      const checkPlacement = (pod: string, message: string, atMs: number) =>
        Effect.gen(function*() {
          const match = PLACED.exec(message)
          if (match === null) return
          const node = yield* Effect.option(registry.findByName(match[1]!))
          if (node._tag === "None") return
          const record = node.value
          // the plan read the nodes when its pass began, in this same instant: a change at this very
          // instant may not be in what it saw, one from an earlier instant must be
          const lost = observer.lostEligibilityAt.get(record.id)
          if (isEligible(record) || (lost !== undefined && lost >= atMs)) return
          observer.ineligiblePlacement({ atMs, pod, node: record.name, liveness: record.liveness, schedulable: record.schedulable })
        })
      return EventLog.of({
        ...log,
        record: (event) =>
          Effect.gen(function*() {
            yield* log.record(event)
            const atMs = yield* Clock.currentTimeMillis
            observer.recordEvent({ atMs, master: epoch, ...event })
            if (event.kind === "pod" && event.action === "scheduled") yield* checkPlacement(event.name, event.message, atMs)
          })
      })
    })
  )

const masterLayer = (deps: MasterDeps, epoch: number) => {
  const base = Layer.mergeAll(
    EventsLive.layer,
    SecretStoreSql.layer.pipe(Layer.provide(Layer.succeed(MasterKey, deps.masterKey))),
    Layer.succeed(DaemonConfig, deps.config),
    // the master's own host runs nothing here: the simulated master is the control plane only
    LocalWorkload.layerNoop,
    ContainerRuntimeMemory.layerWith(),
    WorkerChannelsLive.layer
  ).pipe(Layer.provideMerge(Layer.succeedContext(deps.database)))
  const registry = observedRegistry(deps.observer).pipe(Layer.provideMerge(base))
  const log = observedEventLog(deps.observer, epoch).pipe(Layer.provideMerge(registry))
  return Layer.mergeAll(OrchestratorLive.layerWith(), HeartbeatMonitorLive.layer).pipe(Layer.provideMerge(log))
}

/** Start a master lifetime; `stop` ends it. */
export const start = (deps: MasterDeps, epoch: number): Effect.Effect<SimMaster> =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const built = yield* Layer.buildWithScope(masterLayer(deps, epoch), scope)
    const context = built as Context.Context<MasterServices>
    const registry = Context.get(context, NodeRegistry)
    const channels = Context.get(context, WorkerChannels)
    const workloads = Context.get(context, NodeWorkloads)
    const events = Context.get(context, Events)
    // the handlers of open streams, interrupted when the master stops (as the gRPC server's FiberSet)
    const streams = yield* FiberSet.make<void>().pipe(Scope.extend(scope))

    const register = (name: string, address: string, resources: NodeResources) =>
      Effect.gen(function*() {
        const { node, session } = yield* registry.join({ name, address, role: "Worker", resources })
        yield* events.publish(ClusterEvent.NodeJoined({ nodeId: node.id, name: node.name }))
        return {
          nodeId: node.id,
          secret: Redacted.value(session),
          heartbeatInterval: Duration.millis(Math.max(1, Math.round(Duration.toMillis(deps.config.heartbeatInterval))))
        } satisfies Registration
      })

    /** One Connect stream, as ClusterServerGrpc.connect serves it. */
    const serve = (connection: Connection, nodeId: string, secret: string) =>
      Effect.gen(function*() {
        const authenticated = yield* Effect.either(registry.authenticate(NodeId.make(nodeId), secret))
        if (Either.isLeft(authenticated)) {
          const error = authenticated.left
          return connection.close(
            error._tag === "NodeNotFound" ? { _tag: "NotFound" } : { _tag: "Unauthenticated", detail: error.reason },
            false
          )
        }
        const node = authenticated.right
        const outbox = yield* channels.attach(node.id)
        // the first message on every stream: the node's full desired pod set
        const desired = yield* workloads.desired(node.id)
        connection.sendToWorker({ _tag: "Assignment", assignment: desired })
        // Removed is the last thing a stream carries: no ack follows it
        let closing = false
        const receive = (ping: Ping) =>
          registry.heartbeat(node.id, ping.resources, ping.appliedGeneration >= desired.generation).pipe(
            Effect.zipRight(workloads.report(node.id, ping.pods, ping.appliedGeneration, ping.events)),
            Effect.zipRight(Clock.currentTimeMillis),
            Effect.map((serverTimeMs) => {
              if (!closing) connection.sendToWorker({ _tag: "Ack", seq: ping.seq, serverTimeMs })
            })
          )
        const incoming = connection.readFrom<Ping, unknown, never>("toMaster", receive).pipe(
          Effect.as({ _tag: "Dropped", detail: "the worker ended the stream" } as const),
          // a node removed meanwhile must not keep heartbeating: end its stream
          Effect.catchAll(() => Effect.succeed({ _tag: "NotFound" } as const))
        )
        const outgoing = Stream.fromQueue(outbox).pipe(
          Stream.takeUntil((m) => m._tag === "Removed"),
          Stream.runForEach((m) =>
            Effect.sync(() => {
              if (m._tag === "Removed") closing = true
              connection.sendToWorker(m)
            })
          ),
          Effect.as({ _tag: "Dropped", detail: "the master ended the stream" } as const)
        )
        const end = yield* Effect.raceFirst(incoming, outgoing)
        connection.close(end, false)
      }).pipe(
        Effect.scoped,
        // the server stopping: open streams end with UNAVAILABLE at once
        Effect.onExit((exit) =>
          Effect.sync(() => {
            if (Exit.isFailure(exit)) connection.close({ _tag: "Dropped", detail: "server shutting down" }, false)
          })
        )
      )

    return {
      epoch,
      context,
      register,
      accept: (connection, nodeId, secret) => FiberSet.run(streams, serve(connection, nodeId, secret)).pipe(Effect.asVoid),
      stop: Scope.close(scope, Exit.void)
    } satisfies SimMaster
  })
