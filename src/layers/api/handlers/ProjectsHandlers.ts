// Handlers of /api/v1/projects: names are checked here (DNS labels, 422), the rest is the Orchestrator's.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { validateName } from "../../../domain/DeploymentSpec.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"

export const layer = HttpApiBuilder.group(HelyosApi, "projects", (handlers) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    return handlers
      .handle("list", () => orchestrator.projects)
      .handle("create", ({ payload }) => Effect.flatMap(validateName(payload.name), orchestrator.createProject))
      .handle("suspend", ({ path }) => orchestrator.suspendProject(path.project))
      .handle("resume", ({ path }) => orchestrator.resumeProject(path.project))
      .handle("remove", ({ path }) => orchestrator.deleteProject(path.project))
  })
)
