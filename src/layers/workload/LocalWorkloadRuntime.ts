// LocalWorkload on this node's ContainerRuntime: keeps the desired pod set and converges the engine to it
// in a scoped loop (on every apply, on container events, and every resync interval), applies the restart
// policy to every exit (backoff, crash loop), probes pods' health, and records pod events for the ping.
// Used by single, master (its local pods) and worker.
import { Clock, Deferred, Duration, Effect, Layer, Option, Queue, Ref, Schedule, Stream } from "effect"
import {
  exitReason,
  recovered,
  restartPolicyOf,
  type RestartRules
} from "../../domain/RestartRules.js"
import type { LogRequest } from "../../domain/LogRequest.js"
import type { Assignment, PodAssignment } from "../../domain/PodAssignment.js"
import { ContainerRuntime, Labels, projectNetwork, type ContainerInfo } from "../../services/workload/ContainerRuntime.js"
import { DaemonConfig, defaults } from "../../services/DaemonConfig.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { WorkerMetrics } from "../../services/observability/WorkerMetrics.js"
import { describeCheck, probePlanOf } from "./probes/Probe.js"
import { containerNameOf, pickCurrent, specOf } from "./pod/PodContainer.js"
import { makePodEventBuffer, POD_EVENT_CAPACITY } from "./pod/PodEventBuffer.js"
import { type ContainerEnd, containerEnded, initialPodState, type PodState, toPodReport } from "./pod/PodState.js"
import { makeProber, type ProbeVerdict } from "./pod/Prober.js"

/** The DaemonConfig numbers the pod runtime uses (resync interval, stop grace, restart ladder); absent = `defaults`. */
export interface LocalWorkloadOptions {
  readonly resyncInterval?: Duration.DurationInput
  readonly stopGrace?: Duration.DurationInput
  readonly restartRules?: RestartRules
  /** --dns-mode embedded: this node's resolver address, given to every pod's container as its DNS server */
  readonly dnsServer?: string | undefined
}

/**
 * A project network this node never put a pod on (left by an earlier run, or made by another node on a
 * shared engine) is removed only once it is this old and has no container on it: a node that has just
 * made one is about to start its first container there.
 */
export const FOREIGN_NETWORK_GRACE = Duration.minutes(1)

interface Desired {
  readonly generation: number
  readonly pods: ReadonlyArray<PodAssignment>
}

