// LocalWorkload on this node's ContainerRuntime: keeps the desired pod set and converges the engine to it
// in a scoped loop (on every apply, on container events, and every resync interval). Used by single and worker.
import { Clock, Deferred, Duration, Effect, Layer, Option, Queue, Ref, Schedule, Stream } from "effect"
import { containerName, type PodStatus as PodPhase } from "../domain/Workload.js"
import type { Assignment, LogRequest, PodAssignment, PodStatus } from "../generated/cluster.js"
import {
  ContainerRuntime,
  Labels,
  MANAGED_BY,
  projectNetwork,
  type ContainerInfo,
  type ContainerSpec
} from "../services/ContainerRuntime.js"
import { DaemonConfig } from "../services/DaemonConfig.js"
import { LocalWorkload } from "../services/LocalWorkload.js"

/** The documented restart rules (concepts/health-and-restart). */
export const CRASH_LOOP_RESTARTS = 10
export const MAX_BACKOFF = Duration.minutes(5)
/** A pod running this long without exiting starts again from a clean restart counter. */
export const HEALTHY_RESET_AFTER = Duration.minutes(10)

/** Backoff before restart number n (1-based): min(300 s, 1 s * 2^(n-1)). */
export const restartDelay = (n: number): Duration.Duration =>
  Duration.min(MAX_BACKOFF, Duration.seconds(2 ** Math.max(0, n - 1)))

export interface LocalWorkloadOptions {
  /** converge even when nothing woke the loop (catches exits the event stream missed); default 5 s */
  readonly resyncInterval?: Duration.DurationInput
  /** SIGTERM-to-SIGKILL grace when removing a pod's container; default 5 s */
  readonly stopGrace?: Duration.DurationInput
}

interface PodState {
  readonly status: PodPhase
  readonly containerId: string
  readonly containerIp: string
  readonly restartCount: number
  readonly message: string
  /** restarting: when the replacement container is due (epoch ms) */
  readonly restartAtMs: number | undefined
  /** the restart policy has spoken (failed on exit, crash loop): leave the pod alone until reassigned */
  readonly settled: boolean
}

const initialState: PodState = {
  status: "pending",
  containerId: "",
  containerIp: "",
  restartCount: 0,
  message: "",
  restartAtMs: undefined,
  settled: false
}

interface Desired {
  readonly generation: number
  readonly pods: ReadonlyArray<PodAssignment>
}

const containerNameOf = (pod: PodAssignment): string =>
  pod.containerName !== "" ? pod.containerName : containerName(pod.project, pod.deployment, pod.replicaIndex, pod.podId)

const specOf = (pod: PodAssignment, nodeName: string, name: string): ContainerSpec => ({
  name,
  image: pod.image,
  command: pod.command,
  env: pod.env,
  ports: pod.ports,
  publishPorts: pod.publishPorts,
  volumes: pod.volumes.map((v) =>
    v.hostPath !== ""
      ? { _tag: "Bind" as const, hostPath: v.hostPath, mount: v.mount, readonly: v.readonly }
      : { _tag: "Named" as const, name: v.name, mount: v.mount, readonly: v.readonly }
  ),
  network: projectNetwork(pod.project),
  labels: {
    [Labels.managedBy]: MANAGED_BY,
    [Labels.project]: pod.project,
    [Labels.deployment]: pod.deployment,
    [Labels.podId]: pod.podId,
    [Labels.node]: nodeName
  },
  cpu: pod.cpu,
  memoryBytes: pod.memoryBytes
})

/** The container that is the pod: the one we started, else a running one, else the latest. */
const pickCurrent = (state: PodState, containers: ReadonlyArray<ContainerInfo>): ContainerInfo | undefined =>
  containers.find((c) => c.id === state.containerId) ??
    containers.find((c) => c.state === "running") ??
    [...containers].sort((a, b) => (b.startedAtMs ?? 0) - (a.startedAtMs ?? 0))[0]

