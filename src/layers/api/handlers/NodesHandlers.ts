// Handlers of /api/v1/nodes: list, stats, drain, undrain, remove. Thin: the registry holds the rules of state,
// the only rule kept here is the operator's guard on removal (drained first, never the master).
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { Effect } from "effect"
import { ClusterEvent } from "../../../domain/ClusterEvent.js"
import { NodeNotDrained } from "../../../domain/Errors.js"
import { type NodeRecord, type Schedulable, nodeStatus } from "../../../domain/Node.js"
import { Events } from "../../../services/observability/Events.js"
import { MasterNotRemovable, nodeStats, NodeView } from "../../../services/api/NodesApi.js"
import { DaemonConfig } from "../../../services/DaemonConfig.js"
import { HelyosApi } from "../../../services/api/HelyosApi.js"
import { HostInfo } from "../../../services/workload/HostInfo.js"
import { NodeRegistry } from "../../../services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../../services/orchestrator/NodeWorkloads.js"
import { WorkerChannels } from "../../../services/cluster/WorkerChannels.js"

/** What a worker is told when an operator removes it. */
export const REMOVED_REASON = "removed by an operator"

export const layer = HttpApiBuilder.group(HelyosApi, "nodes", (handlers) =>
  Effect.gen(function*() {
    const registry = yield* NodeRegistry
    const workloads = yield* NodeWorkloads
    const channels = yield* WorkerChannels
    const events = yield* Events
    const host = yield* HostInfo
    const { nodeName } = yield* DaemonConfig

    const view = (node: NodeRecord) =>
      Effect.map(workloads.podCounts, (counts) => NodeView.fromRecord(node, counts.get(node.id) ?? 0))

    /** Drain or undrain; the event is published only when the intent actually changes. */
    const setSchedulable = (name: string, schedulable: Schedulable) =>
      Effect.gen(function*() {
        const before = yield* registry.findByName(name)
        if (before.schedulable === schedulable) return yield* view(before)
        const node = yield* registry.setSchedulable(name, schedulable)
        yield* events.publish(
          ClusterEvent.NodeDrainChanged({ nodeId: node.id, name: node.name, draining: schedulable === "draining" })
        )
        return yield* view(node)
      })

    return handlers
      .handle("list", () =>
        Effect.gen(function*() {
          const nodes = yield* registry.list
          const counts = yield* workloads.podCounts
          return nodes.map((node) => NodeView.fromRecord(node, counts.get(node.id) ?? 0))
        }))
      .handle("stats", () =>
        Effect.gen(function*() {
          const nodes = yield* registry.list
          const counts = yield* workloads.podCounts
          // this host is sampled now; every other node as of its last heartbeat
          const own = nodes.some((n) => n.name === nodeName) ? yield* host.resources : undefined
          return nodes.map((node) =>
            nodeStats(node, node.name === nodeName && own !== undefined ? own : node.resources, counts.get(node.id) ?? 0)
          )
        }))
      .handle("drain", ({ path }) => setSchedulable(path.name, "draining"))
      .handle("undrain", ({ path }) => setSchedulable(path.name, "active"))
      .handle("remove", ({ path, urlParams }) =>
        Effect.gen(function*() {
          const node = yield* registry.findByName(path.name)
          if (node.role === "Master") return yield* new MasterNotRemovable({ name: node.name })
          const status = nodeStatus(node)
          if (status !== "Draining" && !urlParams.force) return yield* new NodeNotDrained({ name: node.name, status })
          const removed = yield* registry.remove(node.name)
          // removed first, so the worker's reconnect is refused; then it is told and exits
          yield* channels.evict(removed.id, REMOVED_REASON)
          yield* events.publish(ClusterEvent.NodeRemoved({ nodeId: removed.id, name: removed.name }))
        }))
  })
)
