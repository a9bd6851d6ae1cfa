// A worker's only HTTP: GET /health and GET /metrics on --host:--metrics-port, plain HTTP, public routes
// only (never the REST API, which lives on the master). Anything else is 404 {"error":"not found"}.
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServer from "@effect/platform/HttpServer"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Layer, Schema } from "effect"
import { createServer } from "node:http"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { DnsResolver } from "../../services/dns/DnsResolver.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { PROMETHEUS_CONTENT_TYPE } from "../../services/observability/Metrics.js"
import { WorkerMetrics } from "../../services/observability/WorkerMetrics.js"
import { dnsSampleOf } from "./PromKit.js"

/** The metrics port could not be bound (in use, no permission): the worker refuses to start. */
export class WorkerHttpListenError extends Schema.TaggedError<WorkerHttpListenError>()("WorkerHttpListenError", {
  message: Schema.String
}) {}

const errorBody = (status: number, error: string) => HttpServerResponse.unsafeJson({ error }, { status })

const scrape = Effect.gen(function*() {
  const metrics = yield* WorkerMetrics
  const pods = yield* (yield* LocalWorkload).statuses
  const dns = yield* dnsSampleOf(yield* Effect.serviceOption(DnsResolver))
  return HttpServerResponse.text(yield* metrics.render(pods, dns), { contentType: PROMETHEUS_CONTENT_TYPE })
})

/** The routes; exported for tests that run it without a socket. */
export const workerHttpApp = HttpRouter.empty.pipe(
  HttpRouter.get("/health", Effect.succeed(HttpServerResponse.unsafeJson({ status: "ok" }))),
  HttpRouter.get("/metrics", scrape),
  Effect.catchTag("RouteNotFound", () => Effect.succeed(errorBody(404, "not found"))),
  // a bug must not leak a stack trace to a scraper: log it, answer a bare 500
  Effect.catchAllCause((cause) =>
    Effect.zipRight(Effect.logError("worker HTTP request failed", cause), Effect.succeed(errorBody(500, "internal server error"))))
)

const loopbackFor = (host: string) => host === "0.0.0.0" ? "127.0.0.1" : host === "::" ? "::1" : host
const urlHost = (host: string) => host.includes(":") ? `[${host}]` : host

/**
 * Serve /health and /metrics on --host:--metrics-port until the scope closes; logs and returns the URL
 * (the real port when --metrics-port is 0).
 */
export const serveWorkerHttp = Effect.gen(function*() {
  const config = yield* DaemonConfig
  const host = config.host
  const metricsPort = config.metricsPort
  const listener = yield* Layer.build(NodeHttpServer.layer(createServer, { host, port: metricsPort })).pipe(
    Effect.mapError((e) =>
      new WorkerHttpListenError({
        message: `cannot serve worker metrics on ${host}:${metricsPort}: ${e.cause instanceof Error ? e.cause.message : String(e.cause)} (choose another --metrics-port, or 0 for any free one)`
      })
    )
  )
  yield* HttpServer.serveEffect(workerHttpApp).pipe(Effect.provide(listener))
  const { address } = Context.get(listener, HttpServer.HttpServer)
  const port = address._tag === "TcpAddress" ? address.port : metricsPort
  const url = `http://${urlHost(loopbackFor(host))}:${port}`
  yield* Effect.logInfo(`worker metrics on ${url}/metrics (health on ${url}/health)`)
  return url
})
