// /api/v1/deploy, /deployments, /pods and a deployment's scale/stop/remove/logs. The deploy body is
// taken as unknown JSON and decoded by the handler (decodeSpec), so every problem names its field.
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Schema } from "effect"
import { DeploymentView, PodView } from "../../domain/Workload.js"
import {
  DeploymentNotFound,
  DeploymentStopped,
  InvalidReplicas,
  ProjectSuspended,
  SpecInvalid
} from "../../domain/WorkloadErrors.js"
import { RuntimeUnavailable } from "../workload/ContainerRuntime.js"
import { LogsUnavailable } from "../orchestrator/Orchestrator.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"
import { QueryFlag } from "./NodesApi.js"
import { SecretMissingError, SecretUndecryptableError } from "./SecretsApi.js"

/** RuntimeUnavailable is a Data error (no schema of its own): declared by instance. */
const RuntimeUnavailableSchema = Schema.declare(
  (u: unknown): u is RuntimeUnavailable => u instanceof RuntimeUnavailable,
  { identifier: "RuntimeUnavailable" }
)

export const SpecInvalidError = httpError(SpecInvalid, 422)
export const ProjectSuspendedError = httpError(ProjectSuspended, 409)
export const RuntimeUnavailableError = httpError(RuntimeUnavailableSchema, 503)
export const DeploymentNotFoundError = httpError(DeploymentNotFound, 404)
export const InvalidReplicasError = httpError(InvalidReplicas, 422)
export const LogsUnavailableError = httpError(LogsUnavailable, 409)
export const DeploymentStoppedError = httpError(DeploymentStopped, 409)

/** `?project=NAME`: only that project; absent: every project. */
const ProjectFilter = Schema.Struct({ project: Schema.optionalWith(Schema.String, { exact: true }) })

const DeploymentPath = Schema.Struct({ project: Schema.String, name: Schema.String })

const Tail = Schema.NumberFromString.pipe(Schema.int(), Schema.nonNegative())

/** `?tail=N&follow=true&pod=NAME` */
export const LogParams = Schema.Struct({
  tail: Schema.optionalWith(Tail, { exact: true }),
  follow: Schema.optionalWith(QueryFlag, { exact: true, default: () => false }),
  pod: Schema.optionalWith(Schema.String, { exact: true })
})

/** The log stream: `text/plain`, one `<pod> <line>` per line. */
export const LogText = HttpApiSchema.Text({ contentType: "text/plain; charset=utf-8" })

const deploymentRoute = (suffix: string) => `/api/v1/projects/:project/deployments/:name${suffix}` as const

export class WorkloadsApi extends HttpApiGroup.make("workloads")
  .add(
    HttpApiEndpoint.post("deploy", "/api/v1/deploy")
      .setPayload(Schema.Unknown)
      // 201 as the reference answers, for a new deployment and an update alike (scripts check for it)
      .addSuccess(DeploymentView, { status: 201 })
      .addError(SpecInvalidError)
      .addError(ProjectSuspendedError)
      .addError(RuntimeUnavailableError)
      .addError(SecretMissingError)
      .addError(SecretUndecryptableError)
  )
  .add(
    HttpApiEndpoint.get("deployments", "/api/v1/deployments")
      .setUrlParams(ProjectFilter)
      .addSuccess(Schema.Array(DeploymentView))
  )
  .add(HttpApiEndpoint.get("pods", "/api/v1/pods").setUrlParams(ProjectFilter).addSuccess(Schema.Array(PodView)))
  .add(
    HttpApiEndpoint.post("scale", deploymentRoute("/scale"))
      .setPath(DeploymentPath)
      .setPayload(Schema.Struct({ replicas: Schema.Number }))
      .addSuccess(DeploymentView)
      .addError(DeploymentNotFoundError)
      .addError(ProjectSuspendedError)
      .addError(InvalidReplicasError)
  )
  .add(
    HttpApiEndpoint.post("stop", deploymentRoute("/stop"))
      .setPath(DeploymentPath)
      .addSuccess(DeploymentView)
      .addError(DeploymentNotFoundError)
  )
  .add(
    // every pod replaced by a fresh one, rolling; answers with the deployment at once
    HttpApiEndpoint.post("restart", deploymentRoute("/restart"))
      .setPath(DeploymentPath)
      .addSuccess(DeploymentView)
      .addError(DeploymentNotFoundError)
      .addError(DeploymentStoppedError)
  )
  .add(
    // 204 on success
    HttpApiEndpoint.del("remove", deploymentRoute(""))
      .setPath(DeploymentPath)
      .addError(DeploymentNotFoundError)
  )
  .add(
    HttpApiEndpoint.get("logs", deploymentRoute("/logs"))
      .setPath(DeploymentPath)
      .setUrlParams(LogParams)
      .addSuccess(LogText)
      .addError(DeploymentNotFoundError)
      .addError(LogsUnavailableError)
      .addError(RuntimeUnavailableError)
  )
  .middleware(Authorization)
{}
