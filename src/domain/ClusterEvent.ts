// Things that happen in the cluster, published in-process (monitor -> orchestrator, logs, SSE).
import { Data } from "effect"
import type { NodeId } from "./Node.js"

export type ClusterEvent = Data.TaggedEnum<{
  /** A worker stayed silent past dead-after: its pods must move. Published exactly once per death. */
  NodeDead: { readonly nodeId: NodeId; readonly name: string }
  NodeNotReady: { readonly nodeId: NodeId; readonly name: string }
  NodeReady: { readonly nodeId: NodeId; readonly name: string }
  NodeJoined: { readonly nodeId: NodeId; readonly name: string }
  NodeRemoved: { readonly nodeId: NodeId; readonly name: string }
  NodeDrainChanged: { readonly nodeId: NodeId; readonly name: string; readonly draining: boolean }
}>

export const ClusterEvent = Data.taggedEnum<ClusterEvent>()
