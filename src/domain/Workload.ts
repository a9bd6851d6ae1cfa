// Projects, deployments and pods: the records the orchestrator keeps (camelCase, epoch ms) and the
// views the REST API shows (snake_case, RFC 3339), plus the names and statuses derived from them.
import { Schema } from "effect"
import { DeploymentSpec } from "./DeploymentSpec.js"
import { deploymentDnsName, podDnsName } from "./dns/Names.js"
import { NodeId } from "./Node.js"
import { rfc3339 } from "./Time.js"

// ---------------------------------------------------------------------------------------------
// Statuses (serialized lowercase, as the reference's JSON does).

export const PodStatus = Schema.Literal(
  "pending",
  "creating",
  "running",
  "stopping",
  "stopped",
  "failed",
  "restarting",
  "crashloopbackoff"
)
export type PodStatus = typeof PodStatus.Type

/** Why a pod's last container ended (as workers report it). */
export const PodExitReason = Schema.Literal("OOMKilled", "Error", "Completed", "Unhealthy")
export type PodExitReason = typeof PodExitReason.Type

/** A pod's probe verdict; pods without a health check have none. */
export const PodHealth = Schema.Literal("starting", "healthy", "unhealthy")
export type PodHealth = typeof PodHealth.Type

export const ProjectStatus = Schema.Literal("active", "suspended")
export type ProjectStatus = typeof ProjectStatus.Type

export const DeploymentStatus = Schema.Literal("pending", "running", "degraded", "stopped", "failed")
export type DeploymentStatus = typeof DeploymentStatus.Type

const podStatusLabels: Record<PodStatus, string> = {
  pending: "Pending",
  creating: "Creating",
  running: "Running",
  stopping: "Stopping",
  stopped: "Stopped",
  failed: "Failed",
  restarting: "Restarting",
  crashloopbackoff: "CrashLoopBackoff"
}

/** How tables print a pod status (the documented capitalised form, e.g. CrashLoopBackoff). */
export const podStatusLabel = (status: PodStatus): string => podStatusLabels[status]

// ---------------------------------------------------------------------------------------------
// Names.

export const DeploymentId = Schema.String.pipe(Schema.brand("DeploymentId"))
export type DeploymentId = typeof DeploymentId.Type

export const PodId = Schema.String.pipe(Schema.brand("PodId"))
export type PodId = typeof PodId.Type

/** The pod name users see and type: `<deployment>-<index>` (also its DNS label in the project zone). */
export const podName = (deployment: string, index: number): string => `${deployment}-${index}`

/**
 * The container's name on its host. The pod id prefix makes a replacement pod's container distinct
 * from the one it replaces, so the old one can still be stopped and removed by name.
 */
export const containerName = (project: string, deployment: string, index: number, podId: string): string =>
  `helyos-${project}-${deployment}-${index}-${podId.slice(0, 6)}`

// ---------------------------------------------------------------------------------------------
// Records (what the store keeps).

export class ProjectRecord extends Schema.Class<ProjectRecord>("ProjectRecord")({
  name: Schema.String,
  status: ProjectStatus,
  createdAtMs: Schema.Number
}) {}

export class DeploymentRecord extends Schema.Class<DeploymentRecord>("DeploymentRecord")({
  id: DeploymentId,
  project: Schema.String,
  name: Schema.String,
  spec: DeploymentSpec,
  /** desired replicas: starts as spec.replicas, `helyos scale` may change it (to 0 as well) */
  replicas: Schema.Number,
  /** `helyos stop`: keep the definition and the count, run nothing until redeployed or scaled */
  stopped: Schema.Boolean,
  createdAtMs: Schema.Number,
  updatedAtMs: Schema.Number
}) {}

export class PodRecord extends Schema.Class<PodRecord>("PodRecord")({
  id: PodId,
  deploymentId: DeploymentId,
  project: Schema.String,
  deploymentName: Schema.String,
  replicaIndex: Schema.Number,
  nodeId: Schema.NullOr(NodeId),
  containerId: Schema.NullOr(Schema.String),
  containerIp: Schema.NullOr(Schema.String),
  status: PodStatus,
  image: Schema.String,
  /** specHash of the spec this pod was created from; a different hash means "replace me" */
  specHash: Schema.String,
  restartCount: Schema.Number,
  createdAtMs: Schema.Number,
  /** why the pod is pending or failed (e.g. no node can run it), for users */
  message: Schema.optionalWith(Schema.String, { exact: true }),
  /** the last exit of its container, absent while it never exited */
  exitCode: Schema.optionalWith(Schema.Number, { exact: true }),
  reason: Schema.optionalWith(PodExitReason, { exact: true }),
  lastExitAtMs: Schema.optionalWith(Schema.Number, { exact: true }),
  /** absent without a health check */
  health: Schema.optionalWith(PodHealth, { exact: true }),
  /** when the current container started; absent while none runs */
  startedAtMs: Schema.optionalWith(Schema.Number, { exact: true })
}) {}

/** How many pods a deployment should run now: none when stopped or its project is suspended. */
export const effectiveReplicas = (deployment: Pick<DeploymentRecord, "replicas" | "stopped">, project: ProjectStatus): number =>
  deployment.stopped || project === "suspended" ? 0 : deployment.replicas

