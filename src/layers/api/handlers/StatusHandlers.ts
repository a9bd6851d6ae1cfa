// Handler of GET /api/v1/status: count nodes, projects, deployments and pods by status.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { summarizeCluster } from "../../../domain/ClusterStatus.js"
import { nodeStatus } from "../../../domain/Node.js"
import { DaemonConfig } from "../../../services/DaemonConfig.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { NodeRegistry } from "../../../services/cluster/NodeRegistry.js"
import { Orchestrator } from "../../../services/orchestrator/Orchestrator.js"

export const layer = HttpApiBuilder.group(HelyosApi, "status", (handlers) =>
  Effect.gen(function*() {
    const { mode } = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const orchestrator = yield* Orchestrator

    return handlers.handle("summary", () =>
      Effect.gen(function*() {
        const nodes = yield* registry.list
        return summarizeCluster({
          mode,
          nodes: nodes.map((node) => ({ status: nodeStatus(node) })),
          projects: (yield* orchestrator.projects).length,
          deployments: yield* orchestrator.deployments(),
          pods: yield* orchestrator.pods()
        })
      }))
  })
)
