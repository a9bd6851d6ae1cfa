// Counts and times every answered API request by method, ROUTE TEMPLATE and status. The template
// (`/api/v1/nodes/:name`, never the raw path) keeps the label set bounded whatever clients send.
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import { Clock, Duration, Effect, Exit } from "effect"
import { Metrics } from "../../services/observability/Metrics.js"

/** The label of a request no route matched (404s of arbitrary paths). */
export const UNMATCHED_ROUTE = "unmatched"

/**
 * HttpRouter records the route it matched as the OpenTelemetry attribute `http.route` on the
 * request's parent span; the request runs under a span of ours, which is read when it is answered.
 */
const ROUTE_ATTRIBUTE = "http.route"

export const observeRequests = (app: HttpApp.Default): HttpApp.Default =>
  Effect.gen(function*() {
    const metrics = yield* Metrics
    const { method } = yield* HttpServerRequest.HttpServerRequest
    const startNs = yield* Clock.currentTimeNanos
    return yield* Effect.useSpan("helyos.http.request", { kind: "server" }, (span) =>
      Effect.withParentSpan(app, span).pipe(
        Effect.onExit((exit) =>
          Effect.flatMap(Clock.currentTimeNanos, (endNs) => {
            const route = span.attributes.get(ROUTE_ATTRIBUTE)
            return metrics.observeHttp({
              method,
              path: typeof route === "string" ? route : UNMATCHED_ROUTE,
              // a failure that reached this far is answered as the server would answer it
              status: Exit.isSuccess(exit) ? exit.value.status : HttpServerError.exitResponse(exit).status,
              duration: Duration.nanos(endNs - startNs)
            })
          })
        )
      ))
  })
