// The master's orchestrator (projects, deployments, pods in SQLite, one level-triggered reconcile loop)
// and the master side of the node protocol (NodeWorkloads). The master is a node too: its own pods go
// to the in-process LocalWorkload, every other node's travel as Assignments over WorkerChannels.
import type { SqlClient } from "@effect/sql"
import { randomUUID } from "node:crypto"
import { Clock, Context, Duration, Effect, Either, Layer, Option, Queue, Ref, Stream } from "effect"
import { type DeploymentSpec, encodeSpec, specHash } from "../../domain/DeploymentSpec.js"
import { gaveUp } from "../../domain/RestartRules.js"
import { applySetting, FAILURE_MEMORY_MS, placeMany, requestFor } from "../../domain/Scheduler.js"
import {
  DeploymentId,
  effectiveReplicas,
  podName,
  type ProjectStatus,
  toProjectView
} from "../../domain/Workload.js"
import {
  DeploymentNotFound,
  DeploymentStopped,
  InvalidReplicas,
  ProjectExists,
  ProjectNotEmpty,
  ProjectNotFound,
  ProjectSuspended
} from "../../domain/WorkloadErrors.js"
import type { NodeId } from "../../domain/Node.js"
import { MissingSecret } from "../../domain/Secrets.js"
import type { LogRequest, PodEvent, PodStatus as ReportedPod } from "../../generated/cluster.js"
import { ContainerRuntime, RuntimeUnavailable } from "../../services/workload/ContainerRuntime.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { EventLog } from "../../services/observability/EventLog.js"
import { Events } from "../../services/observability/Events.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { Metrics } from "../../services/observability/Metrics.js"
import { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../services/orchestrator/NodeWorkloads.js"
import { OrchestratorControl } from "../../services/orchestrator/OrchestratorControl.js"
import { type LogOptions, LogsUnavailable, Orchestrator } from "../../services/orchestrator/Orchestrator.js"
import { SecretStore } from "../../services/security/SecretStore.js"
import { WorkerChannels } from "../../services/cluster/WorkerChannels.js"
import { makeGenerations, makeTemplates } from "./Assignments.js"
import { makeLogRouter } from "./LogRouter.js"
import { makeNodeEvents } from "./NodeEvents.js"
import { makeViews } from "./Views.js"
import { snapshotsOf } from "./Plan.js"
import { makeReconciler } from "./Reconciler.js"
import { makeSecretEnv } from "./SecretEnv.js"
import { makeStore } from "./Store.js"

export interface OrchestratorOptions {
  /** overrides DaemonConfig.reconcileInterval */
  readonly reconcileInterval?: Duration.DurationInput
}

export const make = (options: OrchestratorOptions = {}) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const events = yield* Events
    const eventLog = yield* EventLog
    const channels = yield* WorkerChannels
    const local = yield* LocalWorkload
    const runtime = yield* ContainerRuntime
    const metrics = yield* Metrics
    const store = yield* makeStore
    const secrets = yield* SecretStore
    // one orchestrator, one template memo: the plan, the secrets and the deploy check all read templates
    const parseTemplate = makeTemplates()
    const secretEnv = makeSecretEnv(secrets, store, parseTemplate)
    const interval = Duration.decode(options.reconcileInterval ?? config.reconcileInterval)

    const generations = yield* makeGenerations(yield* Clock.currentTimeMillis)
    const logRouter = yield* makeLogRouter(channels)
    const scheduler = yield* Ref.make(yield* store.schedulerConfig)
    // one writer: passes, reports and operator actions never interleave their read-decide-write
    const serialized = (yield* Effect.makeSemaphore(1)).withPermits(1)
    // one pending wake-up is enough: a pass always converges to the latest state
    const wake = yield* Queue.dropping<void>(1)
    const wakeUp = Queue.offer(wake, undefined).pipe(Effect.asVoid)

    const reconciler = makeReconciler({ config, store, registry, channels, local, generations, scheduler, wakeUp, eventLog, secretEnv, parseTemplate })
    const { localNodeOf, projectStatuses, specOf } = reconciler

    /**
     * The last report of each node that changed nothing, with what it was checked against. The same
     * report again, against the same pods and the same last-sent generation, would change nothing
     * either: it is answered from memory (no lock, no SQL). Every ping of a steady node is one of these.
     */
    const quiet = new Map<NodeId, { readonly key: string; readonly podWrites: number; readonly lastSent: number | undefined }>()
    const reportKey = (statuses: ReadonlyArray<ReportedPod>, appliedGeneration: number) =>
      `${appliedGeneration}|${JSON.stringify(statuses)}`

    const report = (
      id: NodeId,
      statuses: ReadonlyArray<ReportedPod>,
      appliedGeneration: number,
      podEvents: ReadonlyArray<PodEvent>
    ) =>
      Effect.gen(function*() {
        // before the quiet shortcut: a ping's events are news even when its statuses are not
        yield* reconciler.podEvents(id, podEvents)
        const key = reportKey(statuses, appliedGeneration)
        const lastSent = yield* generations.lastSent(id)
        const known = quiet.get(id)
        if (known !== undefined && known.key === key && known.lastSent === lastSent && known.podWrites === (yield* store.podWrites)) {
          return
        }
        yield* serialized(Effect.gen(function*() {
          const before = yield* store.podWrites
          const sentBefore = yield* generations.lastSent(id)
          yield* reconciler.report(id, statuses, appliedGeneration)
          if ((yield* store.podWrites) === before) quiet.set(id, { key, podWrites: before, lastSent: sentBefore })
          else quiet.delete(id)
        }))
      })

    /** A pass inside an operation that already changed the store: the change is kept even if the pass fails. */
    const reconcileAfterChange = reconciler.pass.pipe(
      Effect.catchAllCause((cause) => Effect.logError("reconcile pass failed", cause))
    )

    /** The local node reports like any other (polled, since it has no stream), then a pass. */
    const tick = Effect.gen(function*() {
      const own = yield* reconciler.localReport
      if (Option.isSome(own)) {
        const { applied, events: podEvents, nodeId, statuses } = own.value
        yield* report(nodeId, statuses, applied, podEvents)
      }
      yield* serialized(reconciler.pass)
      yield* announceRecoveries
      // forget the quiet reports of nodes that are gone
      if (quiet.size > 0) {
        const ids = new Set((yield* registry.list).map((n) => n.id))
        for (const id of quiet.keys()) if (!ids.has(id)) quiet.delete(id)
      }
    })

    const nodeEvents = makeNodeEvents(registry, eventLog)
    const { announceRecoveries } = nodeEvents

    const deploymentEvent = (project: string, name: string, action: string, message: string) =>
      eventLog.record({ kind: "deployment", name: `${project}/${name}`, action, message })

    // subscribed before anything can happen; the loop starts with a pass (a restarted master converges at once)
    const subscription = yield* events.subscribe
    // catchAllCause before repeating: one failed pass must not end the loop
    yield* tick.pipe(
      Effect.catchAllCause((cause) => Effect.logError("reconcile pass failed", cause)),
      Effect.zipRight(Effect.raceFirst(Queue.take(wake), Effect.sleep(interval))),
      Effect.zipRight(Queue.takeAll(wake)),
      Effect.forever,
      Effect.forkScoped
    )

    yield* Queue.take(subscription).pipe(
      Effect.tap(nodeEvents.record),
      Effect.flatMap((event) =>
        event._tag === "NodeDead" ? serialized(reconciler.nodeDied(event.nodeId, event.name)) : wakeUp
      ),
      Effect.catchAllCause((cause) => Effect.logError("handling a node event failed", cause)),
      Effect.forever,
      Effect.forkScoped
    )

    // -------------------------------------------------------------------------------------------
    // Views.

    const { deploymentViews, deploymentView, pods } = makeViews(store, registry, projectStatuses, specOf)

    const requireDeployment = (project: string, name: string) =>
      Effect.flatMap(store.deployment(project, name), Option.match({
        onNone: () => Effect.fail(new DeploymentNotFound({ project, name })),
        onSome: Effect.succeed
      }))

    const requireProject = (name: string) =>
      Effect.flatMap(store.project(name), Option.match({
        onNone: () => Effect.fail(new ProjectNotFound({ name })),
        onSome: Effect.succeed
      }))

    // -------------------------------------------------------------------------------------------
    // Operations.

    /** Would this spec put a pod on this host? Then its engine must answer, or the deploy is refused. */
    const checkLocalRuntime = (spec: DeploymentSpec) =>
      Effect.gen(function*() {
        const nodes = yield* registry.list
        const me = localNodeOf(nodes)
        if (me === undefined) return
        const nowMs = yield* Clock.currentTimeMillis
        const snapshots = snapshotsOf(
          nodes,
          yield* store.pods,
          yield* store.failuresSince(nowMs - FAILURE_MEMORY_MS),
          config.maxPods,
          parseTemplate
        )
        const placements = placeMany(
          snapshots,
          Array.from({ length: spec.replicas }, () => requestFor(spec)),
          yield* Ref.get(scheduler),
          nowMs
        )
        if (!placements.some((p) => Either.isRight(p) && p.right.nodeId === me.id)) return
        const unavailable = (detail: string) => new RuntimeUnavailable({ socket: config.dockerSocket, detail })
        yield* runtime.ping.pipe(
          Effect.catchTag("RuntimeError", (e) => Effect.fail(unavailable(e.message))),
          // a socket that accepts but never answers must not hang the deploy
          Effect.timeoutFail({ duration: config.enginePingTimeout, onTimeout: () => unavailable("no answer to a ping") })
        )
      })

    const deploy = (spec: DeploymentSpec) =>
      Effect.gen(function*() {
        const project = spec.project
        const name = spec.deployment.name
        // every named secret must exist and open before anything is stored or started
        const { revision } = yield* secrets.resolve(project, spec.secrets).pipe(
          Effect.catchTag("SecretNotFound", (e) => Effect.fail(new MissingSecret({ project: e.project, name: e.name })))
        )
        yield* checkLocalRuntime(spec)
        yield* serialized(Effect.gen(function*() {
          const existingProject = yield* store.project(project)
          if (Option.isSome(existingProject) && existingProject.value.status === "suspended") {
            return yield* new ProjectSuspended({ name: project })
          }
          const nowMs = yield* Clock.currentTimeMillis
          // a secret set again since the last deploy changes the hash: the redeploy rolls the pods onto it
          const hash = spec.secrets.length === 0 ? specHash(spec) : `${specHash(spec)}~${revision}`
          const specJson = JSON.stringify(encodeSpec(spec))
          const change = yield* store.transaction(Effect.gen(function*() {
            if (Option.isNone(existingProject)) {
              yield* store.insertProject({ name: project, status: "active", createdAtMs: nowMs })
            }
            const existing = yield* store.deployment(project, name)
            if (Option.isNone(existing)) {
              yield* store.insertDeployment({
                id: DeploymentId.make(randomUUID()),
                project,
                name,
                specJson,
                specHash: hash,
                replicas: spec.replicas,
                stopped: 0,
                createdAtMs: nowMs,
                updatedAtMs: nowMs,
                restartGeneration: 0
              })
              return "created" as const
            }
            const row = existing.value
            yield* store.updateDeployment(row.id, { specJson, specHash: hash, replicas: spec.replicas, stopped: 0, updatedAtMs: nowMs })
            if (row.specHash !== hash) return "updated" as const
            // the same spec again: pods that gave up (crash loop, failed) get a fresh start
            const given = (yield* store.pods).filter((p) => p.deploymentId === row.id && p.desired === "run" && gaveUp(p.status))
            for (const pod of given) yield* store.updatePod(pod.id, { desired: "retire", status: "stopping" })
            return "redeployed" as const
          }))
          yield* Effect.logInfo(`deployment ${project}/${name} deployed: ${spec.image}, ${spec.replicas} replica(s)`)
          yield* metrics.countDeploymentOp("deploy")
          yield* deploymentEvent(
            project,
            name,
            change === "created" ? "created" : "updated",
            change === "redeployed"
              ? `redeployed unchanged: ${spec.image}, ${spec.replicas} replica(s)`
              : `${spec.image}, ${spec.replicas} replica(s)`
          )
          yield* reconcileAfterChange
        }))
        return yield* deploymentView(project, name).pipe(Effect.orDie)
      })

    const scale = (project: string, name: string, replicas: number) =>
      Effect.gen(function*() {
        if (!Number.isSafeInteger(replicas) || replicas < 0) return yield* new InvalidReplicas({ replicas })
        yield* serialized(Effect.gen(function*() {
          const row = yield* requireDeployment(project, name)
          const status = Option.map(yield* store.project(project), (p) => p.status)
          if (Option.getOrUndefined(status) === "suspended") return yield* new ProjectSuspended({ name: project })
          const nowMs = yield* Clock.currentTimeMillis
          yield* store.updateDeployment(row.id, { replicas, stopped: 0, updatedAtMs: nowMs })
          yield* Effect.logInfo(`deployment ${project}/${name} scaled to ${replicas}`)
          yield* metrics.countDeploymentOp("scale")
          yield* deploymentEvent(project, name, "scaled", `scaled from ${row.replicas} to ${replicas} replica(s)`)
          yield* reconcileAfterChange
        }))
        return yield* deploymentView(project, name)
      })

    const stop = (project: string, name: string) =>
      Effect.gen(function*() {
        yield* serialized(Effect.gen(function*() {
          const row = yield* requireDeployment(project, name)
          const nowMs = yield* Clock.currentTimeMillis
          yield* store.updateDeployment(row.id, { stopped: 1, updatedAtMs: nowMs })
          yield* Effect.logInfo(`deployment ${project}/${name} stopped`)
          yield* metrics.countDeploymentOp("stop")
          yield* deploymentEvent(project, name, "stopped", "every pod stops; the definition is kept")
          yield* reconcileAfterChange
        }))
        return yield* deploymentView(project, name)
      })

    const remove = (project: string, name: string) =>
      serialized(Effect.gen(function*() {
        const row = yield* requireDeployment(project, name)
        // the definition goes now; its pods leave every assignment at once and linger as retired rows
        // until their nodes report them gone
        yield* store.transaction(Effect.gen(function*() {
          yield* store.deleteDeployment(row.id)
          for (const pod of (yield* store.pods).filter((p) => p.deploymentId === row.id && p.desired === "run")) {
            if (pod.nodeId === null) yield* store.deletePods([pod.id])
            else yield* store.updatePod(pod.id, { desired: "retire", status: "stopping" })
          }
        }))
        yield* Effect.logInfo(`deployment ${project}/${name} removed`)
        yield* metrics.countDeploymentOp("remove")
        yield* deploymentEvent(project, name, "removed", "definition and pods removed")
        yield* reconcileAfterChange
      }))

    const restart = (project: string, name: string) =>
      Effect.gen(function*() {
        yield* serialized(Effect.gen(function*() {
          const row = yield* requireDeployment(project, name)
          const projectStatus = Option.getOrElse(Option.map(yield* store.project(project), (p) => p.status), () => "active" as const)
          if (effectiveReplicas({ replicas: row.replicas, stopped: row.stopped === 1 }, projectStatus) === 0) {
            return yield* new DeploymentStopped({ project, name })
          }
          const nowMs = yield* Clock.currentTimeMillis
          // a new revision: the plan replaces every older pod as in a rolling update
          yield* store.updateDeployment(row.id, { restartGeneration: row.restartGeneration + 1, updatedAtMs: nowMs })
          yield* Effect.logInfo(`deployment ${project}/${name} restarting: every pod is replaced`)
          yield* metrics.countDeploymentOp("restart")
          yield* deploymentEvent(project, name, "restarted", `replacing ${row.replicas} pod(s), one at a time`)
          yield* reconcileAfterChange
        }))
        return yield* deploymentView(project, name)
      })

    const logs = (project: string, name: string, options: LogOptions) =>
      Stream.unwrap(Effect.gen(function*() {
        const row = yield* requireDeployment(project, name)
        const mine = (yield* store.pods).filter((p) => p.deploymentId === row.id && p.desired === "run")
        const chosen = options.pod === undefined
          ? mine.filter((p) => p.nodeId !== null)
          : mine.filter((p) => podName(p.deploymentName, p.replicaIndex) === options.pod)
        if (options.pod !== undefined) {
          const pod = chosen[0]
          if (pod === undefined) {
            return yield* new LogsUnavailable({ pod: options.pod, reason: `deployment '${name}' has no such pod` })
          }
          if (pod.nodeId === null) return yield* new LogsUnavailable({ pod: options.pod, reason: "it is not placed on a node yet" })
        }
        const nodes = yield* registry.list
        const me = localNodeOf(nodes)
        const tail = options.tail ?? 0
        const streams = chosen.map((pod) => {
          const podLabel = podName(pod.deploymentName, pod.replicaIndex)
          const node = nodes.find((n) => n.id === pod.nodeId)
          const request: LogRequest = { requestId: randomUUID(), podId: pod.id, tail, follow: options.follow }
          const bytes: Stream.Stream<Uint8Array, string> = node === undefined
            ? Stream.fail("its node was removed")
            : node.id === me?.id
            ? local.logs(request)
            : logRouter.open(node, pod.id, { tail, follow: options.follow })
          return bytes.pipe(
            Stream.mapError((reason) => new LogsUnavailable({ pod: podLabel, reason })),
            Stream.decodeText(),
            Stream.splitLines,
            Stream.map((line) => ({ pod: podLabel, line }))
          )
        })
        return Stream.mergeAll(streams, { concurrency: "unbounded" })
      }))

    const createProject = (name: string) =>
      serialized(Effect.gen(function*() {
        if (Option.isSome(yield* store.project(name))) return yield* new ProjectExists({ name })
        const row = { name, status: "active" as const, createdAtMs: yield* Clock.currentTimeMillis }
        yield* store.insertProject(row)
        yield* Effect.logInfo(`project ${name} created`)
        return toProjectView(row)
      }))

    const setProjectStatus = (name: string, status: ProjectStatus) =>
      serialized(Effect.gen(function*() {
        const row = yield* requireProject(name)
        if (row.status !== status) {
          yield* store.setProjectStatus(name, status)
          yield* Effect.logInfo(`project ${name} ${status === "suspended" ? "suspended" : "resumed"}`)
          yield* reconcileAfterChange
        }
        return toProjectView({ ...row, status })
      }))

    const deleteProject = (name: string) =>
      serialized(Effect.gen(function*() {
        yield* requireProject(name)
        const remaining = (yield* store.deployments).filter((d) => d.project === name).length
        if (remaining > 0) return yield* new ProjectNotEmpty({ name, deployments: remaining })
        yield* store.deleteProject(name)
        yield* secrets.removeProject(name)
        yield* Effect.logInfo(`project ${name} deleted`)
      }))

    const setScheduler = (key: string, value: string) =>
      serialized(Effect.gen(function*() {
        const next = yield* Either.match(applySetting(yield* Ref.get(scheduler), key, value), {
          onLeft: Effect.fail,
          onRight: Effect.succeed
        })
        yield* store.saveSchedulerConfig(next)
        yield* Ref.set(scheduler, next)
        yield* Effect.logInfo(`scheduler set: ${key} = ${value} (strategy ${next.strategy})`)
        return next
      }))

    const orchestrator = Orchestrator.of({
      deploy,
      deployments: (project) => deploymentViews(project === undefined ? {} : { project }),
      deployment: deploymentView,
      scale,
      stop,
      restart,
      remove,
      pods,
      logs,
      projects: Effect.map(store.projects, (rows) => rows.map(toProjectView)),
      createProject,
      suspendProject: (name) => setProjectStatus(name, "suspended"),
      resumeProject: (name) => setProjectStatus(name, "active"),
      deleteProject,
      schedulerConfig: Ref.get(scheduler),
      setScheduler
    })

    const workloads = NodeWorkloads.of({
      desired: (id) =>
        serialized(Effect.gen(function*() {
          const mine = yield* secretEnv.assign(yield* store.runPodsOfNode(id))
          const { generation } = yield* generations.stamp(id, mine)
          return { generation, pods: mine }
        })),
      report,
      logChunk: logRouter.deliver,
      podCounts: store.runPodCounts
    })

    const control = OrchestratorControl.of({
      reconcile: tick.pipe(Effect.orDie)
    })

    return { orchestrator, workloads, control } as const
  })

