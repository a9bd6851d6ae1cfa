// Node changes into the cluster's event stream. The registry makes a NotReady or dead node Ready again
// on its next heartbeat without publishing anything, so recoveries are looked for and announced once.
import { Effect } from "effect"
import { ClusterEvent } from "../../domain/ClusterEvent.js"
import type { NodeId } from "../../domain/Node.js"
import type { EventLog } from "../../services/observability/EventLog.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"

/** A node event's action and message in the cluster's event stream. */
export const nodeEventText = (event: ClusterEvent): readonly [string, string] => {
  switch (event._tag) {
    case "NodeJoined":
      return ["joined", "node joined the cluster"]
    case "NodeReady":
      return ["ready", "node is Ready"]
    case "NodeNotReady":
      return ["notready", "node missed its heartbeats: NotReady"]
    case "NodeDead":
      return ["dead", "node silent past the dead-after limit: its pods are rescheduled"]
    case "NodeRemoved":
      return ["removed", "node removed from the cluster"]
    case "NodeDrainChanged":
      return event.draining ? ["drained", "node drained: no new pods"] : ["undrained", "node schedulable again"]
  }
}

export const makeNodeEvents = (registry: NodeRegistry["Type"], eventLog: EventLog["Type"]) => {
  /** Nodes announced NotReady or dead and not yet seen Ready again. */
  const unready = new Set<NodeId>()

  /** A node's change of state, into the cluster's event stream. */
  const record = (event: ClusterEvent) => {
    if (event._tag === "NodeNotReady" || event._tag === "NodeDead") unready.add(event.nodeId)
    if (event._tag === "NodeRemoved") unready.delete(event.nodeId)
    const [action, message] = nodeEventText(event)
    return eventLog.record({ kind: "node", name: event.name, action, message })
  }

  /** Announce, once, each unready node that is Ready again (run from the reconcile loop). */
  const announceRecoveries = Effect.gen(function*() {
    if (unready.size === 0) return
    const nodes = new Map((yield* registry.list).map((n) => [n.id, n]))
    for (const id of unready) {
      const node = nodes.get(id)
      if (node !== undefined && node.liveness !== "Ready") continue
      unready.delete(id)
      if (node !== undefined) yield* record(ClusterEvent.NodeReady({ nodeId: id, name: node.name }))
    }
  })

  return { record, announceRecoveries }
}
