// One simulated worker host: an in-memory engine that outlives its helyosd (containers keep running
// when the process dies, as Docker's do), the network path to the master (a Link), and the process
// itself: the real pod runtime (LocalWorkloadRuntime) and an agent that does what WorkerAgentGrpc does
// once the wire is decoded — register, keep one Connect stream open (pings out; assignments, acks and
// Removed in), reconnect with the documented backoff, and fence itself with --stop-after-disconnect.
import { Clock, Duration, Effect, Exit, Option, Schedule, Scope } from "effect"
import { BACKOFF_BASE, makeReconnectBackoff, type ReconnectBackoff } from "../domain/Backoff.js"
import type { MasterMessage } from "../domain/MasterMessage.js"
import type { NodeResources } from "../domain/Node.js"
import type { RestartRules } from "../domain/RestartRules.js"
import * as LocalWorkloadRuntime from "../layers/workload/LocalWorkloadRuntime.js"
import { WorkerStopped } from "../services/cluster/WorkerAgent.js"
import { ContainerRuntime } from "../services/workload/ContainerRuntime.js"
import type { LocalWorkload } from "../services/workload/LocalWorkload.js"
import type { MemoryEngine } from "../services/workload/MemoryEngine.js"
import type { Registration, SimMaster } from "./SimMaster.js"
import { Connection, Link } from "./Wire.js"

/** Silence on the stream for this many heartbeat intervals means the path to the master is dead (as WorkerAgentGrpc). */
const SILENT_INTERVALS = 3
const MIN_SILENCE_MS = 1_000
/** How long grpc-js keeps trying to open a connection over a path that does not answer before the call fails. */
export const CONNECT_TIMEOUT_MS = 20_000

/** How a worker host is set up; fixed for its lifetime. */
export interface WorkerSettings {
  readonly name: string
  readonly address: string
  readonly resources: NodeResources
  /** --stop-after-disconnect; none: keep serving through any disconnection (the default) */
  readonly stopAfterDisconnect: Option.Option<Duration.Duration>
  readonly reconnectCap: Duration.Duration
  readonly resyncInterval: Duration.Duration
  readonly stopGrace: Duration.Duration
  readonly restartRules: RestartRules
}

/** The in-memory engine of one host: the runtime the pod runtime drives and its control. */
export interface Engine {
  readonly runtime: ContainerRuntime["Type"]
  readonly control: MemoryEngine["Type"]
}

/** How one Connect stream ended, when it did not end the worker. */
type Ending = { readonly _tag: "Dropped"; readonly detail: string } | { readonly _tag: "StaleSession"; readonly detail: string }

interface Process {
  readonly scope: Scope.CloseableScope
  readonly workload: LocalWorkload["Type"]
}

export class WorkerHost {
  readonly link = new Link()
  private process: Process | undefined
  /** why the last process ended (killed, or stopped by itself: removed from the cluster) */
  exitReason: string | undefined = "not started"
  /** the data dir's last-heard file (--stop-after-disconnect): outlives the process, as on disk */
  lastHeardOnDisk: number | undefined = undefined

  constructor(
    readonly settings: WorkerSettings,
    readonly engine: Engine,
    /** the master the worker can reach now (undefined while it is down) */
    private readonly master: () => SimMaster | undefined,
    /** where the host forks what outlives one process (the end of a process that stopped by itself) */
    private readonly background: Scope.Scope
  ) {}

  get name(): string {
    return this.settings.name
  }

  /** Is helyosd running on this host? */
  get running(): boolean {
    return this.process !== undefined
  }

  /** The running process's pod runtime (undefined while helyosd is down). */
  get workload(): LocalWorkload["Type"] | undefined {
    return this.process?.workload
  }

  /** Start helyosd (a fresh process: it registers again under its name). No-op while one runs. */
  readonly start: Effect.Effect<void> = Effect.suspend(() => {
    if (this.process !== undefined) return Effect.void
    const host = this
    return Effect.gen(function*() {
      const scope = yield* Scope.make()
      const { settings } = host
      const workload = yield* LocalWorkloadRuntime.make(settings.name, {
        resyncInterval: settings.resyncInterval,
        stopGrace: settings.stopGrace,
        restartRules: settings.restartRules
      }).pipe(Effect.provideService(ContainerRuntime, host.engine.runtime), Scope.extend(scope))
      const process: Process = { scope, workload }
      host.process = process
      host.exitReason = undefined
      yield* host.agent(workload).pipe(
        Effect.scoped,
        Effect.catchAll((stopped) =>
          Effect.gen(function*() {
            yield* Effect.logWarning(`${stopped.detail}; stopping`)
            // the process exits: its scope closes from outside this fiber, which lives in it
            yield* Effect.forkIn(host.end(process, stopped.detail), host.background)
          })
        ),
        Effect.forkIn(scope)
      )
    })
  })

  /** The process ends: its loops stop, its containers stay as they are. */
  private end(process: Process, reason: string): Effect.Effect<void> {
    const host = this
    return Effect.gen(function*() {
      if (host.process !== process) return
      host.process = undefined
      host.exitReason = reason
      yield* Scope.close(process.scope, Exit.void)
    })
  }

