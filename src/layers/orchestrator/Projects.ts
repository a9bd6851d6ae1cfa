// Projects (create, suspend, resume, delete) and the scheduler's settings.
// The orchestrator's operations that are not about one deployment; writes go under the writer lock too.
import { Clock, Effect, Either, Option, Ref } from "effect"
import { applySettings, type SchedulerConfig, type SchedulerSetting } from "../../domain/Scheduler.js"
import { type ProjectStatus, toProjectView } from "../../domain/Workload.js"
import { ProjectExists, ProjectNotEmpty } from "../../domain/WorkloadErrors.js"
import type { Orchestrator } from "../../services/orchestrator/Orchestrator.js"
import type { SecretStore } from "../../services/security/SecretStore.js"
import type { WriterLock } from "./Reconciler.js"
import { requireProject, type Store } from "./Store.js"

export interface ProjectsDeps {
  readonly store: Store
  /** a deleted project's secrets go with it */
  readonly secrets: SecretStore["Type"]
  /** the live scheduler settings (the reconciler reads them every pass); saved to the store on change */
  readonly scheduler: Ref.Ref<SchedulerConfig>
  readonly serialized: WriterLock
  /** a pass after a change: the change is kept even if the pass fails */
  readonly reconcileAfterChange: Effect.Effect<void>
}

export const makeProjects = (
  deps: ProjectsDeps
): Pick<
  Orchestrator["Type"],
  "projects" | "createProject" | "suspendProject" | "resumeProject" | "deleteProject" | "schedulerConfig" | "setScheduler"
> => {
  const { scheduler, serialized, store } = deps

  const createProject = (name: string) =>
    serialized(Effect.gen(function*() {
      if (Option.isSome(yield* store.project(name))) return yield* new ProjectExists({ name })
      const row = { name, status: "active" as const, createdAtMs: yield* Clock.currentTimeMillis }
      yield* store.insertProject(row)
      yield* Effect.logInfo(`project ${name} created`)
      return toProjectView(row)
    }))

  /** Suspend or resume; a pass follows only a real change (suspending stops every pod of the project). */
  const setProjectStatus = (name: string, status: ProjectStatus) =>
    serialized(Effect.gen(function*() {
      const row = yield* requireProject(store, name)
      if (row.status !== status) {
        yield* store.setProjectStatus(name, status)
        yield* Effect.logInfo(`project ${name} ${status === "suspended" ? "suspended" : "resumed"}`)
        yield* deps.reconcileAfterChange
      }
      return toProjectView({ ...row, status })
    }))

  const deleteProject = (name: string) =>
    serialized(Effect.gen(function*() {
      yield* requireProject(store, name)
      const remaining = (yield* store.deployments).filter((d) => d.project === name).length
      if (remaining > 0) return yield* new ProjectNotEmpty({ name, deployments: remaining })
      yield* store.deleteProject(name)
      yield* deps.secrets.removeProject(name)
      yield* Effect.logInfo(`project ${name} deleted`)
    }))

  const setScheduler = (settings: ReadonlyArray<SchedulerSetting>) =>
    serialized(Effect.gen(function*() {
      const next = yield* Either.match(applySettings(yield* Ref.get(scheduler), settings), {
        onLeft: Effect.fail,
        onRight: Effect.succeed
      })
      yield* store.saveSchedulerConfig(next)
      yield* Ref.set(scheduler, next)
      yield* Effect.logInfo(`scheduler set: ${settings.map((s) => `${s.key} = ${s.value}`).join(", ")} (strategy ${next.strategy})`)
      return next
    }))

  return {
    projects: Effect.map(store.projects, (rows) => rows.map(toProjectView)),
    createProject,
    suspendProject: (name) => setProjectStatus(name, "suspended"),
    resumeProject: (name) => setProjectStatus(name, "active"),
    deleteProject,
    schedulerConfig: Ref.get(scheduler),
    setScheduler
  }
}
