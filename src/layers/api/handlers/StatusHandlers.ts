// Handler of GET /api/v1/status: count nodes, projects, deployments and pods by status.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect, Option } from "effect"
import { DNS_OFF, type DnsStatus, summarizeCluster } from "../../../domain/ClusterStatus.js"
import { formatHostPort } from "../../../domain/dns/Upstreams.js"
import { nodeStatus } from "../../../domain/Node.js"
import { DaemonConfig } from "../../../services/DaemonConfig.js"
import { DnsResolver } from "../../../services/dns/DnsResolver.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { NodeRegistry } from "../../../services/cluster/NodeRegistry.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"

export const layer = HttpApiBuilder.group(HelyosApi, "status", (handlers) =>
  Effect.gen(function*() {
    const { mode } = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const orchestrator = yield* Orchestrator
    const resolver = yield* Effect.serviceOption(DnsResolver)

    /** This daemon's resolver: where it answers and the set it answers from. */
    const dns: Effect.Effect<DnsStatus> = Option.match(Option.flatMap(resolver, (r) => Option.map(r.endpoint, (e) => [r, e] as const)), {
      onNone: () => Effect.succeed(DNS_OFF),
      onSome: ([r, endpoint]) =>
        Effect.map(r.records, (set): DnsStatus => ({
          mode: "embedded",
          listen: formatHostPort(endpoint),
          records: set.pods.size,
          revision: set.revision
        }))
    })

    return handlers.handle("summary", () =>
      Effect.gen(function*() {
        const nodes = yield* registry.list
        return summarizeCluster({
          mode,
          nodes: nodes.map((node) => ({ status: nodeStatus(node) })),
          projects: (yield* orchestrator.projects).length,
          deployments: yield* orchestrator.deployments(),
          pods: yield* orchestrator.pods(),
          dns: yield* dns
        })
      }))
  })
)
