// Handlers of the public routes: /health, /api/v1/version and /api/v1/ca.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Option } from "effect"
import { NoSelfSignedCa } from "../../../domain/ApiTlsPolicy.js"
import { ApiTls } from "../../../services/security/ApiTls.js"
import { DaemonConfig } from "../../../services/DaemonConfig.js"
import { HELYOS_VERSION } from "../../../services/api/SystemApi.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"

export const layer = HttpApiBuilder.group(HelyosApi, "system", (handlers) =>
  Effect.gen(function*() {
    const { mode } = yield* DaemonConfig
    const { ca } = yield* ApiTls
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("version", () => Effect.succeed({ version: HELYOS_VERSION, mode }))
      .handle("ca", () => Option.match(ca, { onNone: () => Effect.fail(new NoSelfSignedCa()), onSome: Effect.succeed }))
  })
)
