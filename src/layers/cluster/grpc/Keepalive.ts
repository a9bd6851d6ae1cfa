// HTTP/2 keepalive for both ends of the cluster connection, scaled to the heartbeat: a peer that stops
// answering pings for two heartbeat intervals (at least a second) has its connection closed, whatever TCP thinks.
import type { ChannelOptions } from "@grpc/grpc-js"
import { Duration } from "effect"

const MIN_MS = 1_000

export const keepaliveOptions = (heartbeatInterval: Duration.Duration): ChannelOptions => {
  const ms = Math.max(MIN_MS, Math.round(2 * Duration.toMillis(heartbeatInterval)))
  return {
    "grpc.keepalive_time_ms": ms,
    "grpc.keepalive_timeout_ms": ms,
    // the Connect stream is always open, but a Register retry loop has no call in flight either
    "grpc.keepalive_permit_without_calls": 1
  }
}
