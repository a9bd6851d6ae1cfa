// The one place where the cluster protocol's protobuf types (src/generated) meet the domain's: the
// ClusterServer and WorkerAgent translate with these at the gRPC edge, so no port speaks the wire.
// Where the shapes are one, the value passes as it is (no copy, no decoding: a master reads every
// ping of every worker), and the compiler proves the two types agree (WireAgrees below).
import { isIPv4, isIPv6 } from "node:net"
import type { DnsDelta, DnsRecord, DnsSnapshot } from "../../../domain/dns/Records.js"
import type { NodeId, NodeResources } from "../../../domain/Node.js"
import type { LogChunk, LogRequest } from "../../../domain/LogRequest.js"
import type { MasterMessage } from "../../../domain/MasterMessage.js"
import type { Assignment, PodAssignment } from "../../../domain/PodAssignment.js"
import type { PodEvent, PodReport } from "../../../domain/PodReport.js"
import type { PodId } from "../../../domain/Workload.js"
import type * as wire from "../../../generated/cluster.js"

type Assignable<A, B> = [A] extends [B] ? true : false
type Both<A, B> = Assignable<A, B> extends true ? Assignable<B, A> : false
type Holds<T extends true> = T

/**
 * Compiles only while the generated types and the domain's agree: both ways where values pass as
 * they are; from the wire only where the domain's arrays are read-only (those are copied to the wire).
 */
export type WireAgrees = [
  Holds<Both<PodReport, wire.PodStatus>>,
  Holds<Both<PodEvent, wire.PodEvent>>,
  Holds<Both<LogRequest, wire.LogRequest>>,
  Holds<Assignable<wire.Assignment, Assignment>>,
  Holds<Assignable<wire.LogChunk, LogChunk>>
]

const podAssignment = (p: PodAssignment): wire.PodAssignment => ({
  podId: p.podId,
  containerName: p.containerName,
  project: p.project,
  deployment: p.deployment,
  replicaIndex: p.replicaIndex,
  image: p.image,
  command: [...p.command],
  env: p.env,
  ports: [...p.ports],
  publishPorts: p.publishPorts,
  volumes: p.volumes.map((v) => ({ name: v.name, hostPath: v.hostPath, mount: v.mount, readonly: v.readonly })),
  cpu: p.cpu,
  memoryBytes: p.memoryBytes,
  restartPolicy: p.restartPolicy,
  ...(p.healthcheck === undefined ? {} : { healthcheck: { ...p.healthcheck, command: [...p.healthcheck.command] } })
})

const assignment = (a: Assignment): wire.Assignment => ({ generation: a.generation, pods: a.pods.map(podAssignment) })

const dnsRecordToWire = (r: DnsRecord): wire.DnsRecord => ({
  podId: r.podId,
  project: r.project,
  deployment: r.deployment,
  replicaIndex: r.replicaIndex,
  nodeId: r.nodeId,
  nodeName: r.nodeName,
  ipv4: r.ipv4,
  ipv6: r.ipv6 ?? "",
  ready: r.ready
})

/**
 * A record from the (authenticated) master, as the domain holds it: undefined for one without a
 * usable IPv4 address, which no resolver could answer anyway (a newer master's record, a bug).
 */
const dnsRecordFromWire = (r: wire.DnsRecord): DnsRecord | undefined => {
  if (!isIPv4(r.ipv4) || r.podId === "") return undefined
  return {
    podId: r.podId as PodId,
    project: r.project,
    deployment: r.deployment,
    replicaIndex: r.replicaIndex,
    nodeId: r.nodeId as NodeId,
    nodeName: r.nodeName,
    ipv4: r.ipv4,
    ...(isIPv6(r.ipv6) ? { ipv6: r.ipv6 } : {}),
    ready: r.ready
  }
}

const dnsRecordsFromWire = (records: ReadonlyArray<wire.DnsRecord>): Array<DnsRecord> => {
  const out: Array<DnsRecord> = []
  for (const r of records) {
    const record = dnsRecordFromWire(r)
    if (record !== undefined) out.push(record)
  }
  return out
}

