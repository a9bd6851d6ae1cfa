// What this host is and has: its name and its resources (reported on register and every ping).
import { Context, type Effect } from "effect"
import type { NodeResources } from "../../domain/Node.js"

export class HostInfo extends Context.Tag("helyos/HostInfo")<HostInfo, {
  readonly hostname: string
  /** CPU cores and memory, total and currently available (read fresh on every call). */
  readonly resources: Effect.Effect<NodeResources>
}>() {}
