// GET /metrics: Prometheus text for scrapers. Public (no token), like /health.
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema } from "@effect/platform"
import { PROMETHEUS_CONTENT_TYPE } from "../observability/Metrics.js"

export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("scrape", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: PROMETHEUS_CONTENT_TYPE }))
  )
{}