/** Domain to protobuf. */
export const toWire = {
  /** Whole bytes for the uint64 fields. */
  resources: (r: NodeResources): wire.Resources => ({
    cpuCores: r.cpuCores,
    memoryBytes: Math.round(r.memoryBytes),
    cpuAvailable: r.cpuAvailable,
    memoryAvailable: Math.round(r.memoryAvailable)
  }),

  /** A worker's heartbeat: its resources, its pods' reports and events. */
  ping: (ping: {
    readonly seq: number
    readonly resources: NodeResources
    readonly pods: ReadonlyArray<PodReport>
    readonly appliedGeneration: number
    readonly events: ReadonlyArray<PodEvent>
  }): wire.WorkerMessage => ({
    kind: {
      $case: "ping",
      value: {
        seq: ping.seq,
        resources: toWire.resources(ping.resources),
        pods: [...ping.pods],
        appliedGeneration: ping.appliedGeneration,
        events: [...ping.events]
      }
    }
  }),

  assignment,

  masterMessage: (m: MasterMessage): wire.MasterMessage => {
    switch (m._tag) {
      case "Assignment":
        return { kind: { $case: "assignment", value: assignment(m.assignment) } }
      case "LogRequest":
        return { kind: { $case: "logRequest", value: m.request } }
      case "Removed":
        return { kind: { $case: "removed", value: { reason: m.reason } } }
      case "Ack":
        return { kind: { $case: "ack", value: { seq: m.seq, serverTimeMs: m.serverTimeMs } } }
      case "DnsSnapshot":
        return { kind: { $case: "dnsSnapshot", value: toWire.dnsSnapshot(m.snapshot) } }
      case "DnsDelta":
        return { kind: { $case: "dnsDelta", value: toWire.dnsDelta(m.delta) } }
    }
  },

  dnsSnapshot: (s: DnsSnapshot): wire.DnsSnapshot => ({ revision: s.revision, records: s.records.map(dnsRecordToWire) }),

  dnsDelta: (d: DnsDelta): wire.DnsDelta => ({ revision: d.revision, upsert: d.upsert.map(dnsRecordToWire), remove: [...d.remove] }),

  /** The worker's DNS set missed a revision: it asks for a snapshot. */
  dnsResync: (revision: number): wire.WorkerMessage => ({ kind: { $case: "dnsResync", value: { revision } } }),

  /** The bytes as a Buffer over the same memory (what the generated encoder takes). */
  logChunk: (c: LogChunk): wire.LogChunk => ({
    requestId: c.requestId,
    data: Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength),
    eof: c.eof,
    error: c.error
  })
}

/** Protobuf to domain. */
export const fromWire = {
  /** As they are (proved above): this runs for every ping of every worker. */
  podReports: (pods: ReadonlyArray<wire.PodStatus>): ReadonlyArray<PodReport> => pods,
  podEvents: (events: ReadonlyArray<wire.PodEvent>): ReadonlyArray<PodEvent> => events,

  /** undefined: a message kind from a newer master, which this worker ignores. */
  masterMessage: (m: wire.MasterMessage): MasterMessage | undefined => {
    const kind = m.kind
    if (kind === undefined) return undefined
    switch (kind.$case) {
      case "assignment":
        return { _tag: "Assignment", assignment: kind.value }
      case "logRequest":
        return { _tag: "LogRequest", request: kind.value }
      case "removed":
        return { _tag: "Removed", reason: kind.value.reason }
      case "ack":
        return { _tag: "Ack", seq: kind.value.seq, serverTimeMs: kind.value.serverTimeMs }
      case "dnsSnapshot":
        return { _tag: "DnsSnapshot", snapshot: { revision: kind.value.revision, records: dnsRecordsFromWire(kind.value.records) } }
      case "dnsDelta": {
        const delta = kind.value
        // a delta's revision is at least 1; a 0 (a newer master's message, a bug) is dropped rather than misapplied
        if (delta.revision < 1) return undefined
        return {
          _tag: "DnsDelta",
          delta: { revision: delta.revision, upsert: dnsRecordsFromWire(delta.upsert), remove: delta.remove.map((id) => id as PodId) }
        }
      }
    }
  },

  /** The bytes as a plain Uint8Array over the same memory. */
  logChunk: (c: wire.LogChunk): LogChunk => ({
    requestId: c.requestId,
    data: new Uint8Array(c.data.buffer, c.data.byteOffset, c.data.byteLength),
    eof: c.eof,
    error: c.error
  })
}
