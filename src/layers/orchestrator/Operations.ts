// Operations on one deployment: deploy, scale, stop, restart, remove.
// Each changes the store under the writer lock, records what it did, and runs a pass so it starts at once.
import { randomUUID } from "node:crypto"
import { Clock, Effect, Either, Option, type Ref } from "effect"
import { type DeploymentSpec, encodeSpec, specHash } from "../../domain/DeploymentSpec.js"
import { gaveUp } from "../../domain/RestartRules.js"
import { FAILURE_MEMORY_MS, placeMany, requestFor, type SchedulerConfig } from "../../domain/Scheduler.js"
import { MissingSecret } from "../../domain/Secrets.js"
import { DeploymentId, effectiveReplicas } from "../../domain/Workload.js"
import { DeploymentStopped, InvalidReplicas, ProjectSuspended } from "../../domain/WorkloadErrors.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import type { DaemonConfigShape } from "../../services/DaemonConfig.js"
import type { EventLog } from "../../services/observability/EventLog.js"
import type { Metrics } from "../../services/observability/Metrics.js"
import type { Orchestrator } from "../../services/orchestrator/Orchestrator.js"
import type { SecretStore } from "../../services/security/SecretStore.js"
import { type ContainerRuntime, RuntimeUnavailable } from "../../services/workload/ContainerRuntime.js"
import type { ParseTemplate } from "./Assignments.js"
import { snapshotsOf } from "./Plan.js"
import type { Reconciler, WriterLock } from "./Reconciler.js"
import { requireDeployment, type Store } from "./Store.js"
import type { Views } from "./Views.js"

export interface OperationsDeps {
  readonly config: DaemonConfigShape
  readonly store: Store
  readonly registry: NodeRegistry["Type"]
  /** this host's engine: pinged when a deploy would put a pod here */
  readonly runtime: ContainerRuntime["Type"]
  readonly metrics: Metrics["Type"]
  readonly secrets: SecretStore["Type"]
  readonly eventLog: EventLog["Type"]
  readonly scheduler: Ref.Ref<SchedulerConfig>
  readonly parseTemplate: ParseTemplate
  readonly localNodeOf: Reconciler["localNodeOf"]
  readonly deploymentView: Views["deploymentView"]
  readonly serialized: WriterLock
  /** a pass after a change: the change is kept even if the pass fails */
  readonly reconcileAfterChange: Effect.Effect<void>
}

export const makeOperations = (
  deps: OperationsDeps
): Pick<Orchestrator["Type"], "deploy" | "scale" | "stop" | "restart" | "remove"> => {
  const { config, deploymentView, metrics, reconcileAfterChange, registry, secrets, serialized, store } = deps

  const deploymentEvent = (project: string, name: string, action: string, message: string) =>
    deps.eventLog.record({ kind: "deployment", name: `${project}/${name}`, action, message })

  /** Would this spec put a pod on this host? Then its engine must answer, or the deploy is refused. */
  const checkLocalRuntime = (spec: DeploymentSpec) =>
    Effect.gen(function*() {
      const nodes = yield* registry.list
      const me = deps.localNodeOf(nodes)
      if (me === undefined) return
      const nowMs = yield* Clock.currentTimeMillis
      const snapshots = snapshotsOf(
        nodes,
        yield* store.pods,
        yield* store.failuresSince(nowMs - FAILURE_MEMORY_MS),
        config.maxPods,
        deps.parseTemplate
      )
      const placements = placeMany(
        snapshots,
        Array.from({ length: spec.replicas }, () => requestFor(spec)),
        yield* deps.scheduler.get,
        nowMs
      )
      if (!placements.some((p) => Either.isRight(p) && p.right.nodeId === me.id)) return
      const unavailable = (detail: string) => new RuntimeUnavailable({ socket: config.dockerSocket, detail })
      yield* deps.runtime.ping.pipe(
        Effect.catchTag("RuntimeError", (e) => Effect.fail(unavailable(e.message))),
        // a socket that accepts but never answers must not hang the deploy
        Effect.timeoutFail({ duration: config.enginePingTimeout, onTimeout: () => unavailable("no answer to a ping") })
      )
    })

  /** Write the spec: its project if new, the deployment created or updated; what kind of change it was. */
  const saveSpec = (spec: DeploymentSpec, secretsRevision: string, projectExists: boolean) =>
    Effect.gen(function*() {
      const project = spec.project
      const name = spec.deployment.name
      const nowMs = yield* Clock.currentTimeMillis
      // a secret set again since the last deploy changes the hash: the redeploy rolls the pods onto it
      const hash = spec.secrets.length === 0 ? specHash(spec) : `${specHash(spec)}~${secretsRevision}`
      const specJson = JSON.stringify(encodeSpec(spec))
      return yield* store.transaction(Effect.gen(function*() {
        if (!projectExists) yield* store.insertProject({ name: project, status: "active", createdAtMs: nowMs })
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
        const change = yield* saveSpec(spec, revision, Option.isSome(existingProject))
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
        const row = yield* requireDeployment(store, project, name)
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
        const row = yield* requireDeployment(store, project, name)
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
      const row = yield* requireDeployment(store, project, name)
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
        const row = yield* requireDeployment(store, project, name)
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

  return { deploy, scale, stop, restart, remove }
}
