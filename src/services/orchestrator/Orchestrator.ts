// The master's workload brain: projects, deployments and pods as desired state in SQLite,
// converged by a level-triggered reconcile loop that places pods through the scheduler.
import { Context, type Effect, Schema, type Stream } from "effect"
import type { DeploymentSpec } from "../../domain/DeploymentSpec.js"
import type { SchedulerConfig, SchedulerSetting } from "../../domain/Scheduler.js"
import type { MissingSecret, SecretUndecryptable } from "../../domain/Secrets.js"
import type { DeploymentView, PodView, ProjectView } from "../../domain/Workload.js"
import type {
  DeploymentNotFound,
  DeploymentStopped,
  InvalidReplicas,
  InvalidSchedulerSetting,
  ProjectExists,
  ProjectNotEmpty,
  ProjectNotFound,
  ProjectSuspended
} from "../../domain/WorkloadErrors.js"
import type { RuntimeUnavailable } from "../workload/ContainerRuntime.js"

export interface LogOptions {
  /** only the last N lines of each pod (undefined: all) */
  readonly tail?: number | undefined
  readonly follow: boolean
  /** one pod by its user-facing name (`api-0`); undefined: every pod of the deployment */
  readonly pod?: string | undefined
}

export interface LogLine {
  readonly pod: string
  readonly line: string
}

/** A pod's logs could not be read: its node is not connected, the pod has no container yet, the engine failed. */
export class LogsUnavailable extends Schema.TaggedError<LogsUnavailable>()("LogsUnavailable", {
  pod: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `logs of pod '${this.pod}' are unavailable: ${this.reason}`
  }
}

export class Orchestrator extends Context.Tag("helyos/Orchestrator")<Orchestrator, {
  /** Store a (validated) spec and converge to it; auto-creates the project. Returns at once. */
  /** Every secret the spec names must exist in its project first (checked before anything is stored). */
  readonly deploy: (
    spec: DeploymentSpec
  ) => Effect.Effect<DeploymentView, ProjectSuspended | RuntimeUnavailable | MissingSecret | SecretUndecryptable>
  readonly deployments: (project?: string) => Effect.Effect<ReadonlyArray<DeploymentView>>
  readonly deployment: (project: string, name: string) => Effect.Effect<DeploymentView, DeploymentNotFound>
  /** Set the desired replica count (0 allowed; not a whole number >= 0: InvalidReplicas). */
  readonly scale: (
    project: string,
    name: string,
    replicas: number
  ) => Effect.Effect<DeploymentView, DeploymentNotFound | ProjectSuspended | InvalidReplicas>
  /** Stop every pod but keep the definition (status stopped). */
  readonly stop: (project: string, name: string) => Effect.Effect<DeploymentView, DeploymentNotFound>
  /**
   * Replace every pod with a fresh one (new ids, clean restart counters, out of any crash loop),
   * rolling like a spec update: new before old, one index at a time.
   */
  readonly restart: (
    project: string,
    name: string
  ) => Effect.Effect<DeploymentView, DeploymentNotFound | DeploymentStopped>
  /** Stop the pods and delete the definition. */
  readonly remove: (project: string, name: string) => Effect.Effect<void, DeploymentNotFound>
  readonly pods: (project?: string) => Effect.Effect<ReadonlyArray<PodView>>
  /** Logs of a deployment's pods, wherever they run (workers push them back over their own stream). */
  readonly logs: (
    project: string,
    name: string,
    options: LogOptions
  ) => Stream.Stream<LogLine, DeploymentNotFound | RuntimeUnavailable | LogsUnavailable>

  readonly projects: Effect.Effect<ReadonlyArray<ProjectView>>
  readonly createProject: (name: string) => Effect.Effect<ProjectView, ProjectExists>
  readonly suspendProject: (name: string) => Effect.Effect<ProjectView, ProjectNotFound>
  readonly resumeProject: (name: string) => Effect.Effect<ProjectView, ProjectNotFound>
  readonly deleteProject: (name: string) => Effect.Effect<void, ProjectNotFound | ProjectNotEmpty>

  readonly schedulerConfig: Effect.Effect<SchedulerConfig>
  /** Apply `scheduler` / `scheduler.weights.<name>` settings; persisted; future placements only. */
  /** Apply these changes in order, all or none. */
  readonly setScheduler: (settings: ReadonlyArray<SchedulerSetting>) => Effect.Effect<SchedulerConfig, InvalidSchedulerSetting>
}>() {}
