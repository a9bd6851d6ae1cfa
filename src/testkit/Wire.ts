// The network between a simulated worker and the master, in process: a Link per worker (the path, which
// can be cut both ways or only from the worker to the master) and a Connection per Connect stream (two
// ordered queues, like the HTTP/2 stream over TCP). What the gRPC edge does with these shapes is in
// ClusterServerGrpc and WorkerAgentGrpc; here they travel as the domain types they are translated to.
import { Effect, Queue } from "effect"
import type { MasterMessage } from "../domain/MasterMessage.js"
import type { NodeResources } from "../domain/Node.js"
import type { PodEvent, PodReport } from "../domain/PodReport.js"

/** A worker's ping, as ClusterServerGrpc hands it to the registry and NodeWorkloads. */
export interface Ping {
  readonly seq: number
  readonly resources: NodeResources
  readonly pods: ReadonlyArray<PodReport>
  readonly appliedGeneration: number
  readonly events: ReadonlyArray<PodEvent>
}

/** How a stream ended, as the worker learns it (the status its Connect call ends with). */
export type StreamEnd =
  /** UNAVAILABLE, a keepalive timeout, the master ending the stream: reconnect */
  | { readonly _tag: "Dropped"; readonly detail: string }
  /** NOT_FOUND: the master no longer knows the node (removed) */
  | { readonly _tag: "NotFound" }
  /** UNAUTHENTICATED: the session is stale (the node re-registered, the master lost it): register again */
  | { readonly _tag: "Unauthenticated"; readonly detail: string }

interface EndFrame {
  readonly _tag: "End"
}
const END: EndFrame = { _tag: "End" }

/**
 * One Connect stream. Frames queue in order in each direction; while the link is cut they wait (TCP
 * holds them) and arrive after the heal if the stream survived. A graceful end (the master ending the
 * call) comes after what was already sent; a broken one (keepalive timeout, a process gone) loses it.
 */
export class Connection {
  private constructor(
    readonly link: Link,
    readonly toMaster: Queue.Queue<Ping | EndFrame>,
    readonly toWorker: Queue.Queue<MasterMessage | EndFrame>,
    /** when the connection opened (keepalive ticks count from it) */
    readonly openedAtMs: number
  ) {}

  static make(link: Link, openedAtMs: number) {
    return Effect.gen(function*() {
      const connection = new Connection(
        link,
        yield* Queue.unbounded<Ping | EndFrame>(),
        yield* Queue.unbounded<MasterMessage | EndFrame>(),
        openedAtMs
      )
      link.connections.add(connection)
      return connection
    })
  }

  /** Set once: how the stream ended. */
  end: StreamEnd | undefined
  /** a broken end: frames still in flight are lost */
  broken = false

  get open(): boolean {
    return this.end === undefined
  }

  /** The master writes a message (false once the stream has ended). */
  sendToWorker(message: MasterMessage): boolean {
    return this.open && this.toWorker.unsafeOffer(message)
  }

  /** The worker writes a ping (false once the stream has ended). */
  sendToMaster(ping: Ping): boolean {
    return this.open && this.toMaster.unsafeOffer(ping)
  }

  /** End the stream for both sides; `broken` drops whatever is still in flight. */
  close(end: StreamEnd, broken: boolean): void {
    if (this.end !== undefined) return
    this.end = end
    this.broken = broken
    this.link.connections.delete(this)
    this.toMaster.unsafeOffer(END)
    this.toWorker.unsafeOffer(END)
    this.link.wakeWaiters()
  }

  /**
   * Read one direction until the stream ends: each frame waits for its direction of the link to be up,
   * then `handle` runs. Returns how the stream ended; fails when `handle` does.
   */
  readFrom<A, E, R>(
    direction: "toMaster" | "toWorker",
    handle: (frame: A) => Effect.Effect<void, E, R>
  ): Effect.Effect<StreamEnd, E, R> {
    const queue = (direction === "toMaster" ? this.toMaster : this.toWorker) as Queue.Queue<A | EndFrame>
    const self = this
    return Effect.gen(function*() {
      for (;;) {
        const frame = yield* Queue.take(queue)
        if (isEnd(frame)) return self.end ?? { _tag: "Dropped", detail: "the stream ended" }
        while (!self.broken && !self.link.passes(direction)) yield* self.link.changed
        if (self.broken) return self.end!
        yield* handle(frame)
      }
    })
  }
}

const isEnd = (frame: unknown): frame is EndFrame =>
  typeof frame === "object" && frame !== null && (frame as { _tag?: unknown })._tag === "End"

/**
 * One worker's path to the master. `cut`: nothing passes either way (a partition); `silenced`: nothing
 * passes from the worker to the master (its pings vanish) while the master's messages still arrive on
 * an open stream. Either way no new stream can open (a TCP handshake needs both directions), and the
 * HTTP/2 keepalive of an open one goes unanswered, which closes it (see `Keepalive`).
 */
export class Link {
  cut = false
  silenced = false
  /** since when a handshake cannot complete (undefined while both ways are up): one outage */
  downSince: number | undefined = undefined
  readonly connections = new Set<Connection>()
  private waiters: Array<() => void> = []

  /** Does a frame in this direction get through now? */
  passes(direction: "toMaster" | "toWorker"): boolean {
    return direction === "toMaster" ? !this.cut && !this.silenced : !this.cut
  }

  /** Both ways up: a handshake (a new stream, a Register) can complete. */
  get up(): boolean {
    return !this.cut && !this.silenced
  }

  /** Wait for the next change of the link (or of a connection on it). */
  readonly changed: Effect.Effect<void> = Effect.async<void>((resume) => {
    const wake = () => resume(Effect.void)
    this.waiters.push(wake)
    return Effect.sync(() => {
      this.waiters = this.waiters.filter((w) => w !== wake)
    })
  })

  wakeWaiters(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const wake of waiters) wake()
  }

  /** Change the link at `nowMs` (virtual epoch ms). */
  set(state: { readonly cut: boolean; readonly silenced: boolean }, nowMs: number): void {
    if (state.cut === this.cut && state.silenced === this.silenced) return
    const wasUp = this.up
    this.cut = state.cut
    this.silenced = state.silenced
    if (wasUp && !this.up) this.downSince = nowMs
    if (this.up) this.downSince = undefined
    this.wakeWaiters()
  }
}
