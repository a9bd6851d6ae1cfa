// Public routes: liveness and version. No token needed (monitoring and `helyos login` probe them).
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"

/** The version helyosd and helyos report. */
export const HELYOS_VERSION = "0.1.0"

export const Health = Schema.Struct({ status: Schema.Literal("ok") })

export const Version = Schema.Struct({
  version: Schema.String,
  mode: Schema.Literal("single", "master", "worker")
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(HttpApiEndpoint.get("version", "/api/v1/version").addSuccess(Version))
{}
