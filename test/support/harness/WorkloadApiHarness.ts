// A real ApiServer over the real orchestrator (SQLite in memory, reconcile loop every 100 ms) on a
// master that runs its pods itself through the LocalHost double: what the workload API and CLI tests use.
import { Effect, Layer, Option, Redacted } from "effect"
import * as ApiTokensSql from "../../../src/layers/security/ApiTokensSql.js"
import * as TokenVaultSql from "../../../src/layers/cluster/TokenVaultSql.js"
import { ApiTokens } from "../../../src/services/security/ApiTokens.js"
import { TOKEN } from "./ApiHarness.js"
import { join, MASTER, masterOn } from "./OrchestratorHarness.js"
import * as ApiServerHttp from "../../../src/layers/api/ApiServerHttp.js"
import * as ApiTlsFiles from "../../../src/layers/security/ApiTlsFiles.js"
import * as HostInfoOs from "../../../src/layers/workload/HostInfoOs.js"

export { TOKEN, WRONG } from "./ApiHarness.js"

/** The token and this master registered as a node (so pods land on it and report running). */
const seeded = Layer.effectDiscard(Effect.gen(function*() {
  yield* (yield* ApiTokens).ensureDefault(Option.some(Redacted.make(TOKEN)))
  yield* join(MASTER, "Master")
}))

/** Serving until the scope closes; also provides the orchestrator's services (LocalHost to fail pods). */
export const workloadApi = () =>
  ApiServerHttp.layer.pipe(
    Layer.provide(ApiTlsFiles.layerPlainHttp),
    Layer.provide(HostInfoOs.layer),
    Layer.provideMerge(seeded),
    Layer.provideMerge(Layer.mergeAll(TokenVaultSql.layer, ApiTokensSql.layer)),
    Layer.provideMerge(masterOn(":memory:", "100 millis"))
  )
