// Handlers of deploy, deployments, pods and a deployment's scale/stop/remove/logs: thin over the
// Orchestrator. The deploy body is decoded here (SpecInvalid: 422 naming each field).
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { decodeSpec } from "../../../domain/DeploymentSpec.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"
import { logResponse } from "../LogResponse.js"

export const layer = HttpApiBuilder.group(HelyosApi, "workloads", (handlers) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    return handlers
      .handle("deploy", ({ payload }) => Effect.flatMap(decodeSpec(payload), orchestrator.deploy))
      .handle("deployments", ({ urlParams }) => orchestrator.deployments(urlParams.project))
      .handle("pods", ({ urlParams }) => orchestrator.pods(urlParams.project))
      .handle("scale", ({ path, payload }) => orchestrator.scale(path.project, path.name, payload.replicas))
      .handle("stop", ({ path }) => orchestrator.stop(path.project, path.name))
      .handle("restart", ({ path }) => orchestrator.restart(path.project, path.name))
      .handle("remove", ({ path }) => orchestrator.remove(path.project, path.name))
      .handle("logs", ({ path, urlParams }) =>
        logResponse(orchestrator.logs(path.project, path.name, {
          tail: urlParams.tail,
          follow: urlParams.follow,
          pod: urlParams.pod
        })))
  })
)
