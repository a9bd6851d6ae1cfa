// The node-local DNS record set: one record per pod of the cluster, as the master pushes it (a full
// snapshot, then deltas in revision order), indexed for the resolver by name and by the asking pod's
// address. Pure data and functions: the resolver layer keeps the current set, the wiring feeds it.
import { isIPv4, isIPv6 } from "node:net"
import { Schema } from "effect"
import { NodeId } from "../Node.js"
import { type PodHealth, PodId, type PodRecord, type PodStatus } from "../Workload.js"

const Ipv4 = Schema.String.pipe(Schema.filter((s) => isIPv4(s) || `not an IPv4 address: ${s}`))
const Ipv6 = Schema.String.pipe(Schema.filter((s) => isIPv6(s) || `not an IPv6 address: ${s}`))

/** One pod as DNS knows it. `ready` decides whether its addresses are answered. */
export const DnsRecord = Schema.Struct({
  podId: PodId,
  project: Schema.String,
  deployment: Schema.String,
  /** the pod's stable replica index: `<deployment>-<replicaIndex>.<project>.internal` */
  replicaIndex: Schema.Int.pipe(Schema.nonNegative()),
  /** where the pod runs (what a reachability rule looks at, and how an asker is told apart) */
  nodeId: NodeId,
  nodeName: Schema.String,
  ipv4: Ipv4,
  ipv6: Schema.optionalWith(Ipv6, { exact: true }),
  /** Running and passing its health check, or Running without one */
  ready: Schema.Boolean
})
export type DnsRecord = typeof DnsRecord.Type

/** Everything, at one revision: replaces whatever the resolver held. */
export const DnsSnapshot = Schema.Struct({
  revision: Schema.Int.pipe(Schema.nonNegative()),
  records: Schema.Array(DnsRecord)
})
export type DnsSnapshot = typeof DnsSnapshot.Type

/**
 * The changes that take the set from `revision - 1` to `revision`: records to add or replace (by pod
 * id) and pod ids to remove. Applied strictly in order; see `applyDelta`.
 */
export const DnsDelta = Schema.Struct({
  revision: Schema.Int.pipe(Schema.positive()),
  upsert: Schema.Array(DnsRecord),
  remove: Schema.Array(PodId)
})
export type DnsDelta = typeof DnsDelta.Type

/** The record set with the indexes the resolver reads (all keys lowercase). */
export interface RecordSet {
  readonly revision: number
  /** every record, by pod id */
  readonly pods: ReadonlyMap<PodId, DnsRecord>
  /** `<deployment>.<project>` → that deployment's records, by replica index (then pod id) */
  readonly deployments: ReadonlyMap<string, ReadonlyArray<DnsRecord>>
  /** projects with at least one record */
  readonly projects: ReadonlySet<string>
  /** an IPv4 or IPv6 address → the records that hold it (ready or not: a starting pod asks too) */
  readonly byAddress: ReadonlyMap<string, ReadonlyArray<DnsRecord>>
}

/** `<deployment>.<project>`, lowercase: the key of `RecordSet.deployments`. */
export const deploymentKey = (project: string, deployment: string): string =>
  `${deployment.toLowerCase()}.${project.toLowerCase()}`

/**
 * The address as the index keys it: lowercase, no IPv6 zone, and an IPv4-mapped IPv6 address
 * (`::ffff:10.0.0.2`, what a dual-stack socket reports) as the plain IPv4 address.
 */
export const normalizeAddress = (address: string): string => {
  const lower = address.toLowerCase()
  const unzoned = lower.includes("%") ? lower.slice(0, lower.indexOf("%")) : lower
  if (unzoned.startsWith("::ffff:")) {
    const tail = unzoned.slice(7)
    if (isIPv4(tail)) return tail
  }
  return unzoned
}

const byReplica = (a: DnsRecord, b: DnsRecord) =>
  a.replicaIndex - b.replicaIndex || (a.podId < b.podId ? -1 : a.podId > b.podId ? 1 : 0)

const push = <K, V>(map: Map<K, Array<V>>, key: K, value: V) => {
  const list = map.get(key)
  if (list === undefined) map.set(key, [value])
  else list.push(value)
}

const indexed = (revision: number, pods: ReadonlyMap<PodId, DnsRecord>): RecordSet => {
  const deployments = new Map<string, Array<DnsRecord>>()
  const projects = new Set<string>()
  const byAddress = new Map<string, Array<DnsRecord>>()
  for (const record of pods.values()) {
    push(deployments, deploymentKey(record.project, record.deployment), record)
    projects.add(record.project.toLowerCase())
    push(byAddress, normalizeAddress(record.ipv4), record)
    if (record.ipv6 !== undefined) push(byAddress, normalizeAddress(record.ipv6), record)
  }
  for (const list of deployments.values()) list.sort(byReplica)
  return { revision, pods, deployments, projects, byAddress }
}

