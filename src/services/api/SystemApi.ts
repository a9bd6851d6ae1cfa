// Public routes: liveness, version and the API CA. No token needed (monitoring and `helyos login` probe them).
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import { NoSelfSignedCa } from "../../domain/ApiTlsPolicy.js"
import { httpError } from "./HttpErrors.js"

/** The version helyosd and helyos report. */
export const HELYOS_VERSION = "0.1.0"

export const Health = Schema.Struct({ status: Schema.Literal("ok") })

export const Version = Schema.Struct({
  version: Schema.String,
  mode: Schema.Literal("single", "master", "worker")
})

/** The self-signed API CA clients pin: its PEM and the lowercase colon SHA-256 of the PEM bytes. */
export const CaView = Schema.Struct({ pem: Schema.String, sha256: Schema.String })

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health))
  .add(HttpApiEndpoint.get("version", "/api/v1/version").addSuccess(Version))
  .add(HttpApiEndpoint.get("ca", "/api/v1/ca").addSuccess(CaView).addError(httpError(NoSelfSignedCa, 404)))
{}
