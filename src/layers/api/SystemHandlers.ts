// Handlers of the public routes: /health and /api/v1/version.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { HELYOS_VERSION } from "../../services/api/SystemApi.js"
import { HelyosApi } from "../../services/HelyosApi.js"

export const SystemHandlersLive = HttpApiBuilder.group(HelyosApi, "system", (handlers) =>
  Effect.gen(function*() {
    const { mode } = yield* DaemonConfig
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("version", () => Effect.succeed({ version: HELYOS_VERSION, mode }))
  })
)
