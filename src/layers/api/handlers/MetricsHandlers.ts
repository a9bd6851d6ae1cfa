// Handler of GET /metrics: sample the cluster state for the gauges, then render every metric.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Clock, Effect } from "effect"
import type { NodeRecord } from "../../../domain/Node.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { type ClusterSample, Metrics, type NodeGaugeStatus } from "../../../services/observability/Metrics.js"
import { NodeRegistry } from "../../../services/cluster/NodeRegistry.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"
import { DnsResolver } from "../../../services/dns/DnsResolver.js"
import { dnsSampleOf } from "../../observability/PromKit.js"

/** The gauge's status: a drain wins (as in `helyos nodes`), but dead stays apart from notready. */
const gaugeStatus = (node: NodeRecord): NodeGaugeStatus =>
  node.schedulable === "draining"
    ? "draining"
    : node.liveness === "Ready"
    ? "ready"
    : node.liveness === "NotReady"
    ? "notready"
    : "dead"

export const layer = HttpApiBuilder.group(HelyosApi, "metrics", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* NodeRegistry
    const orchestrator = yield* Orchestrator
    const metrics = yield* Metrics
    // this daemon's resolver, when it runs one (--dns-mode embedded)
    const resolver = yield* Effect.serviceOption(DnsResolver)

    const sample = Effect.gen(function*() {
      const nowMs = yield* Clock.currentTimeMillis
      const nodes = yield* registry.list
      return {
        nodes: nodes.map((node) => ({
          name: node.name,
          status: gaugeStatus(node),
          // only workers heartbeat: a master's age would only count its uptime
          heartbeatAgeSeconds: node.role === "Worker" ? (nowMs - node.lastHeartbeatMs) / 1000 : undefined
        })),
        pods: yield* orchestrator.pods(),
        deployments: (yield* orchestrator.deployments()).length,
        dns: yield* dnsSampleOf(resolver)
      } satisfies ClusterSample
    })

    return handlers.handle("scrape", () => Effect.flatMap(sample, metrics.render))
  })
)
