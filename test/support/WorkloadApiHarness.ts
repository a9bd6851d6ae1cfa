// A real ApiServer over the real orchestrator (SQLite in memory, reconcile loop every 100 ms) on a
// master that runs its pods itself through the LocalHost double: what the workload API and CLI tests use.
import { Effect, Layer, Option, Redacted } from "effect"
import { ApiServerLive } from "../../src/layers/ApiServer.js"
import { TokenVaultSqlLive } from "../../src/layers/TokenVaultSql.js"
import { TokenVault } from "../../src/services/TokenVault.js"
import { TOKEN } from "./ApiHarness.js"
import { join, MASTER, masterOn } from "./OrchestratorHarness.js"

export { TOKEN, WRONG } from "./ApiHarness.js"

/** The token and this master registered as a node (so pods land on it and report running). */
const seeded = Layer.effectDiscard(Effect.gen(function*() {
  yield* (yield* TokenVault).ensureApiToken(Option.some(Redacted.make(TOKEN)))
  yield* join(MASTER, "Master")
}))

/** Serving until the scope closes; also provides the orchestrator's services (LocalHost to fail pods). */
export const workloadApi = () =>
  ApiServerLive.pipe(
    Layer.provideMerge(seeded),
    Layer.provideMerge(TokenVaultSqlLive),
    Layer.provideMerge(masterOn(":memory:", "100 millis"))
  )
