// What a master says to one worker on its stream: its desired pod set, a request for a pod's logs,
// that it was removed (the last message), the ack of a ping, and (--dns-mode embedded) the cluster's
// DNS records. The gRPC edge translates them.
import { Schema } from "effect"
import { DnsDelta, DnsSnapshot } from "./dns/Records.js"
import { LogRequest } from "./LogRequest.js"
import { Assignment } from "./PodAssignment.js"

/** Converge to this set (sent on every stream open, then whenever the node's set changes). */
export const AssignmentMessage = Schema.TaggedStruct("Assignment", { assignment: Assignment })
export interface AssignmentMessage extends Schema.Schema.Type<typeof AssignmentMessage> {}

/** Push these logs back, tagged with the request id. */
export const LogRequestMessage = Schema.TaggedStruct("LogRequest", { request: LogRequest })
export interface LogRequestMessage extends Schema.Schema.Type<typeof LogRequestMessage> {}

/** An operator removed the node: it must stop instead of rejoining. The stream's last message. */
export const RemovedMessage = Schema.TaggedStruct("Removed", { reason: Schema.String })
export interface RemovedMessage extends Schema.Schema.Type<typeof RemovedMessage> {}

/** The ping `seq` was recorded, at the master's time `serverTimeMs` (epoch ms). */
export const AckMessage = Schema.TaggedStruct("Ack", { seq: Schema.Number, serverTimeMs: Schema.Number })
export interface AckMessage extends Schema.Schema.Type<typeof AckMessage> {}

/** Every DNS record of the cluster at one revision: sent right after the stream's first Assignment. */
export const DnsSnapshotMessage = Schema.TaggedStruct("DnsSnapshot", { snapshot: DnsSnapshot })
export interface DnsSnapshotMessage extends Schema.Schema.Type<typeof DnsSnapshotMessage> {}

/** The next revision's DNS changes (sent in revision order after the snapshot). */
export const DnsDeltaMessage = Schema.TaggedStruct("DnsDelta", { delta: DnsDelta })
export interface DnsDeltaMessage extends Schema.Schema.Type<typeof DnsDeltaMessage> {}

export const MasterMessage = Schema.Union(
  AssignmentMessage,
  LogRequestMessage,
  RemovedMessage,
  AckMessage,
  DnsSnapshotMessage,
  DnsDeltaMessage
)
export type MasterMessage =
  | AssignmentMessage
  | LogRequestMessage
  | RemovedMessage
  | AckMessage
  | DnsSnapshotMessage
  | DnsDeltaMessage
