// Handlers of /api/v1/cluster: the join token can be rotated, never shown (only its hash is stored).
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Duration, Effect, Option } from "effect"
import { formatDuration } from "../../../domain/Duration.js"
import { NotAClusterMaster, TokenNotRevealable } from "../../../domain/Errors.js"
import { rfc3339 } from "../../../domain/Time.js"
import { ClusterServer } from "../../../services/cluster/ClusterServer.js"
import { ClusterTls } from "../../../services/security/ClusterTls.js"
import { DaemonConfig } from "../../../services/DaemonConfig.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { TokenVault } from "../../../services/cluster/TokenVault.js"

export const layer = HttpApiBuilder.group(HelyosApi, "cluster", (handlers) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const vault = yield* TokenVault
    // only a master has them (a single-node daemon answers 409 before needing them)
    const tls = yield* Effect.serviceOption(ClusterTls)
    const server = yield* Effect.serviceOption(ClusterServer)
    const master = config.mode !== "master"
      ? Effect.fail(new NotAClusterMaster())
      : Option.isSome(tls)
      ? Effect.succeed(tls.value)
      : Effect.dieMessage("a master must be given its ClusterTls (ClusterTlsFiles)")
    const grpcPort = Option.match(server, { onNone: () => config.grpcPort, onSome: (s) => s.port })
    return handlers
      .handle("showToken", () => Effect.zipRight(master, Effect.fail(new TokenNotRevealable())))
      .handle("rotateToken", ({ payload }) =>
        Effect.gen(function*() {
          const { fingerprint } = yield* master
          const ttl = Option.fromNullable(payload?.ttl_secs).pipe(
            Option.filter((secs) => secs > 0),
            Option.map(Duration.seconds)
          )
          const minted = yield* vault.rotateJoinToken(ttl)
          yield* Effect.logInfo(
            "join token rotated: the previous token no longer admits workers" +
              Option.match(ttl, { onNone: () => "", onSome: (d) => `; the new one expires in ${formatDuration(d)}` })
          )
          return {
            token: minted.token,
            expires_at: Option.match(minted.expiresAtMs, { onNone: () => null, onSome: rfc3339 }),
            ca_fingerprint: fingerprint,
            grpc_port: grpcPort
          }
        }))
  })
)
