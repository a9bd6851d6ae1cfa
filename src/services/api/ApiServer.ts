// The running REST API: where it actually listens (port 0 in the config means "any free port").
import { Context } from "effect"

export class ApiServer extends Context.Tag("helyos/ApiServer")<ApiServer, {
  /** the bound host and port */
  readonly host: string
  readonly port: number
  /** http(s)://host:port, for clients on this machine (0.0.0.0 / :: become loopback) */
  readonly url: string
}>() {}
