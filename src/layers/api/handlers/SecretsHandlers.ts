// Handlers of /api/v1/projects/:project/secrets. Setting a secret creates its project when there is
// none yet, as the reference does (scripts set secrets before their first deploy, and a deploy that
// names a missing secret is refused); listing and removing need the project. Answers carry names only.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { validateName } from "../../../domain/DeploymentSpec.js"
import { ProjectNotFound } from "../../../domain/WorkloadErrors.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"
import { SecretStore } from "../../../services/security/SecretStore.js"

export const layer = HttpApiBuilder.group(HelyosApi, "secrets", (handlers) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    const secrets = yield* SecretStore
    const requireProject = (name: string) =>
      Effect.flatMap(orchestrator.projects, (projects) =>
        projects.some((p) => p.name === name) ? Effect.void : Effect.fail(new ProjectNotFound({ name })))
    return handlers
      .handle("list", ({ path }) =>
        requireProject(path.project).pipe(
          Effect.zipRight(secrets.list(path.project)),
          Effect.map((names) => ({ project: path.project, secrets: names }))
        ))
      .handle("set", ({ path, payload }) =>
        requireProject(path.project).pipe(
          Effect.catchTag("ProjectNotFound", () =>
            validateName(path.project).pipe(
              Effect.flatMap(orchestrator.createProject),
              // created meanwhile by another request: just as good
              Effect.catchTag("ProjectExists", () => Effect.void),
              Effect.zipRight(Effect.logInfo(`project ${path.project} created for its first secret`))
            )),
          Effect.zipRight(secrets.set(path.project, path.name, payload.value)),
          Effect.tap(({ created }) =>
            Effect.logInfo(`secret ${path.project}/${path.name} ${created ? "created" : "updated"}`)),
          Effect.asVoid
        ))
      .handle("remove", ({ path }) =>
        requireProject(path.project).pipe(
          Effect.zipRight(secrets.remove(path.project, path.name)),
          Effect.zipRight(Effect.logInfo(`secret ${path.project}/${path.name} removed`))
        ))
  })
)