/** Nothing yet (revision 0): every `.internal` name is NXDOMAIN until the first snapshot. */
export const empty: RecordSet = indexed(0, new Map())

/** The set a snapshot describes (a pod id given twice: the later record wins). */
export const fromSnapshot = (snapshot: DnsSnapshot): RecordSet =>
  indexed(snapshot.revision, new Map(snapshot.records.map((record) => [record.podId, record])))

/** The set as a snapshot again (records by pod id), e.g. to hand to a resolver started later. */
export const toSnapshot = (set: RecordSet): DnsSnapshot => ({
  revision: set.revision,
  records: Array.from(set.pods.values()).sort((a, b) => (a.podId < b.podId ? -1 : a.podId > b.podId ? 1 : 0))
})

/**
 * What a delta did:
 * - `Applied`: it was the next revision; `set` is the new set;
 * - `Stale`: the set already is at or past that revision (a re-delivery): nothing changed;
 * - `Gap`: revisions were missed in between; nothing changed, and the holder should ask for a snapshot.
 */
export type DeltaOutcome =
  | { readonly _tag: "Applied"; readonly set: RecordSet }
  | { readonly _tag: "Stale"; readonly set: RecordSet }
  | { readonly _tag: "Gap"; readonly set: RecordSet; readonly expected: number; readonly received: number }

/** Apply `delta` if it is exactly the next revision: removals first, then upserts (by pod id). */
export const applyDelta = (set: RecordSet, delta: DnsDelta): DeltaOutcome => {
  if (delta.revision <= set.revision) return { _tag: "Stale", set }
  if (delta.revision !== set.revision + 1) {
    return { _tag: "Gap", set, expected: set.revision + 1, received: delta.revision }
  }
  const pods = new Map(set.pods)
  for (const podId of delta.remove) pods.delete(podId)
  for (const record of delta.upsert) pods.set(record.podId, record)
  return { _tag: "Applied", set: indexed(delta.revision, pods) }
}

const sameRecord = (a: DnsRecord, b: DnsRecord) =>
  a.project === b.project && a.deployment === b.deployment && a.replicaIndex === b.replicaIndex && a.nodeId === b.nodeId &&
  a.nodeName === b.nodeName && a.ipv4 === b.ipv4 && a.ipv6 === b.ipv6 && a.ready === b.ready

/**
 * The delta that takes `before` to the records `after` holds (what a master pushes after each change
 * of its pods), at revision `before.revision + 1`; undefined when nothing changed.
 */
export const deltaBetween = (before: RecordSet, after: Iterable<DnsRecord>): DnsDelta | undefined => {
  const next = new Map<PodId, DnsRecord>()
  for (const record of after) next.set(record.podId, record)
  const upsert: Array<DnsRecord> = []
  const remove: Array<PodId> = []
  for (const podId of before.pods.keys()) if (!next.has(podId)) remove.push(podId)
  for (const record of next.values()) {
    const old = before.pods.get(record.podId)
    if (old === undefined || !sameRecord(old, record)) upsert.push(record)
  }
  return upsert.length === 0 && remove.length === 0 ? undefined : { revision: before.revision + 1, upsert, remove }
}

/** Ready for DNS: Running and passing its health check, or Running without a probe. */
export const podReady = (status: PodStatus, health: PodHealth | undefined): boolean =>
  status === "running" && (health === undefined || health === "healthy")

/**
 * A pod's record, from what the orchestrator keeps: none while the pod has no node or no container
 * IP (DNS knows a pod once its container has an address).
 */
export const recordOfPod = (
  pod: Pick<PodRecord, "id" | "project" | "deploymentName" | "replicaIndex" | "nodeId" | "containerIp" | "status" | "health">,
  nodeName: string,
  ipv6?: string
): DnsRecord | undefined => {
  if (pod.nodeId === null || pod.containerIp === null || !isIPv4(pod.containerIp)) return undefined
  return {
    podId: pod.id,
    project: pod.project,
    deployment: pod.deploymentName,
    replicaIndex: pod.replicaIndex,
    nodeId: pod.nodeId,
    nodeName,
    ipv4: pod.containerIp,
    ...(ipv6 !== undefined && isIPv6(ipv6) ? { ipv6 } : {}),
    ready: podReady(pod.status, pod.health)
  }
}