  /** Kill helyosd (kill -9): with containers "stop", the whole machine goes down with it. */
  kill(containers: "stop" | "keep"): Effect.Effect<void> {
    const host = this
    return Effect.gen(function*() {
      if (host.process !== undefined) yield* host.end(host.process, "killed")
      if (containers === "keep") return
      // the machine went down: every container's process died with it (the engine keeps them, exited)
      for (const c of yield* host.engine.control.containers) {
        if (c.state === "running") yield* host.engine.control.exit(c.id, 137)
      }
    })
  }

  /**
   * A handshake with the master: waits while the link is down (no answer to a SYN) for at most the
   * connect timeout; undefined when it gave up or nobody listens (the master is down: refused at once).
   */
  private readonly dial: Effect.Effect<SimMaster | undefined> = Effect.suspend(() => {
    const link = this.link
    const master = this.master
    return Effect.gen(function*() {
      if (!link.up) {
        const deadline = (yield* Clock.currentTimeMillis) + CONNECT_TIMEOUT_MS
        while (!link.up) {
          const remaining = deadline - (yield* Clock.currentTimeMillis)
          if (remaining <= 0) return undefined
          yield* Effect.raceFirst(link.changed, Effect.sleep(Duration.millis(remaining)))
        }
      }
      return master()
    })
  })

