// The bearer-token guard: throttle check for the client's address, token lookup (ApiTokens), then the
// scope rule. Failed authentications feed a per-address AuthThrottle, so guessing slows down while
// valid clients elsewhere are never affected. Time comes from Effect's Clock.
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Clock, Effect, Layer, Option, Redacted } from "effect"
import { InsufficientScope, scopeAllows, TooManyFailedAuthentications } from "../../domain/ApiToken.js"
import { AuthThrottle, defaultThrottleRules, type ThrottleRules } from "../../domain/AuthThrottle.js"
import { Unauthorized } from "../../domain/Errors.js"
import { ApiTokens } from "../../services/security/ApiTokens.js"
import { Authorization } from "../../services/api/Authorization.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"

/** The guard with these throttle rules. */
export const layerWith = (rules: ThrottleRules = defaultThrottleRules) =>
  Layer.effect(
    Authorization,
    Effect.gen(function*() {
      const tokens = yield* ApiTokens
      const throttle = new AuthThrottle(rules)
      return Authorization.of({
        bearer: (bearer) =>
          Effect.gen(function*() {
            const request = yield* HttpServerRequest.HttpServerRequest
            const presented = Redacted.value(bearer)
            // no token at all is not a guess: nothing to slow down
            if (presented === "") return yield* new Unauthorized()
            // the socket's address, never a header a client could forge
            const address = Option.getOrElse(request.remoteAddress, () => "unknown")
            const now = yield* Clock.currentTimeMillis
            const verdict = throttle.check(address, now)
            if (verdict.limited) {
              // checked before the token: a limited address must learn nothing, even from a right guess
              const retryAfterSecs = Math.max(1, Math.ceil(verdict.retryAfterMs / 1000))
              yield* HttpApp.appendPreResponseHandler((_request, response) =>
                Effect.succeed(HttpServerResponse.setHeader(response, "retry-after", String(retryAfterSecs)))
              )
              yield* Effect.logDebug(`bearer check refused: too many failed authentications from ${address}`)
              return yield* new TooManyFailedAuthentications({ retryAfterSecs })
            }
            const token = yield* tokens.authenticate(presented).pipe(
              Effect.catchAll((reason) =>
                Effect.zipRight(
                  Effect.sync(() => throttle.recordFailure(address, now)),
                  Effect.zipRight(
                    Effect.logDebug(`bearer token refused (${reason}) from ${address}`),
                    Effect.fail(new Unauthorized())
                  )
                )
              )
            )
            if (!scopeAllows(token.scope, request.method)) {
              return yield* new InsufficientScope({ name: token.name, scope: token.scope })
            }
            return token
          })
      })
    })
  )

/** The guard the daemon runs. */
/** The guard with DaemonConfig.authThrottle. */
export const layer = Layer.unwrapEffect(Effect.map(DaemonConfig, (config) => layerWith(config.authThrottle)))
