// The call metadata that authenticates a worker's Connect and PushLogs calls (see cluster.proto).
import * as grpc from "@grpc/grpc-js"
import { Redacted } from "effect"

export const NODE_ID_HEADER = "x-helyos-node-id"
export const SESSION_HEADER = "x-helyos-session"

/** Metadata for a worker's calls; the secret leaves its Redacted wrapper only here. */
export const sessionMetadata = (nodeId: string, secret: Redacted.Redacted<string>): grpc.Metadata => {
  const metadata = new grpc.Metadata()
  metadata.set(NODE_ID_HEADER, nodeId)
  metadata.set(SESSION_HEADER, Redacted.value(secret))
  return metadata
}
