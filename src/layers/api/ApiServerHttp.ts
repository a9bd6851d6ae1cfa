// The REST API on --host:--port: the HelyosApi handlers, the bearer guard, and the error contract
// (every error is `{"error": "..."}`: 422 for undecodable input, 404 for unknown routes, 500 for bugs).
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiError from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Effect, Layer, Option, Redacted } from "effect"
import { createServer } from "node:http"
import { createServer as createHttpsServer } from "node:https"
import { urlOf } from "../../domain/ApiTlsPolicy.js"
import { ApiServer } from "../../services/api/ApiServer.js"
import { ApiTls } from "../../services/security/ApiTls.js"
import { ApiError } from "../../services/api/HttpErrors.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { HelyosApi } from "../../services/api/HelyosApi.js"
import { observeRequests } from "./HttpMetrics.js"
import * as AuthorizationLive from "./AuthorizationLive.js"
import * as RequestGuards from "./RequestGuards.js"
import * as ClusterHandlers from "./handlers/ClusterHandlers.js"
import * as EventsHandlers from "./handlers/EventsHandlers.js"
import * as MetricsHandlers from "./handlers/MetricsHandlers.js"
import * as NodesHandlers from "./handlers/NodesHandlers.js"
import * as ProjectsHandlers from "./handlers/ProjectsHandlers.js"
import * as SchedulerHandlers from "./handlers/SchedulerHandlers.js"
import * as SecretsHandlers from "./handlers/SecretsHandlers.js"
import * as StatusHandlers from "./handlers/StatusHandlers.js"
import * as SystemHandlers from "./handlers/SystemHandlers.js"
import * as TokensHandlers from "./handlers/TokensHandlers.js"
import * as WorkloadsHandlers from "./handlers/WorkloadsHandlers.js"

/** Every group's handlers. A new group adds its layer here. */
const HandlersLive = Layer.mergeAll(
  SystemHandlers.layer,
  NodesHandlers.layer,
  ClusterHandlers.layer,
  SchedulerHandlers.layer,
  ProjectsHandlers.layer,
  WorkloadsHandlers.layer,
  EventsHandlers.layer,
  TokensHandlers.layer,
  SecretsHandlers.layer,
  MetricsHandlers.layer,
  StatusHandlers.layer
).pipe(
  Layer.provide(AuthorizationLive.layer)
)

const ApiLive = HttpApiBuilder.api(HelyosApi).pipe(Layer.provide(HandlersLive))

/** One line out of HttpApi's decode failure: `invalid request: force: must be "true" or "false", got "maybe"`. */
const describeDecodeError = (error: HttpApiError.HttpApiDecodeError): string => {
  const issues = error.issues.map((issue) =>
    issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
  )
  return `invalid request: ${issues.length > 0 ? issues.join("; ") : error.message.replace(/\s+/g, " ")}`
}

/**
 * Runs inside HttpApi's error encoder, so what it fails with is sent as `{"error"}` with its status:
 * HttpApi's own decode failure (by default a 400 with another body) becomes 422, an unknown route
 * (by default an empty 404) becomes 404, and a defect (a bug) is logged and becomes a bare 500.
 */
const ErrorContractLive = HttpApiBuilder.middleware(HelyosApi, (app) =>
  Effect.catchAllCause(app, (cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isNone(failure)) {
      if (Cause.isInterruptedOnly(cause)) return Effect.failCause(cause)
      // a body that is not JSON at all dies inside HttpApi's decoder: the client's mistake, not a bug
      const defect = Cause.dieOption(cause)
      if (Option.isSome(defect) && defect.value instanceof HttpServerError.RequestError && defect.value.reason === "Decode") {
        return Effect.fail(new ApiError({ status: 422, message: "invalid request: the body is not valid JSON" }))
      }
      return Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
        Effect.zipRight(
          Effect.logError(`${request.method} ${request.url} failed`, cause),
          Effect.fail(new ApiError({ status: 500, message: "internal server error" }))
        ))
    }
    const error: unknown = failure.value
    if (error instanceof HttpApiError.HttpApiDecodeError) {
      return Effect.fail(new ApiError({ status: 422, message: describeDecodeError(error) }))
    }
    if (error instanceof HttpServerError.RouteNotFound) {
      return Effect.fail(new ApiError({ status: 404, message: "not found" }))
    }
    // a declared failure of a handler or of the bearer guard: the encoder knows its status
    return Effect.failCause(cause)
  }))

/** Outermost: one debug line per answered request (method, url, status). */
const logRequests = (app: HttpApp.Default) =>
  Effect.tap(app, (response) =>
    Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
      Effect.logDebug(`${request.method} ${request.url} ${response.status}`)))

/** The listener on the configured host and port: HTTPS with ApiTls's certificate chain, else plain HTTP. */
const ListenerLive = Layer.unwrapEffect(
  Effect.gen(function*() {
    const { host, port } = yield* DaemonConfig
    const { certificate } = yield* ApiTls
    return Option.match(certificate, {
      onNone: () => NodeHttpServer.layer(createServer, { host, port }),
      onSome: ({ chainPem, keyPem }) =>
        NodeHttpServer.layer(() => createHttpsServer({ cert: chainPem, key: Redacted.value(keyPem) }), { host, port })
    })
  })
)

const loopbackFor = (host: string) => host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host

/** Where the listener is bound (the real port when the config said 0). */
const BoundAddressLive = Layer.effect(
  ApiServer,
  Effect.gen(function*() {
    const { address } = yield* HttpServer.HttpServer
    const { host } = yield* DaemonConfig
    const { scheme } = yield* ApiTls
    const port = address._tag === "TcpAddress" ? address.port : 0
    return ApiServer.of({ host, port, url: urlOf(scheme, loopbackFor(host), port) })
  })
)

/**
 * The REST API, serving until its scope closes. Needs DaemonConfig (host, port, mode), ApiTls, TokenVault,
 * NodeRegistry, NodeWorkloads, WorkerChannels, Events and Orchestrator; provides ApiServer (the bound address).
 */
export const layer = Layer.mergeAll(
  HttpApiBuilder.serve((app) => logRequests(observeRequests(app))).pipe(Layer.provide(ErrorContractLive), Layer.provide(RequestGuards.layer), Layer.provide(ApiLive)),
  BoundAddressLive
).pipe(Layer.provide(ListenerLive))