/** What a pod's restart policy makes of an exit. */
const afterExit = (
  pod: PodAssignment,
  state: PodState,
  exit: { readonly containerId: string; readonly code: number; readonly oomKilled: boolean },
  nowMs: number
): PodState => {
  const reason = exit.oomKilled
    ? `container was OOMKilled (exit code ${exit.code})`
    : `container exited with code ${exit.code}`
  const policy = pod.restartPolicy === "" ? "always" : pod.restartPolicy
  const base = { ...state, containerId: exit.containerId, restartAtMs: undefined }
  if (policy === "never" || (policy === "onfailure" && exit.code === 0 && !exit.oomKilled)) {
    return { ...base, status: "failed", message: reason, settled: true }
  }
  if (state.restartCount >= CRASH_LOOP_RESTARTS) {
    return {
      ...base,
      status: "crashloopbackoff",
      message: `${reason}; crash loop after ${state.restartCount} restarts, not restarting`,
      settled: true
    }
  }
  const count = state.restartCount + 1
  const delay = restartDelay(count)
  return {
    ...base,
    status: "restarting",
    restartCount: count,
    restartAtMs: nowMs + Duration.toMillis(delay),
    message: `${reason}; restart ${count} in ${Duration.format(delay)}`,
    settled: false
  }
}

