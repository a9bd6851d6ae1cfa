// One health-probe fiber per probed pod, scoped to the workload: it starts when the pod's container
// runs and is interrupted when that container goes. Probes never wait for each other or for the
// converge loop: each runs on its own Schedule and bounds every attempt by its timeout.
import { Effect, FiberMap, Ref, Schedule, type Scope } from "effect"
import type { ContainerRuntime } from "../../../services/workload/ContainerRuntime.js"
import { type HealthProbe, type ProbeTarget, runProbe } from "../probes/Probe.js"

/** What a probe reports to the workload after each conclusive attempt. */
export type ProbeVerdict =
  | { readonly _tag: "Passed" }
  | { readonly _tag: "Failing"; readonly failures: number; readonly detail: string }
  | { readonly _tag: "Unhealthy"; readonly failures: number; readonly detail: string }

export interface Prober {
  /** Probe this container of the pod from now on (nothing changes when it is already the one probed). */
  readonly watch: (podId: string, probe: HealthProbe, target: ProbeTarget) => Effect.Effect<void>
  /** Stop probing the pod (its container stopped, or the pod left this node). */
  readonly forget: (podId: string) => Effect.Effect<void>
}

export const makeProber = (
  runtime: ContainerRuntime["Type"],
  report: (podId: string, containerId: string, verdict: ProbeVerdict) => Effect.Effect<void>
): Effect.Effect<Prober, never, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberMap.make<string>()
    // pod -> the container (and IP) its probe targets; kept after the unhealthy verdict, so that
    // container is not probed again
    const targets = yield* Ref.make(new Map<string, string>())

    const loop = (podId: string, probe: HealthProbe, target: ProbeTarget) =>
      Effect.gen(function*() {
        const failures = yield* Ref.make(0)
        const attempt = Effect.gen(function*() {
          const result = yield* runProbe(runtime, probe, target)
          if (result.verdict === "inconclusive") return yield* Ref.get(failures)
          const n = result.verdict === "healthy" ? 0 : yield* Ref.updateAndGet(failures, (f) => f + 1)
          if (n === 0) yield* Ref.set(failures, 0)
          const verdict: ProbeVerdict = n === 0
            ? { _tag: "Passed" }
            : n >= probe.retries
            ? { _tag: "Unhealthy", failures: n, detail: result.detail }
            : { _tag: "Failing", failures: n, detail: result.detail }
          // the report may make the workload forget this probe: let it finish first
          yield* Effect.uninterruptible(report(podId, target.containerId, verdict))
          return n
        })
        // the first attempt after one interval: the process gets that long to come up
        yield* Effect.sleep(probe.interval)
        yield* Effect.repeat(attempt, { schedule: Schedule.spaced(probe.interval), until: (n) => n >= probe.retries })
      })

    const watch = (podId: string, probe: HealthProbe, target: ProbeTarget) =>
      Effect.gen(function*() {
        // a new IP (the engine reported none at first) means a new target too
        const key = `${target.containerId} ${target.ip}`
        if ((yield* Ref.get(targets)).get(podId) === key) return
        yield* Ref.update(targets, (all) => new Map(all).set(podId, key))
        yield* FiberMap.run(fibers, podId, loop(podId, probe, target))
      })

    const forget = (podId: string) =>
      Effect.gen(function*() {
        yield* Ref.update(targets, (all) => {
          const next = new Map(all)
          next.delete(podId)
          return next
        })
        yield* FiberMap.remove(fibers, podId)
      })

    return { watch, forget }
  })
