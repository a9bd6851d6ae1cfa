// What the API shows of the orchestrator's state: deployments with their running pods, and pods with
// the name of the node they run on. Read-only; built from the store's rows on each call.
import { Effect } from "effect"
import {
  DeploymentRecord,
  deploymentStatus,
  effectiveReplicas,
  PodRecord,
  type ProjectStatus,
  toDeploymentView,
  toPodView
} from "../../domain/Workload.js"
import type { DeploymentSpec } from "../../domain/DeploymentSpec.js"
import { DeploymentNotFound } from "../../domain/WorkloadErrors.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import type { PodRow, Store } from "./Store.js"

export const makeViews = (
  store: Store,
  registry: NodeRegistry["Type"],
  projectStatuses: Effect.Effect<ReadonlyMap<string, ProjectStatus>>,
  /** the reconciler's memoised reading of a stored spec */
  specOf: (json: string) => DeploymentSpec,
  /** --dns-mode embedded: the views carry their `.internal` names */
  dns = false
) => {
  const deploymentViews = (filter: { readonly project?: string; readonly name?: string }) =>
    Effect.gen(function*() {
      const projects = yield* projectStatuses
      const rows = (yield* store.deployments).filter((d) =>
        (filter.project === undefined || d.project === filter.project) && (filter.name === undefined || d.name === filter.name)
      )
      const runByDeployment = new Map<string, Array<PodRow>>()
      for (const pod of yield* store.pods) {
        if (pod.desired !== "run") continue
        const list = runByDeployment.get(pod.deploymentId)
        if (list === undefined) runByDeployment.set(pod.deploymentId, [pod])
        else list.push(pod)
      }
      return rows.map((row) => {
        const record = new DeploymentRecord({
          id: row.id,
          project: row.project,
          name: row.name,
          spec: specOf(row.specJson),
          replicas: row.replicas,
          stopped: row.stopped === 1,
          createdAtMs: row.createdAtMs,
          updatedAtMs: row.updatedAtMs
        })
        const mine = runByDeployment.get(row.id) ?? []
        const desired = effectiveReplicas(record, projects.get(row.project) ?? "active")
        return toDeploymentView(record, mine, deploymentStatus(desired, mine), dns)
      })
    })

  const deploymentView = (project: string, name: string) =>
    Effect.flatMap(deploymentViews({ project, name }), (views) =>
      views[0] === undefined ? Effect.fail(new DeploymentNotFound({ project, name })) : Effect.succeed(views[0]))

  const pods = (project?: string) =>
    Effect.gen(function*() {
      const names = new Map((yield* registry.list).map((n) => [n.id, n.name]))
      return (yield* store.pods)
        .filter((p) => project === undefined || p.project === project)
        .map((p) =>
          toPodView(
            new PodRecord({
              id: p.id,
              deploymentId: p.deploymentId,
              project: p.project,
              deploymentName: p.deploymentName,
              replicaIndex: p.replicaIndex,
              nodeId: p.nodeId,
              containerId: p.containerId,
              containerIp: p.containerIp,
              status: p.status,
              image: p.image,
              specHash: p.specHash,
              restartCount: p.restartCount,
              createdAtMs: p.createdAtMs,
              ...(p.message === null ? {} : { message: p.message }),
              ...(p.exitCode === null ? {} : { exitCode: p.exitCode }),
              ...(p.reason === null ? {} : { reason: p.reason }),
              ...(p.lastExitAtMs === null ? {} : { lastExitAtMs: p.lastExitAtMs }),
              ...(p.health === null ? {} : { health: p.health }),
              ...(p.startedAtMs === null ? {} : { startedAtMs: p.startedAtMs })
            }),
            p.nodeId === null ? null : (names.get(p.nodeId) ?? null),
            dns
          )
        )
    })

  return { deploymentViews, deploymentView, pods } as const
}

export type Views = ReturnType<typeof makeViews>