/** Build the LocalWorkload of `nodeName`; its converge loop lives as long as the scope. */
export const makeLocalWorkload = (nodeName: string, options: LocalWorkloadOptions = {}) =>
  Effect.gen(function*() {
    const runtime = yield* ContainerRuntime
    const resync = Duration.decode(options.resyncInterval ?? "5 seconds")
    const stopGrace = Duration.decode(options.stopGrace ?? "5 seconds")

    const desired = yield* Ref.make<Desired>({ generation: 0, pods: [] })
    const pods = yield* Ref.make(new Map<string, PodState>())
    const applied = yield* Ref.make(0)
    // Until the first assignment arrives we know nothing: converging to "no pods" would wipe
    // the containers a restarted daemon is about to be told to keep.
    const firstAssignment = yield* Deferred.make<void>()
    // One pending wake-up is enough: a pass always converges to the latest desired set.
    const wake = yield* Queue.dropping<void>(1)

    const podState = (podId: string) => Effect.map(Ref.get(pods), (all) => all.get(podId) ?? initialState)
    const setPod = (podId: string, f: (s: PodState) => PodState) =>
      Ref.update(pods, (all) => new Map(all).set(podId, f(all.get(podId) ?? initialState)))

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
        const name = containerNameOf(pod)
        const started = yield* runtime.run(specOf(pod, nodeName, name)).pipe(
          Effect.catchTag("ContainerNameInUse", () =>
            Effect.gen(function*() {
              const holder = yield* runtime.inspect(name)
              if (holder.labels[Labels.node] === nodeName) {
                // ours but not this pod's current container (left from a crash): replace it
                yield* removeContainer(holder, "stale container with the pod's name")
                return yield* runtime.run(specOf(pod, nodeName, name))
              }
              // Another node owns that name on a shared engine (e.g. the pod moved here from a
              // dead node). Fencing forbids touching it, so this node runs under its own suffix.
              return yield* runtime.run(specOf(pod, nodeName, `${name}-${nodeName}`))
            }))
        )
        yield* setPod(pod.podId, (s) => ({
          ...s,
          status: "running",
          containerId: started.id,
          containerIp: started.ip,
          message: "",
          settled: false
        }))
      }).pipe(
        Effect.catchAll((e) =>
          Effect.gen(function*() {
            const before = yield* podState(pod.podId)
            yield* setPod(pod.podId, (s) => ({ ...s, status: "failed", message: e.message, settled: false }))
            // retried every pass: say it once, not every few seconds
            if (before.message !== e.message) yield* Effect.logWarning(`pod ${pod.podId}: ${e.message}`)
          })
        )
      )

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
        if (current === undefined) {
          if (state.settled) return
          if (state.status === "running") {
            // the container vanished under us (removed by hand): an exit like any other
            return yield* setPod(
              pod.podId,
              (s) => afterExit(pod, s, { containerId: "", code: -1, oomKilled: false }, nowMs)
            )
          }
          if (state.status === "restarting" && nowMs < (state.restartAtMs ?? 0)) return
          return yield* create(pod)
        }
        switch (current.state) {
          case "running": {
            const healthy = current.startedAtMs !== undefined &&
              nowMs - current.startedAtMs >= Duration.toMillis(HEALTHY_RESET_AFTER)
            return yield* setPod(pod.podId, (s) => ({
              ...s,
              status: "running",
              containerId: current.id,
              containerIp: current.networks[projectNetwork(pod.project)] ?? s.containerIp,
              restartCount: healthy ? 0 : s.restartCount,
              message: "",
              restartAtMs: undefined,
              settled: false
            }))
          }
          case "created": {
            // created but never started (we died between the two): start over
            yield* removeContainer(current, "never started")
            return yield* create(pod)
          }
          case "exited":
          case "dead": {
            const known = state.containerId === current.id
            if (known && state.settled) return
            if (known && state.status === "restarting") {
              if (nowMs < (state.restartAtMs ?? 0)) return
              yield* removeContainer(current, `restart ${state.restartCount}`)
              return yield* create(pod)
            }
            return yield* setPod(
              pod.podId,
              (s) => afterExit(pod, s, { containerId: current.id, code: current.exitCode, oomKilled: current.oomKilled }, nowMs)
            )
          }
          default:
            // paused / restarting / removing: the engine is mid-way; look again next pass
            return
        }
      }).pipe(
        // one pod's trouble (engine refusing a stop, a vanished container) never blocks the others
        Effect.catchAllCause((cause) => Effect.logWarning(`pod ${pod.podId}: converge failed`, cause))
      )

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
      yield* Ref.update(pods, (all) => new Map([...all].filter(([id]) => wantedIds.has(id))))
      yield* Effect.forEach(
        wanted,
        (pod) => reconcilePod(pod, containers.filter((c) => c.labels[Labels.podId] === pod.podId), nowMs),
        { concurrency: 8, discard: true }
      )
      yield* Ref.update(applied, (g) => Math.max(g, generation))
    }).pipe(Effect.withSpan("LocalWorkload.converge"))

    /** Sleep until the next resync, or sooner when a restart is due. */
    const nextWait = Effect.gen(function*() {
      const nowMs = yield* Clock.currentTimeMillis
      const dueMs = [...(yield* Ref.get(pods)).values()]
        .filter((s) => s.status === "restarting" && s.restartAtMs !== undefined)
        .map((s) => s.restartAtMs! - nowMs)
      const resyncMs = Duration.toMillis(resync)
      // the floor keeps a restart that keeps failing to happen from spinning the loop
      return Duration.millis(Math.max(Math.min(250, resyncMs), Math.min(resyncMs, ...dueMs)))
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
      return wanted.map((pod): PodStatus => {
        const s = all.get(pod.podId) ?? initialState
        return {
          podId: pod.podId,
          status: s.status,
          containerId: s.containerId,
          containerIp: s.containerIp,
          restartCount: s.restartCount,
          message: s.message,
          exited: false,
          exitCode: 0,
          reason: "",
          health: "",
          lastExitAtMs: 0,
          startedAtMs: 0
        }
      })
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

    return LocalWorkload.of({ apply, statuses, takeEvents: Effect.succeed([]), appliedGeneration: Ref.get(applied), logs })
  })

/** This node's workload (node name from DaemonConfig) on the ContainerRuntime. */
export const LocalWorkloadRuntime = (
  options: LocalWorkloadOptions = {}
): Layer.Layer<LocalWorkload, never, ContainerRuntime | DaemonConfig> =>
  Layer.scoped(
    LocalWorkload,
    Effect.flatMap(DaemonConfig, (config) => makeLocalWorkload(config.nodeName, options))
  )
