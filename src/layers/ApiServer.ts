// The REST API on --host:--port: the HelyosApi handlers, the bearer guard, and the error contract
// (every error is `{"error": "..."}`: 422 for undecodable input, 404 for unknown routes, 500 for bugs).
import {
  HttpApiBuilder,
  HttpApiError,
  type HttpApp,
  HttpServer,
  HttpServerError,
  HttpServerRequest
} from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Cause, Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import { ApiServer } from "../services/ApiServer.js"
import { ApiError } from "../services/api/HttpErrors.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import { HelyosApi } from "../services/HelyosApi.js"
import { AuthorizationLive } from "./api/AuthorizationLive.js"
import { ClusterHandlersLive } from "./api/ClusterHandlers.js"
import { NodesHandlersLive } from "./api/NodesHandlers.js"
import { ProjectsHandlersLive } from "./api/ProjectsHandlers.js"
import { SchedulerHandlersLive } from "./api/SchedulerHandlers.js"
import { SystemHandlersLive } from "./api/SystemHandlers.js"
import { WorkloadsHandlersLive } from "./api/WorkloadsHandlers.js"

/** Every group's handlers. A new group adds its layer here. */
const HandlersLive = Layer.mergeAll(
  SystemHandlersLive,
  NodesHandlersLive,
  ClusterHandlersLive,
  SchedulerHandlersLive,
  ProjectsHandlersLive,
  WorkloadsHandlersLive
).pipe(
  Layer.provide(AuthorizationLive)
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

/** The HTTP listener on the configured host and port. */
const ListenerLive = Layer.unwrapEffect(
  Effect.map(DaemonConfig, ({ host, port }) => NodeHttpServer.layer(createServer, { host, port }))
)

const loopbackFor = (host: string) => host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host

/** Where the listener is bound (the real port when the config said 0). */
const BoundAddressLive = Layer.effect(
  ApiServer,
  Effect.gen(function*() {
    const { address } = yield* HttpServer.HttpServer
    const { host } = yield* DaemonConfig
    const port = address._tag === "TcpAddress" ? address.port : 0
    const dial = loopbackFor(host)
    return ApiServer.of({ host, port, url: `http://${dial.includes(":") ? `[${dial}]` : dial}:${port}` })
  })
)

/**
 * The REST API, serving until its scope closes. Needs DaemonConfig (host, port, mode), TokenVault,
 * NodeRegistry, NodeWorkloads, WorkerChannels, Events and Orchestrator; provides ApiServer (the bound address).
 */
export const ApiServerLive = Layer.mergeAll(
  HttpApiBuilder.serve(logRequests).pipe(Layer.provide(ErrorContractLive), Layer.provide(ApiLive)),
  BoundAddressLive
).pipe(Layer.provide(ListenerLive))
