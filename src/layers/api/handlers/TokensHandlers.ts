// Handlers of /api/v1/tokens and /api/v1/whoami: names follow the resource-name rule (422), and
// `legacy-default` is reserved for the daemon's own first-run / configured token.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Clock, Effect, Either, Option, Redacted } from "effect"
import { LEGACY_DEFAULT, toApiTokenView, toCreatedApiToken, toWhoAmI } from "../../../domain/ApiToken.js"
import { validateName } from "../../../domain/DeploymentSpec.js"
import { InvalidName } from "../../../domain/WorkloadErrors.js"
import { ApiTokens } from "../../../services/security/ApiTokens.js"
import { CurrentToken } from "../../../services/api/Authorization.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"

const tokenName = (name: string) =>
  name === LEGACY_DEFAULT
    ? Either.left(new InvalidName({ name, problem: "the name is reserved for the daemon's own token" }))
    : validateName(name)

export const layer = HttpApiBuilder.group(HelyosApi, "tokens", (handlers) =>
  Effect.gen(function*() {
    const tokens = yield* ApiTokens
    return handlers
      .handle("whoami", () => Effect.map(CurrentToken, toWhoAmI))
      .handle("create", ({ payload }) =>
        Effect.gen(function*() {
          const name = yield* tokenName(payload.name)
          const ttl = payload.ttl_secs
          const ttlSecs = ttl === undefined || ttl === null || ttl <= 0 ? Option.none() : Option.some(ttl)
          const { info, token } = yield* tokens.create({ name, scope: payload.scope, ttlSecs })
          return toCreatedApiToken(info, Redacted.value(token))
        }))
      .handle("list", () =>
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          return (yield* tokens.list).map((token) => toApiTokenView(token, now))
        }))
      .handle("revoke", ({ path }) => tokens.revoke(path.name))
  })
)