/** Build the LocalWorkload of `nodeName`; its converge loop and probes live as long as the scope. */
export const make = (nodeName: string, options: LocalWorkloadOptions = {}) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const resync = Duration.decode(options.resyncInterval ?? defaults.resyncInterval)
    const stopGrace = Duration.decode(options.stopGrace ?? defaults.stopGrace)
    const rules = options.restartRules ?? defaults.restartRules
    const dnsServer = options.dnsServer

    const desired = yield* Ref.make<Desired>({ generation: 0, pods: [] })
    const pods = yield* Ref.make(new Map<string, PodState>())
    const applied = yield* Ref.make(0)
    // a worker counts its pod events as they happen (no-op elsewhere: a master counts from its event log)
    const workerMetrics = yield* WorkerMetrics
    const events = yield* makePodEventBuffer(POD_EVENT_CAPACITY, workerMetrics.countPodEvent)
    // Until the first assignment arrives we know nothing: converging to "no pods" would wipe
    // the containers a restarted daemon is about to be told to keep.
    const firstAssignment = yield* Deferred.make<void>()
    // One pending wake-up is enough: a pass always converges to the latest desired set.
    const wake = yield* Queue.dropping<void>(1)

    // the project networks this run has put pods on: removed as soon as no pod of the project is left here
    const usedNetworks = yield* Ref.make<ReadonlySet<string>>(new Set())

    const podState = (podId: string) => Effect.map(Ref.get(pods), (all) => all.get(podId) ?? initialPodState)
    const setPod = (podId: string, f: (s: PodState) => PodState) =>
      Ref.update(pods, (all) => new Map(all).set(podId, f(all.get(podId) ?? initialPodState)))
    /** Change a pod's state atomically, deciding from its latest state (probes and the loop both write). */
    const modifyPod = <A>(podId: string, f: (s: PodState) => readonly [A, PodState]) =>
      Ref.modify(pods, (all) => {
        const [result, next] = f(all.get(podId) ?? initialPodState)
        return [result, new Map(all).set(podId, next)] as const
      })

    /** Apply the restart rules to a container's end (once: a pod already past it is left as is). */
    const ended = (pod: PodAssignment, end: ContainerEnd, nowMs: number, stillCurrent: (s: PodState) => boolean) =>
      Effect.gen(function*() {
        const drafts = yield* modifyPod(pod.podId, (s) => {
          if (!stillCurrent(s)) return [[], s] as const
          const next = containerEnded(restartPolicyOf(pod.restartPolicy), s, end, nowMs, rules)
          return [next.events, end.reason === "Unhealthy" ? { ...next.state, condemned: end.containerId } : next.state] as const
        })
        for (const e of drafts) yield* events.push(pod.podId, e.action, e.message, e.exitCode)
        return drafts.length > 0
      })

    const report = (podId: string, containerId: string, verdict: ProbeVerdict): Effect.Effect<void> =>
      Effect.gen(function*() {
        const pod = (yield* Ref.get(desired)).pods.find((p) => p.podId === podId)
        const nowMs = yield* Clock.currentTimeMillis
        const current = (s: PodState) => s.containerId === containerId && s.status === "running" && s.condemned === ""
        switch (verdict._tag) {
          case "Passed":
            return yield* setPod(podId, (s) =>
              current(s) ? { ...s, health: "healthy", healthySinceMs: s.healthySinceMs ?? nowMs } : s)
          case "Failing":
            // one failure breaks "continuously healthy"; the verdict waits for `retries` in a row
            yield* setPod(podId, (s) => (current(s) ? { ...s, healthySinceMs: undefined } : s))
            return yield* Effect.logInfo(`pod ${podId}: health check failed (${verdict.failures} in a row): ${verdict.detail}`)
          case "Unhealthy": {
            if (pod === undefined) return
            const plan = probePlanOf(pod)
            const what = plan._tag === "Probe" ? `${describeCheck(plan.probe.check)}: ` : ""
            const end: ContainerEnd = {
              containerId,
              code: 0,
              oomKilled: false,
              reason: "Unhealthy",
              atMs: nowMs,
              detail: `${what}${verdict.detail}; ${verdict.failures} failures in a row`
            }
            // the loop stops the condemned container and restarts the pod through the same backoff
            if (yield* ended(pod, end, nowMs, current)) yield* Queue.offer(wake, undefined)
            return
          }
        }
      })

    const prober = yield* makeProber(runtime, report)

    /** Probe the pod's running container when the pod has a health check. */
    const watchHealth = (pod: PodAssignment, containerId: string, ip: string) => {
      const plan = probePlanOf(pod)
      return plan._tag === "Probe" ? prober.watch(pod.podId, plan.probe, { containerId, ip }) : Effect.void
    }
    /** A probe this node cannot run (an older master's assignment): said once per container start. */
    const warnInvalidProbe = (pod: PodAssignment) => {
      const plan = probePlanOf(pod)
      return plan._tag === "Invalid" ? Effect.logWarning(`pod ${pod.podId}: not probed: ${plan.problem}`) : Effect.void
    }
    const initialHealth = (pod: PodAssignment) => (probePlanOf(pod)._tag === "Probe" ? "starting" as const : "" as const)

    const removeContainer = (c: ContainerInfo, why: string) =>
      Effect.logInfo(`removing container ${c.name} (${why})`).pipe(
        Effect.zipRight(c.state === "running" ? runtime.stop(c.id, stopGrace) : Effect.void),
        Effect.zipRight(runtime.remove(c.id))
      )

    /**
     * Start the pod's container. Failures leave the pod `failed` with the reason and unsettled,
     * so the next pass tries again (an image may appear, a name may free up).
     */
    const create = (pod: PodAssignment) =>
      Effect.gen(function*() {
        yield* setPod(pod.podId, (s) => ({ ...s, status: "creating", restartAtMs: undefined }))
        yield* runtime.ensureImage(pod.image)
        yield* runtime.ensureNetwork(projectNetwork(pod.project))
        yield* Ref.update(usedNetworks, (all) => new Set(all).add(projectNetwork(pod.project)))
        const name = containerNameOf(pod)
        const started = yield* runtime.run(specOf(pod, nodeName, name, dnsServer)).pipe(
          Effect.catchTag("ContainerNameInUse", () =>
            Effect.gen(function*() {
              const holder = yield* runtime.inspect(name)
              if (holder.labels[Labels.node] === nodeName) {
                // ours but not this pod's current container (left from a crash): replace it
                yield* removeContainer(holder, "stale container with the pod's name")
                return yield* runtime.run(specOf(pod, nodeName, name, dnsServer))
              }
              // Another node owns that name on a shared engine (e.g. the pod moved here from a
              // dead node). Fencing forbids touching it, so this node runs under its own suffix.
              return yield* runtime.run(specOf(pod, nodeName, `${name}-${nodeName}`, dnsServer))
            }))
        )
        const nowMs = yield* Clock.currentTimeMillis
        const health = initialHealth(pod)
        const before = yield* modifyPod(pod.podId, (s) => [s, {
          ...s,
          status: "running",
          containerId: started.id,
          containerIp: started.ip,
          message: "",
          settled: false,
          condemned: "",
          health,
          // without a probe, running is healthy; with one, health starts at its first pass
          healthySinceMs: health === "" ? nowMs : undefined,
          startedAtMs: nowMs,
          everStarted: true
        }] as const)
        yield* before.everStarted
          ? events.push(pod.podId, "restarted", `container started again (restart ${before.restartCount})`)
          : events.push(pod.podId, "started", "container started")
        yield* watchHealth(pod, started.id, started.ip)
        yield* warnInvalidProbe(pod)
      }).pipe(
        Effect.catchAll((e) =>
          Effect.gen(function*() {
            const before = yield* podState(pod.podId)
            yield* setPod(pod.podId, (s) => ({ ...s, status: "failed", message: e.message, settled: false }))
            // retried every pass: say it once, not every few seconds
            if (before.message !== e.message) {
              yield* Effect.logWarning(`pod ${pod.podId}: ${e.message}`)
              yield* events.push(pod.podId, "failed", e.message)
            }
          })
        )
      )

    /** The pod's container runs: keep the books (adoption, health, counter reset) and its probe going. */
    const running = (pod: PodAssignment, current: ContainerInfo, nowMs: number) =>
      Effect.gen(function*() {
        const state = yield* podState(pod.podId)
        if (current.id === state.condemned) {
          // failed its health check: stopped, then restarted (or left, per policy) like any exit
          return yield* runtime.stop(current.id, stopGrace)
        }
        const ip = current.networks[projectNetwork(pod.project)] ?? ""
        const health = initialHealth(pod)
        yield* setPod(pod.podId, (s) => {
          if (current.id === s.condemned) return s
          const adopted = current.id !== s.containerId
          const healthySinceMs = adopted
            ? (health === "" ? (current.startedAtMs ?? nowMs) : undefined)
            : (health === "" ? (s.healthySinceMs ?? current.startedAtMs ?? nowMs) : s.healthySinceMs)
          return {
            ...s,
            status: "running",
            containerId: current.id,
            containerIp: ip !== "" ? ip : s.containerIp,
            // sustained recovery: the crash-loop allowance starts over
            restartCount: recovered(healthySinceMs, nowMs, rules) ? 0 : s.restartCount,
            message: "",
            restartAtMs: undefined,
            settled: false,
            health: adopted || s.health === "" ? health : s.health,
            healthySinceMs,
            startedAtMs: current.startedAtMs ?? s.startedAtMs,
            everStarted: true
          }
        })
        yield* watchHealth(pod, current.id, ip !== "" ? ip : state.containerIp)
      })

    /** Bring one desired pod in line with what the engine shows for it. */
    const reconcilePod = (pod: PodAssignment, containers: ReadonlyArray<ContainerInfo>, nowMs: number) =>
      Effect.gen(function*() {
        const state = yield* podState(pod.podId)
        const current = pickCurrent(state, containers)
        // two containers for one pod (a crash between create and bookkeeping): keep one
        yield* Effect.forEach(
          containers.filter((c) => c !== current),
          (c) => removeContainer(c, "duplicate container of the pod"),
          { discard: true }
        )
        if (current?.state !== "running") yield* prober.forget(pod.podId)
        if (current === undefined) {
          if (state.settled) return
          if (state.status === "running") {
            // the container vanished under us (removed by hand): an exit like any other
            const end: ContainerEnd = { containerId: "", code: -1, oomKilled: false, reason: "Error", atMs: nowMs }
            return yield* ended(pod, end, nowMs, (s) => s.status === "running" && s.containerId === state.containerId)
          }
          if (state.status === "restarting" && nowMs < (state.restartAtMs ?? 0)) return
          return yield* create(pod)
        }
        switch (current.state) {
          case "running":
            return yield* running(pod, current, nowMs)
          case "created": {
            // created but never started (we died between the two): start over
            yield* removeContainer(current, "never started")
            return yield* create(pod)
          }
          case "exited":
          case "dead": {
            const known = state.containerId === current.id
            if (
              known && state.condemned === current.id && state.lastExit?.reason === "Unhealthy" &&
              state.lastExit.code !== current.exitCode
            ) {
              // the stop's exit code completes the record; the reason stays Unhealthy
              const code = current.exitCode
              yield* setPod(pod.podId, (s) => (s.lastExit ? { ...s, lastExit: { ...s.lastExit, code } } : s))
            }
            if (known && state.settled) return
            if (known && state.status === "restarting") {
              if (nowMs < (state.restartAtMs ?? 0)) return
              yield* removeContainer(current, `restart ${state.restartCount}`)
              return yield* create(pod)
            }
            const end: ContainerEnd = {
              containerId: current.id,
              code: current.exitCode,
              oomKilled: current.oomKilled,
              reason: exitReason({ code: current.exitCode, oomKilled: current.oomKilled }),
              atMs: current.finishedAtMs ?? nowMs
            }
            // decided from the real exit (code and OOM flag from the engine), once per container
            yield* ended(pod, end, nowMs, (s) => !(s.containerId === current.id && (s.settled || s.status === "restarting")))
            return
          }
          default:
            // paused / restarting / removing: the engine is mid-way; look again next pass
            return
        }
      }).pipe(
        // one pod's trouble (engine refusing a stop, a vanished container) never blocks the others
        Effect.catchAllCause((cause) => Effect.logWarning(`pod ${pod.podId}: converge failed`, cause))
      )

    /**
     * Project networks are not leaked: once this node runs none of a project's pods (scaled away,
     * moved, the project deleted), its network goes — unless a container (another node's, on a shared
     * engine) is still on it, in which case the engine refuses and a later pass tries again.
     */
    const sweepNetworks = (wanted: ReadonlyArray<PodAssignment>, nowMs: number) =>
      Effect.gen(function*() {
        const keep = new Set(wanted.map((p) => projectNetwork(p.project)))
        const used = yield* Ref.get(usedNetworks)
        const graceMs = Duration.toMillis(FOREIGN_NETWORK_GRACE)
        const candidates = (yield* runtime.listNetworks).filter((n) =>
          !keep.has(n.name) && n.containers === 0 && (used.has(n.name) || nowMs - n.createdAtMs >= graceMs)
        )
        yield* Effect.forEach(candidates, (n) =>
          Effect.gen(function*() {
            if (yield* runtime.removeNetwork(n.name)) {
              yield* Effect.logInfo(`removed network ${n.name} (no pod of its project on this node)`)
            }
            yield* Ref.update(usedNetworks, (all) => {
              const next = new Set(all)
              next.delete(n.name)
              return next
            })
          }), { discard: true })
      }).pipe(Effect.catchAllCause((cause) => Effect.logWarning("could not sweep unused project networks", cause)))

    /** One converge pass over the whole desired set. */
    const pass = Effect.gen(function*() {
      const { generation, pods: wanted } = yield* Ref.get(desired)
      const containers = yield* runtime.listManaged(nodeName)
      const nowMs = yield* Clock.currentTimeMillis
      const wantedIds = new Set(wanted.map((p) => p.podId))
      // Fencing: listManaged only ever returns containers labelled with this node, and anything
      // among them that is not in the set goes (stop, scale-down, pods moved away while partitioned).
      yield* Effect.forEach(
        containers.filter((c) => !wantedIds.has(c.labels[Labels.podId] ?? "")),
        (c) =>
          removeContainer(c, "not assigned to this node").pipe(
            Effect.catchAllCause((cause) => Effect.logWarning(`could not remove ${c.name}`, cause))
          ),
        { concurrency: 4, discard: true }
      )
      const gone = [...(yield* Ref.get(pods)).keys()].filter((id) => !wantedIds.has(id))
      yield* Effect.forEach(gone, prober.forget, { discard: true })
      yield* Ref.update(pods, (all) => new Map([...all].filter(([id]) => wantedIds.has(id))))
      yield* Effect.forEach(
        wanted,
        (pod) => reconcilePod(pod, containers.filter((c) => c.labels[Labels.podId] === pod.podId), nowMs),
        { concurrency: 8, discard: true }
      )
      yield* sweepNetworks(wanted, nowMs)
      yield* Ref.update(applied, (g) => Math.max(g, generation))
    }).pipe(Effect.withSpan("LocalWorkload.converge"))

    /** Sleep until the next resync, or sooner when a restart is due. */
    const nextWait = Effect.gen(function*() {
      const nowMs = yield* Clock.currentTimeMillis
      const dueMs = [...(yield* Ref.get(pods)).values()]
        .filter((s) => s.status === "restarting" && s.restartAtMs !== undefined)
        .map((s) => s.restartAtMs! - nowMs)
      const resyncMs = Duration.toMillis(resync)
      // an overdue restart waits a little: one that keeps failing to happen must not spin the loop
      const overdueMs = Math.min(250, resyncMs)
      return Duration.millis(Math.min(resyncMs, ...dueMs.map((ms) => (ms > 0 ? ms : overdueMs))))
    })

    yield* Deferred.await(firstAssignment).pipe(
      Effect.zipRight(Effect.forever(
        pass.pipe(
          Effect.zipRight(nextWait),
          // the engine is away or refusing: say so and try again at the next resync
          Effect.catchAllCause((cause) => Effect.as(Effect.logWarning("converge pass failed", cause), resync)),
          Effect.flatMap((wait) => Effect.raceFirst(Queue.take(wake), Effect.sleep(wait))),
          Effect.zipRight(Queue.takeAll(wake))
        )
      )),
      Effect.forkScoped
    )

    // Exits show up as engine events at once; without this a crash waits for the next resync.
    yield* runtime.events(nodeName).pipe(
      Stream.runForEach(() => Queue.offer(wake, undefined)),
      Effect.catchAllCause((cause) => Effect.logDebug("container events ended", cause)),
      Effect.repeat(Schedule.spaced(resync)),
      Effect.forkScoped
    )

    const apply = (assignment: Assignment) =>
      Effect.gen(function*() {
        const accepted = yield* Ref.modify(desired, (current) =>
          assignment.generation < current.generation
            ? [false, current] as const
            : [true, { generation: assignment.generation, pods: assignment.pods }] as const)
        if (!accepted) return
        yield* Deferred.succeed(firstAssignment, undefined)
        yield* Queue.offer(wake, undefined)
      })

    const statuses = Effect.gen(function*() {
      const { pods: wanted } = yield* Ref.get(desired)
      const all = yield* Ref.get(pods)
      return wanted.map((pod) => toPodReport(pod.podId, all.get(pod.podId) ?? initialPodState))
    })

    const assigned = Effect.gen(function*() {
      const { pods: wanted } = yield* Ref.get(desired)
      const all = yield* Ref.get(pods)
      return wanted.map((pod) => ({ pod, report: toPodReport(pod.podId, all.get(pod.podId) ?? initialPodState) }))
    })

    const logs = (request: LogRequest): Stream.Stream<Uint8Array, string> =>
      Stream.unwrap(Effect.gen(function*() {
        const known = (yield* Ref.get(pods)).get(request.podId)
        const containerId = known !== undefined && known.containerId !== ""
          ? Option.some(known.containerId)
          : Option.fromNullable(
            (yield* runtime.listManaged(nodeName).pipe(Effect.mapError((e) => e.message)))
              .filter((c) => c.labels[Labels.podId] === request.podId)
              .sort((a, b) => (b.startedAtMs ?? 0) - (a.startedAtMs ?? 0))[0]?.id
          )
        if (Option.isNone(containerId)) {
          const isDesired = (yield* Ref.get(desired)).pods.some((p) => p.podId === request.podId)
          return yield* Effect.fail(
            isDesired
              ? `pod '${request.podId}' has no container yet`
              : `pod '${request.podId}' not found on node '${nodeName}'`
          )
        }
        return runtime.logs(containerId.value, { tail: request.tail, follow: request.follow }).pipe(
          Stream.mapError((e) => e.message)
        )
      }))

    const fence = Effect.gen(function*() {
      const stopped = yield* Ref.modify(desired, (current) => [current.pods.length, { ...current, pods: [] }] as const)
      // before any assignment too (a daemon restarted while cut off from the master): converging to no
      // pods is the point now, so the containers of its previous run go as well
      yield* Deferred.succeed(firstAssignment, undefined)
      yield* Queue.offer(wake, undefined)
      return stopped
    })

    return LocalWorkload.of({ apply, fence, statuses, assigned, takeEvents: events.take, appliedGeneration: Ref.get(applied), logs })
  })

/** This node's workload on the ContainerRuntime: node name and numbers from DaemonConfig, `options` on top. */
export const layerWith = (
  options: LocalWorkloadOptions = {}
): Layer.Layer<LocalWorkload, never, ContainerRuntime | DaemonConfig> =>
  Layer.scoped(
    LocalWorkload,
    Effect.flatMap(DaemonConfig, (config) =>
      make(config.nodeName, {
        resyncInterval: config.resyncInterval,
        stopGrace: config.stopGrace,
        restartRules: config.restartRules,
        dnsServer: config.dnsMode === "embedded" ? config.dnsListen.host : undefined,
        ...options
      }))
  )

export const layer = layerWith()
