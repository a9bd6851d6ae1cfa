// The bearer-token guard: a constant-time check against the stored API token hash (TokenVault).
import { Effect, Layer, Redacted } from "effect"
import { Unauthorized } from "../../domain/Errors.js"
import { Authorization } from "../../services/api/Authorization.js"
import { TokenVault } from "../../services/TokenVault.js"

export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const vault = yield* TokenVault
    return Authorization.of({
      bearer: (token) =>
        Effect.flatMap(vault.verifyApiToken(Redacted.value(token)), (valid) =>
          valid ? Effect.void : Effect.fail(new Unauthorized()))
    })
  })
)
