// The master's DNS records (--dns-mode embedded), derived from its pod table, the source of truth:
// one record per pod that should run, runs and has a container IP; `ready` when it passes its health
// check or has none. After every reconcile pass and node report the set is derived again (only when
// the pod table may have changed); a changed set is the next revision, handed to this node's own
// resolver and pushed as a delta to every connected worker. A worker's stream opens with a snapshot
// (NodeWorkloads.dnsSnapshot) and then carries the deltas, in revision order, on the same outbox.
import { Effect, Option } from "effect"
import {
  applyDelta,
  type DnsRecord,
  type DnsSnapshot,
  deltaBetween,
  empty,
  type RecordSet,
  recordOfPod,
  toSnapshot
} from "../../domain/dns/Records.js"
import type { NodeId, NodeRecord } from "../../domain/Node.js"
import type { WorkerChannels } from "../../services/cluster/WorkerChannels.js"
import type { DaemonConfigShape } from "../../services/DaemonConfig.js"
import type { NodeDnsShape } from "../../services/dns/NodeDns.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import type { PodRow, Store } from "./Store.js"

/** The records of the pods: those that should run, run and have an IPv4 container address. */
export const recordsOfPods = (
  pods: ReadonlyArray<Pick<PodRow, "id" | "project" | "deploymentName" | "replicaIndex" | "nodeId" | "containerIp" | "status" | "health" | "desired">>,
  nodeNames: ReadonlyMap<NodeId, string>
): ReadonlyArray<DnsRecord> => {
  const records: Array<DnsRecord> = []
  for (const pod of pods) {
    if (pod.desired !== "run" || pod.status !== "running" || pod.nodeId === null) continue
    const { health, ...rest } = pod
    const record = recordOfPod(health === null ? rest : { ...rest, health }, nodeNames.get(pod.nodeId) ?? "")
    if (record !== undefined) records.push(record)
  }
  return records
}

export interface DnsPublisherDeps {
  readonly config: DaemonConfigShape
  readonly store: Store
  readonly registry: NodeRegistry["Type"]
  readonly channels: WorkerChannels["Type"]
  /** this node's own resolver */
  readonly nodeDns: NodeDnsShape
}

export const makeDnsPublisher = (deps: DnsPublisherDeps) =>
  Effect.gen(function*() {
    const { channels, config, nodeDns, registry, store } = deps
    const enabled = config.dnsMode === "embedded"
    let published: RecordSet = empty
    // the store's pod-write counter the set was last derived at (the same count: the same pods)
    let derivedAt: number | undefined
    let self: NodeRecord | undefined
    // one publication at a time, and a snapshot never between a new revision and its pushes
    const lock = (yield* Effect.makeSemaphore(1)).withPermits(1)

    const nodeNames = (nodes: ReadonlyArray<NodeRecord>) => new Map(nodes.map((n) => [n.id, n.name]))

    /** Derive the set again if the pods may have changed; push a changed set as the next revision. */
    const publish: Effect.Effect<void> = !enabled ? Effect.void : lock(Effect.gen(function*() {
      const writes = yield* store.podWrites
      if (writes === derivedAt && self !== undefined) return
      const nodes = yield* registry.list
      if (self === undefined) {
        // the master's own node (registered at start): its pods are local to its own resolver
        self = nodes.find((n) => n.name === config.nodeName)
        if (self !== undefined) yield* nodeDns.identify({ id: self.id, name: self.name })
      }
      if (writes === derivedAt) return
      const pods = yield* store.pods
      derivedAt = writes
      const delta = deltaBetween(published, recordsOfPods(pods, nodeNames(nodes)))
      if (delta === undefined) return
      const outcome = applyDelta(published, delta)
      if (outcome._tag !== "Applied") return
      published = outcome.set
      yield* nodeDns.applyDelta(delta).pipe(
        // never on the master (it is its own source), but then the whole set puts it right
        Effect.catchTag("DnsRevisionGap", () => nodeDns.replace(toSnapshot(published)))
      )
      // the workers connected now get it on their outbox; one that connects later starts from a snapshot
      for (const id of yield* channels.connected) {
        if (id !== self?.id) yield* channels.send(id, { _tag: "DnsDelta", delta })
      }
      yield* Effect.logDebug(
        `DNS revision ${delta.revision}: ${published.pods.size} record(s) (${delta.upsert.length} changed, ${delta.remove.length} removed)`
      )
    }))

    /** The set now, for a stream that opens (none when DNS is off). */
    const snapshot: Effect.Effect<Option.Option<DnsSnapshot>> = !enabled
      ? Effect.succeed(Option.none())
      : lock(Effect.sync(() => Option.some(toSnapshot(published))))

    return { publish, snapshot, enabled } as const
  })

export type DnsPublisher = Effect.Effect.Success<ReturnType<typeof makeDnsPublisher>>
