// A node's own pods over the master's record set. The master learns a worker's pod states only with
// its heartbeats (every 5 s by default), but the node itself knows them as they change: its resolver
// answers from the pushed set with every local pod replaced by its live state. A local pod that
// stopped, was scaled away or failed its probe drops at once; one that became ready appears at once
// (even before the master has heard of its address); a pod the master still places here but this
// node no longer runs is gone. Pure: the layer polls the pod runtime and feeds this.
import { isIPv4 } from "node:net"
import type { NodeId } from "../Node.js"
import type { PodAssignment } from "../PodAssignment.js"
import type { PodReport } from "../PodReport.js"
import { type PodHealth, PodId } from "../Workload.js"
import { type DnsRecord, podReady, type RecordSet } from "./Records.js"

/** The node the overlay runs on. */
export interface OverlaySelf {
  readonly id: NodeId
  readonly name: string
}

/** One pod of this node's current assignment with its state now (LocalWorkload.assigned). */
export interface LocalPod {
  readonly pod: Pick<PodAssignment, "podId" | "project" | "deployment" | "replicaIndex">
  readonly report: Pick<PodReport, "status" | "containerIp" | "health">
}

const healthOf = (health: string): PodHealth | undefined =>
  health === "healthy" || health === "unhealthy" || health === "starting" ? health : undefined

/** A local pod's record from its live state: none unless it runs with an IPv4 address. */
export const localRecord = (local: LocalPod, self: OverlaySelf): DnsRecord | undefined => {
  const { pod, report } = local
  if (report.status !== "running" || !isIPv4(report.containerIp)) return undefined
  return {
    podId: PodId.make(pod.podId),
    project: pod.project,
    deployment: pod.deployment,
    replicaIndex: pod.replicaIndex,
    nodeId: self.id,
    nodeName: self.name,
    ipv4: report.containerIp,
    ready: podReady("running", healthOf(report.health))
  }
}

/** This node's records from its live pods (what the overlay puts over the pushed set). */
export const localRecords = (pods: ReadonlyArray<LocalPod>, self: OverlaySelf): ReadonlyArray<DnsRecord> => {
  const records: Array<DnsRecord> = []
  for (const local of pods) {
    const record = localRecord(local, self)
    if (record !== undefined) records.push(record)
  }
  return records
}

/**
 * The records a node answers from: the pushed set without this node's pods and without any pod this
 * node runs now (a pod moved here: the live state wins), plus this node's live records. Without
 * knowing which node this is (a worker before its first registration), the pushed set as it is.
 */
export const overlay = (
  pushed: RecordSet,
  self: OverlaySelf | undefined,
  pods: ReadonlyArray<LocalPod>
): ReadonlyArray<DnsRecord> => {
  if (self === undefined) return Array.from(pushed.pods.values())
  const mine = new Set<string>(pods.map((p) => p.pod.podId))
  const records: Array<DnsRecord> = []
  for (const record of pushed.pods.values()) {
    if (record.nodeId === self.id || mine.has(record.podId)) continue
    records.push(record)
  }
  for (const record of localRecords(pods, self)) records.push(record)
  return records
}

/** A key of the local records: the overlay is rebuilt only when it (or the pushed set) changed. */
export const localKey = (records: ReadonlyArray<DnsRecord>): string =>
  records.map((r) => `${r.podId}|${r.project}|${r.deployment}|${r.replicaIndex}|${r.ipv4}|${r.ready ? 1 : 0}`).sort().join(",")
