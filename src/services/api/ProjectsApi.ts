// /api/v1/projects: list, create, suspend, resume, delete (only when empty).
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import { ProjectView } from "../../domain/Workload.js"
import { InvalidName, ProjectExists, ProjectNotEmpty, ProjectNotFound } from "../../domain/WorkloadErrors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

export const ProjectExistsError = httpError(ProjectExists, 409)
export const InvalidNameError = httpError(InvalidName, 422)
export const ProjectNotFoundError = httpError(ProjectNotFound, 404)
export const ProjectNotEmptyError = httpError(ProjectNotEmpty, 409)

/** `:project` (not `:name`) so the segment matches the deployment routes under the same prefix. */
const ProjectPath = Schema.Struct({ project: Schema.String })

export class ProjectsApi extends HttpApiGroup.make("projects")
  .add(HttpApiEndpoint.get("list", "/api/v1/projects").addSuccess(Schema.Array(ProjectView)))
  .add(
    HttpApiEndpoint.post("create", "/api/v1/projects")
      .setPayload(Schema.Struct({ name: Schema.String }))
      .addSuccess(ProjectView, { status: 201 })
      .addError(ProjectExistsError)
      .addError(InvalidNameError)
  )
  .add(
    HttpApiEndpoint.post("suspend", "/api/v1/projects/:project/suspend")
      .setPath(ProjectPath)
      .addSuccess(ProjectView)
      .addError(ProjectNotFoundError)
  )
  .add(
    HttpApiEndpoint.post("resume", "/api/v1/projects/:project/resume")
      .setPath(ProjectPath)
      .addSuccess(ProjectView)
      .addError(ProjectNotFoundError)
  )
  .add(
    // 204 on success
    HttpApiEndpoint.del("remove", "/api/v1/projects/:project")
      .setPath(ProjectPath)
      .addError(ProjectNotFoundError)
      .addError(ProjectNotEmptyError)
  )
  .middleware(Authorization)
{}