/** Orchestrator + NodeWorkloads (+ the test control) from one construction. */
const contextOf = (options: OrchestratorOptions) =>
  Effect.map(make(options), ({ control, orchestrator, workloads }) =>
    Context.make(Orchestrator, orchestrator).pipe(
      Context.add(NodeWorkloads, workloads),
      Context.add(OrchestratorControl, control)
    ))

/** The orchestrator with its loop interval chosen (tests use a long one and reconcile by hand). */
export const layerWith = (
  options: OrchestratorOptions = {}
): Layer.Layer<
  Orchestrator | NodeWorkloads | OrchestratorControl,
  never,
  SqlClient.SqlClient | DaemonConfig | NodeRegistry | Events | EventLog | WorkerChannels | LocalWorkload | ContainerRuntime | SecretStore
> => Layer.scopedContext(contextOf(options))

/**
 * Orchestrator and NodeWorkloads for a single or master daemon. Needs a migrated SqlClient
 * (Database.layerWith), DaemonConfig, NodeRegistry, Events, WorkerChannels, this host's LocalWorkload and
 * ContainerRuntime (only pinged when a deploy would put a pod on this host), and the SecretStore.
 */
export const layer: Layer.Layer<
  Orchestrator | NodeWorkloads,
  never,
  SqlClient.SqlClient | DaemonConfig | NodeRegistry | Events | EventLog | WorkerChannels | LocalWorkload | ContainerRuntime | SecretStore
> = layerWith()
