// This node's DNS: what its resolver answers from. The master's record set (pushed over the cluster
// stream to a worker, handed over in-process on the master) with this node's own pods overlaid from
// their live state, so a local pod that stops or fails its probe drops at once and one that becomes
// ready appears at once, heartbeat or not. Who this node is decides which pods are local (and, without
// the overlay network, the only ones answered): a worker learns its id at registration.
import { Context, Effect, Layer } from "effect"
import type { DnsRevisionGap } from "../../domain/dns/DnsErrors.js"
import type { DnsDelta, DnsSnapshot } from "../../domain/dns/Records.js"
import type { NodeId } from "../../domain/Node.js"
import type { DnsMode } from "../DaemonConfig.js"

export interface NodeDnsShape {
  /** embedded: this node runs a resolver and its pods are pointed at it; noop: neither */
  readonly mode: DnsMode
  /** Which node this is in the records (idempotent; a worker calls it after each registration). */
  readonly identify: (self: { readonly id: NodeId; readonly name: string }) => Effect.Effect<void>
  /** The master's whole set (on every stream open; a snapshot wins whatever its revision). */
  readonly replace: (snapshot: DnsSnapshot) => Effect.Effect<void>
  /**
   * The master's next revision. At or below the one held: ignored (a re-delivery). Skipping
   * revisions: nothing changes and it fails with DnsRevisionGap (ask the master for a snapshot).
   */
  readonly applyDelta: (delta: DnsDelta) => Effect.Effect<void, DnsRevisionGap>
  /** The revision of the master's set held now (0: nothing received yet). */
  readonly revision: Effect.Effect<number>
}

const noop: NodeDnsShape = {
  mode: "noop",
  identify: () => Effect.void,
  replace: () => Effect.void,
  applyDelta: () => Effect.void,
  revision: Effect.succeed(0)
}

/**
 * A Reference (no-op by default, as with `--dns-mode noop`): the orchestrator and the worker agent
 * feed it without requiring it, and tests that are not about DNS need not provide one.
 */
export class NodeDns extends Context.Reference<NodeDns>()("helyos/NodeDns", {
  defaultValue: (): NodeDnsShape => noop
}) {
  /** `--dns-mode noop`: records are accepted and forgotten. */
  static readonly layerNoop = Layer.succeed(NodeDns, noop)
}
