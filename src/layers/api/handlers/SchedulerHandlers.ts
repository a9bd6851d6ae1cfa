// Handlers of /api/v1/cluster/scheduler: read and change the placement strategy and weights.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Either } from "effect"
import { settingsOfRequest } from "../../../domain/Scheduler.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"

export const layer = HttpApiBuilder.group(HelyosApi, "scheduler", (handlers) =>
  Effect.gen(function*() {
    const orchestrator = yield* Orchestrator
    return handlers
      .handle("get", () => orchestrator.schedulerConfig)
      .handle("set", ({ payload }) =>
        Either.match(settingsOfRequest(payload), { onLeft: Effect.fail, onRight: orchestrator.setScheduler }))
  })
)
