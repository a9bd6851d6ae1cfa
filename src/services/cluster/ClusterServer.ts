// Master side: the gRPC server on --grpc-port (Register, Connect, PushLogs).
import { Context } from "effect"

export class ClusterServer extends Context.Tag("helyos/ClusterServer")<ClusterServer, {
  /** the port actually bound (0 in the config means "any free port", used by tests) */
  readonly port: number
}>() {}
