// The one place where the cluster protocol's protobuf types (src/generated) meet the domain's: the
// ClusterServer and WorkerAgent translate with these at the gRPC edge, so no port speaks the wire.
// Where the shapes are one, the value passes as it is (no copy, no decoding: a master reads every
// ping of every worker), and the compiler proves the two types agree (WireAgrees below).
import type { NodeResources } from "../../../domain/Node.js"
import type { LogChunk, LogRequest } from "../../../domain/LogRequest.js"
import type { MasterMessage } from "../../../domain/MasterMessage.js"
import type { Assignment, PodAssignment } from "../../../domain/PodAssignment.js"
import type { PodEvent, PodReport } from "../../../domain/PodReport.js"
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
    }
  },

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
