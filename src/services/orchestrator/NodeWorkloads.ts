// Master side: what the ClusterServer asks of the orchestrator for one node.
// The control-plane alone uses `NodeWorkloads.layerNoop` (no pods anywhere); the orchestrator implements it for real.
import { Context, Effect, Layer, Option } from "effect"
import type { DnsSnapshot } from "../../domain/dns/Records.js"
import type { NodeId } from "../../domain/Node.js"
import type { LogChunk } from "../../domain/LogRequest.js"
import type { Assignment } from "../../domain/PodAssignment.js"
import type { PodEvent, PodReport } from "../../domain/PodReport.js"

export class NodeWorkloads extends Context.Tag("helyos/NodeWorkloads")<NodeWorkloads, {
  /** The node's full desired pod set, sent on every stream open. */
  readonly desired: (id: NodeId) => Effect.Effect<Assignment>
  /** Pod statuses a worker reported with a ping, and what happened to its pods since the last one. */
  readonly report: (
    id: NodeId,
    pods: ReadonlyArray<PodReport>,
    appliedGeneration: number,
    events: ReadonlyArray<PodEvent>
  ) => Effect.Effect<void>
  /** A chunk of logs a worker pushed for an open log request. */
  readonly logChunk: (id: NodeId, chunk: LogChunk) => Effect.Effect<void>
  /** How many pods each node holds (the PODS column of `helyos nodes`). */
  readonly podCounts: Effect.Effect<ReadonlyMap<NodeId, number>>
  /**
   * The cluster's DNS records now, sent to a worker right after its stream's first assignment (and
   * when it asks again); the deltas that follow go through WorkerChannels. None: DNS is off.
   */
  readonly dnsSnapshot: Effect.Effect<Option.Option<DnsSnapshot>>
}>() {
  /** No workloads: every node is told to run nothing. */
  static readonly layerNoop = Layer.succeed(NodeWorkloads, NodeWorkloads.of({
    desired: () => Effect.succeed({ generation: 0, pods: [] }),
    report: () => Effect.void,
    logChunk: () => Effect.void,
    podCounts: Effect.succeed(new Map()),
    dnsSnapshot: Effect.succeed(Option.none())
  }))
}
