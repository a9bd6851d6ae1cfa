// Handlers of /api/v1/cluster: the join token can be rotated, never shown (only its hash is stored).
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { NotAClusterMaster, TokenNotRevealable } from "../../domain/Errors.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { HelyosApi } from "../../services/HelyosApi.js"
import { TokenVault } from "../../services/TokenVault.js"

export const ClusterHandlersLive = HttpApiBuilder.group(HelyosApi, "cluster", (handlers) =>
  Effect.gen(function*() {
    const { mode } = yield* DaemonConfig
    const vault = yield* TokenVault
    const masterOnly = mode === "master" ? Effect.void : Effect.fail(new NotAClusterMaster())
    return handlers
      .handle("showToken", () => Effect.zipRight(masterOnly, Effect.fail(new TokenNotRevealable())))
      .handle("rotateToken", () =>
        masterOnly.pipe(
          Effect.zipRight(vault.rotateJoinToken),
          Effect.tap(() => Effect.logInfo("join token rotated: the previous token no longer admits workers")),
          Effect.map((token) => ({ token }))
        ))
  })
)