/**
 * A deployment's status from its desired count and its pods' statuses:
 * stopped when nothing should run; running when enough pods run; failed when none runs and every
 * remaining pod has given up (failed / crash-looping); degraded when some pod failed or restarts;
 * otherwise pending (pods still coming up). Stopping/stopped pods are surplus and do not count.
 */
export const deploymentStatus = (
  desired: number,
  pods: ReadonlyArray<{ readonly status: PodStatus }>
): DeploymentStatus => {
  if (desired <= 0) return "stopped"
  let running = 0
  let gaveUp = 0
  let comingUp = 0
  let restarting = 0
  for (const pod of pods) {
    switch (pod.status) {
      case "running":
        running++
        break
      case "failed":
      case "crashloopbackoff":
        gaveUp++
        break
      case "restarting":
        restarting++
        comingUp++
        break
      case "pending":
      case "creating":
        comingUp++
        break
      case "stopping":
      case "stopped":
        break
    }
  }
  if (running >= desired) return "running"
  if (running === 0 && gaveUp > 0 && comingUp === 0) return "failed"
  if (gaveUp > 0 || restarting > 0) return "degraded"
  return "pending"
}

// ---------------------------------------------------------------------------------------------
// API views (snake_case, as the REST API and `--json` show them).

export const ProjectView = Schema.Struct({
  name: Schema.String,
  status: ProjectStatus,
  created_at: Schema.String
})
export type ProjectView = typeof ProjectView.Type

export const DeploymentView = Schema.Struct({
  id: Schema.String,
  project: Schema.String,
  name: Schema.String,
  image: Schema.String,
  /** desired replicas */
  replicas: Schema.Number,
  /** pods running now */
  ready_replicas: Schema.Number,
  status: DeploymentStatus,
  /** the spec as JSON, defaults filled in */
  spec: DeploymentSpec,
  created_at: Schema.String,
  updated_at: Schema.String,
  /** `<deployment>.<project>.internal` (every ready pod) with `--dns-mode embedded`; null with noop */
  dns_name: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null })
})
export type DeploymentView = typeof DeploymentView.Type

export const PodView = Schema.Struct({
  id: Schema.String,
  /** `<deployment>-<index>` */
  name: Schema.String,
  project: Schema.String,
  deployment_name: Schema.String,
  replica_index: Schema.Number,
  /** node name, null while unscheduled */
  node: Schema.NullOr(Schema.String),
  node_id: Schema.NullOr(Schema.String),
  container_id: Schema.NullOr(Schema.String),
  container_ip: Schema.NullOr(Schema.String),
  status: PodStatus,
  image: Schema.String,
  restart_count: Schema.Number,
  /** the last exit of its container: code, why (OOMKilled | Error | Completed | Unhealthy), when; null while none */
  exit_code: Schema.NullOr(Schema.Number),
  reason: Schema.NullOr(PodExitReason),
  last_exit_at: Schema.NullOr(Schema.String),
  /** starting | healthy | unhealthy; null without a health check */
  health: Schema.NullOr(PodHealth),
  /** when the current container started; null while none runs */
  started_at: Schema.NullOr(Schema.String),
  created_at: Schema.String,
  /** `<deployment>-<replica_index>.<project>.internal` with `--dns-mode embedded`; null with noop */
  dns_name: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
  /** why the pod is pending or failed */
  message: Schema.optionalWith(Schema.String, { exact: true })
})
export type PodView = typeof PodView.Type

export const toProjectView = (project: ProjectRecord): ProjectView => ({
  name: project.name,
  status: project.status,
  created_at: rfc3339(project.createdAtMs)
})

/**
 * `status` is passed in: it depends on the project too (see effectiveReplicas / deploymentStatus).
 * `dns`: whether the daemon answers `.internal` names (--dns-mode embedded), so the view shows its name.
 */
export const toDeploymentView = (
  deployment: DeploymentRecord,
  pods: ReadonlyArray<{ readonly status: PodStatus }>,
  status: DeploymentStatus,
  dns = false
): DeploymentView => ({
  id: deployment.id,
  project: deployment.project,
  name: deployment.name,
  image: deployment.spec.image,
  replicas: deployment.replicas,
  ready_replicas: pods.filter((pod) => pod.status === "running").length,
  status,
  spec: deployment.spec,
  created_at: rfc3339(deployment.createdAtMs),
  updated_at: rfc3339(deployment.updatedAtMs),
  dns_name: dns ? deploymentDnsName(deployment.project, deployment.name) : null
})

export const toPodView = (pod: PodRecord, nodeName: string | null, dns = false): PodView => ({
  id: pod.id,
  name: podName(pod.deploymentName, pod.replicaIndex),
  project: pod.project,
  deployment_name: pod.deploymentName,
  replica_index: pod.replicaIndex,
  node: nodeName,
  node_id: pod.nodeId,
  container_id: pod.containerId,
  container_ip: pod.containerIp,
  status: pod.status,
  image: pod.image,
  restart_count: pod.restartCount,
  exit_code: pod.exitCode ?? null,
  reason: pod.reason ?? null,
  last_exit_at: pod.lastExitAtMs === undefined ? null : rfc3339(pod.lastExitAtMs),
  health: pod.health ?? null,
  started_at: pod.startedAtMs === undefined ? null : rfc3339(pod.startedAtMs),
  created_at: rfc3339(pod.createdAtMs),
  dns_name: dns ? podDnsName(pod.project, pod.deploymentName, pod.replicaIndex) : null,
  ...(pod.message === undefined ? {} : { message: pod.message })
})