  /** WorkerAgentGrpc.run, minus the wire: register, then one stream after another until stopped. */
  private agent(workload: LocalWorkload["Type"]): Effect.Effect<never, WorkerStopped, Scope.Scope> {
    const host = this
    const { settings } = host
    const name = settings.name
    // since when the master has surely heard from this node (a Register it answered or a ping it
    // acked was sent then), and whether this node has fenced itself since (as WorkerAgentGrpc)
    let lastHeard = 0
    let fenced = false
    // open unless fenced: a fenced node has nothing to check until it hears the master again
    const unfenced = Effect.unsafeMakeLatch(true)
    const heardAt = (sentAtMs: number) =>
      Effect.gen(function*() {
        if (sentAtMs > lastHeard && Option.isSome(settings.stopAfterDisconnect)) host.lastHeardOnDisk = sentAtMs
        lastHeard = Math.max(lastHeard, sentAtMs)
        if (fenced) {
          fenced = false
          unfenced.unsafeOpen()
          yield* Effect.logInfo(`node '${name}' hears the master again: its pods start as the master assigns them`)
        }
      })

    // As WorkerAgentGrpc: by `after` without the master this node's pods are stopped (once per
    // disconnection), starting a stop grace earlier (at the earliest half way), checked every 1/40 of
    // it (20-250 ms). Rather than wake for every check, this sleeps to the first check that can find
    // the silence long enough: the same instants, without the thousands of checks that find nothing.
    const fenceWhenSilent = (after: Duration.Duration) => {
      const afterMs = Duration.toMillis(after)
      const startMs = Math.max(afterMs / 2, afterMs - Duration.toMillis(settings.stopGrace))
      const every = Math.max(20, Math.min(afterMs / 40, 250))
      return Effect.gen(function*() {
        const firstMs = yield* Clock.currentTimeMillis
        for (;;) {
          yield* unfenced.await
          const nowMs = yield* Clock.currentTimeMillis
          const checks = Math.max(1, Math.ceil((Math.max(nowMs + 1, lastHeard + startMs) - firstMs) / every))
          yield* Effect.sleep(Duration.millis(firstMs + checks * every - nowMs))
          const silentMs = (yield* Clock.currentTimeMillis) - lastHeard
          if (silentMs < startMs || fenced) continue
          fenced = true
          unfenced.unsafeClose()
          const stopped = yield* workload.fence
          yield* Effect.logWarning(
            `node '${name}' has not heard from the master for ${silentMs} ms: stopping its ${stopped} pod(s) (--stop-after-disconnect)`
          )
        }
      })
    }

    /** Leaving for good (as WorkerAgentGrpc): every pod stops before the process exits. */
    const removed = (detail: string) =>
      Effect.gen(function*() {
        yield* workload.apply({ generation: Number.MAX_SAFE_INTEGER, pods: [] })
        yield* workload.appliedGeneration.pipe(
          Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (g) => g >= Number.MAX_SAFE_INTEGER }),
          Effect.timeoutFail({ duration: Duration.sum(settings.stopGrace, Duration.seconds(5)), onTimeout: () => "timed out" }),
          Effect.catchAll(() => Effect.logWarning(`node '${name}' could not stop all its pods before exiting`))
        )
        return yield* new WorkerStopped({ reason: "Removed", detail })
      })

    /** Register until the master answers: transient failures are retried with the backoff. */
    const register = (backoff: ReconnectBackoff) =>
      Effect.gen(function*() {
        for (;;) {
          const master = yield* host.dial
          if (master !== undefined) {
            const sentAtMs = yield* Clock.currentTimeMillis
            const registration = yield* master.register(name, settings.address, settings.resources)
            yield* Effect.logInfo(`node '${name}' registered with the master (id ${registration.nodeId})`)
            yield* heardAt(sentAtMs)
            return registration
          }
          const delay = yield* backoff.nextDelay
          yield* Effect.logWarning(`cannot register node '${name}': the master is unreachable; retrying in ${Duration.format(delay)}`)
          yield* Effect.sleep(delay)
        }
      })

    /** One Connect stream, from open to its end. Fails only when the worker must stop. */
    const connectOnce = (session: Registration, backoff: ReconnectBackoff) =>
      Effect.gen(function*() {
        const master = yield* host.dial
        if (master === undefined) return { _tag: "Dropped", detail: "UNAVAILABLE: the master is unreachable" } satisfies Ending
        const connection = yield* Connection.make(host.link, yield* Clock.currentTimeMillis)
        // the worker going away (process killed, stream given up) breaks the stream
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => connection.close({ _tag: "Dropped", detail: "the worker ended the stream" }, true))
        )
        yield* master.accept(connection, session.nodeId, session.secret)

        // the first ping goes out at once, then one every interval
        const interval = session.heartbeatInterval
        let seq = 0
        // when each ping not acked yet was sent (an ack also stands for the ones before it)
        const sentAt = new Map<number, number>()
        yield* Effect.forkScoped(Effect.gen(function*() {
          while (connection.open) {
            const pods = yield* workload.statuses
            const appliedGeneration = yield* workload.appliedGeneration
            const events = yield* workload.takeEvents
            sentAt.set(++seq, yield* Clock.currentTimeMillis)
            connection.sendToMaster({ seq, resources: settings.resources, pods, appliedGeneration, events })
            yield* Effect.sleep(interval)
          }
        }))
        const acknowledged = (n: number) =>
          Effect.suspend(() => {
            const at = sentAt.get(n)
            for (const k of sentAt.keys()) if (k <= n) sentAt.delete(k)
            return at === undefined ? Effect.void : heardAt(at)
          })

        // no message from the master for SILENT_INTERVALS heartbeats: the path is dead, drop the stream
        const silenceMs = Math.max(SILENT_INTERVALS * Duration.toMillis(interval), MIN_SILENCE_MS)
        let lastMessageAt = yield* Clock.currentTimeMillis
        yield* Effect.forkScoped(Effect.gen(function*() {
          while (connection.open) {
            const due = lastMessageAt + silenceMs - (yield* Clock.currentTimeMillis)
            if (due <= 0) {
              return connection.close({ _tag: "Dropped", detail: `no message from the master for ${silenceMs} ms` }, true)
            }
            yield* Effect.sleep(Duration.millis(due))
          }
        }))

        let acked = false
        const handle = (message: MasterMessage) =>
          Effect.gen(function*() {
            lastMessageAt = yield* Clock.currentTimeMillis
            switch (message._tag) {
              case "Ack":
                yield* acknowledged(message.seq)
                // the first ack proves the connection healthy: the next drop backs off from 1 s again
                if (!acked) {
                  acked = true
                  yield* backoff.reset
                }
                return
              case "Assignment":
                return yield* workload.apply(message.assignment)
              case "LogRequest":
                // the simulation keeps no logs
                return
              case "Removed":
                return yield* removed(`node '${name}' was removed from the cluster: ${message.reason}`)
              default:
                // what else a master sends (DNS records) has no part in the simulation
                return
            }
          })
        const end = yield* connection.readFrom<MasterMessage, WorkerStopped, never>("toWorker", handle)
        switch (end._tag) {
          case "NotFound":
            return yield* removed(`node '${name}' was removed from the cluster: the master no longer knows this node`)
          case "Unauthenticated":
            return { _tag: "StaleSession", detail: end.detail } satisfies Ending
          case "Dropped":
            return { _tag: "Dropped", detail: end.detail } satisfies Ending
        }
      }).pipe(Effect.scoped)

    return Effect.gen(function*() {
      // armed from the start (as WorkerAgentGrpc): a process restarted while cut off may find the
      // containers of its previous run still running, and counts from when the master last heard that run
      const startedAtMs = yield* Clock.currentTimeMillis
      lastHeard = Math.min(startedAtMs, host.lastHeardOnDisk ?? startedAtMs)
      if (Option.isSome(settings.stopAfterDisconnect)) yield* Effect.forkScoped(fenceWhenSilent(settings.stopAfterDisconnect.value))
      const backoff = yield* makeReconnectBackoff(settings.reconnectCap)
      let session = yield* register(backoff)
      // once joined, a lost path is retried at least every two heartbeats (as WorkerAgentGrpc)
      const reconnect = yield* makeReconnectBackoff(
        Duration.min(settings.reconnectCap, Duration.max(Duration.times(session.heartbeatInterval, 2), BACKOFF_BASE))
      )
      for (;;) {
        const ending = yield* connectOnce(session, reconnect)
        const delay = yield* reconnect.nextDelay
        yield* Effect.logDebug(`node '${name}' lost its stream (${ending.detail}); again in ${Duration.format(delay)}`)
        yield* Effect.sleep(delay)
        if (ending._tag === "StaleSession") session = yield* register(backoff)
      }
    })
  }
}
