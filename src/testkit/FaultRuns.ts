// Seeded fault runs: from a seed, a cluster and a list of steps (deploys, scales, drains, silences,
// partitions, heals, kills, worker and master restarts, workers added and removed), each followed by
// some virtual time; the invariants are checked after every step and during its wait. A failing list
// is shrunk to the shortest one that still fails the same way, and printed with its seed.
import { Cause, Duration, Effect, Exit, Option } from "effect"
import { isEligible } from "../domain/Node.js"
import { revisionOf } from "../layers/orchestrator/Store.js"
import { NodeRegistry } from "../services/cluster/NodeRegistry.js"
import { WorkerChannels } from "../services/cluster/WorkerChannels.js"
import { type Cluster, type ClusterOptions, internals, make, type SimConfig } from "./Cluster.js"
import { always, converged, type Violation, watch } from "./Invariants.js"

/** What a step does; the project is always "sim". */
export type Action =
  /** deploy (or redeploy: a changed image rolls the pods) a deployment */
  | { readonly _tag: "Deploy"; readonly deployment: string; readonly replicas: number; readonly image: string; readonly memory?: string }
  /** `helyos scale` */
  | { readonly _tag: "Scale"; readonly deployment: string; readonly replicas: number }
  /** `helyos node drain` / `undrain` */
  | { readonly _tag: "Drain"; readonly worker: string }
  | { readonly _tag: "Undrain"; readonly worker: string }
  /** the worker's pings stop reaching the master (Worker.silence) */
  | { readonly _tag: "Silence"; readonly worker: string }
  /** the worker's path to the master is cut both ways (Worker.partition) */
  | { readonly _tag: "Partition"; readonly worker: string }
  /** both undone (Worker.heal) */
  | { readonly _tag: "Heal"; readonly worker: string }
  /** the machine goes down, containers too */
  | { readonly _tag: "Kill"; readonly worker: string }
  /** helyosd starts again (or restarts) on the machine */
  | { readonly _tag: "Restart"; readonly worker: string }
  /** the master stops, stays down that long, starts again on the same store */
  | { readonly _tag: "RestartMaster"; readonly downForMs: number }
  /** a new machine joins */
  | { readonly _tag: "AddWorker"; readonly worker: string; readonly memory: string }
  /**
   * `helyos node rm [--force]`. A forced removal of a live node the master cannot tell at that moment
   * (cut off, or between two streams) is left out unless the node is dead already: the master replaces
   * its pods at once, so a replica runs twice until the node hears it was removed or fences itself —
   * `--force` overrides the fence, as `kubectl delete node` does.
   */
  | { readonly _tag: "RemoveWorker"; readonly worker: string; readonly force: boolean }
  /** every link healed and every machine up, then quiet: the cluster must converge */
  | { readonly _tag: "Settle" }

/** One step: an action, then this much virtual time. */
export interface Step {
  readonly action: Action
  readonly waitMs: number
}

/** The cluster a seed runs on. */
export interface Setup {
  /** the seed it came from (also the seed of the cluster's Random) */
  readonly seed: number
  /** the machines at the start */
  readonly workers: ReadonlyArray<{ readonly name: string; readonly memory: string }>
  /** the master's numbers (ClusterOptions.config) */
  readonly config: SimConfig
  /** every worker's --stop-after-disconnect; absent: none (workers keep serving, replicas may run twice) */
  readonly stopAfterDisconnect?: Duration.DurationInput
}

/** A failed run: the first step after which an invariant did not hold. */
export interface Failure {
  /** 0-based index of the step */
  readonly step: number
  /** what broke; `atMs` counts from the start of the run */
  readonly violations: ReadonlyArray<Violation>
}

export interface RunResult {
  /** how many steps ran (all of them when nothing failed) */
  readonly stepsRun: number
  readonly failure: Failure | undefined
  /** virtual time the run covered */
  readonly virtualMs: number
}

/** What a seed came to: its steps and, when it failed, the shortest list that still fails. */
export interface SeedReport {
  readonly seed: number
  readonly setup: Setup
  readonly steps: ReadonlyArray<Step>
  readonly result: RunResult
  /** the shrunk steps and their failure (only when the run failed) */
  readonly shrunk?: { readonly steps: ReadonlyArray<Step>; readonly failure: Failure }
}

export interface GenerateOptions {
  /** steps per run, before the final settle; default 30 */
  readonly steps?: number
}

// ---------------------------------------------------------------------------------------------
// Generation: a small PRNG of our own, so a seed means the same steps everywhere.

/** mulberry32: a tiny, fast 32-bit PRNG; deterministic across platforms. */
const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const between = (next: () => number, lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1))
const choose = <A>(next: () => number, items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!

/**
 * The documented timers (heartbeat 5 s, scan 10 s, NotReady 30 s, dead 60 s), and self-fencing
 * (--stop-after-disconnect 30, 45 or 60 s: at most dead-after, so no replica may ever run twice).
 */
export const setupOf = (seed: number): Setup => {
  const next = prng(seed ^ 0x5eed)
  const count = between(next, 3, 5)
  return {
    seed,
    workers: Array.from({ length: count }, (_, i) => ({ name: `w${i + 1}`, memory: choose(next, ["2g", "4g", "8g"]) })),
    config: {
      maxPods: between(next, 4, 12),
      // one seed in four at the documented 1 s reconcile and 5 s resync; the others lean on what
      // changes, reports and node or engine events trigger (the periodic passes are a safety net),
      // which is stricter and several times cheaper
      ...(seed % 4 === 0 ? {} : { reconcileInterval: Duration.seconds(10), resyncInterval: Duration.seconds(15) })
    },
    stopAfterDisconnect: Duration.seconds([30, 45, 60][seed % 3]!)
  }
}

/** A wait that often crosses the 30 s (NotReady) and 60 s (dead) lines. */
const waitOf = (next: () => number): number => {
  const r = next()
  if (r < 0.3) return between(next, 1, 10) * 1_000
  if (r < 0.6) return between(next, 10, 40) * 1_000
  if (r < 0.9) return between(next, 40, 100) * 1_000
  return between(next, 100, 200) * 1_000
}

/** The steps of a seed (deterministic). */
export const generate = (seed: number, options: GenerateOptions = {}): ReadonlyArray<Step> => {
  const next = prng(seed)
  const setup = setupOf(seed)
  const workers = setup.workers.map((w) => w.name)
  const deployments: Array<string> = []
  let added = 0
  let version = 1
  const steps: Array<Step> = []
  const count = options.steps ?? 30
  while (steps.length < count) {
    const worker = choose(next, workers)
    const r = next()
    let action: Action
    if (r < 0.16 || deployments.length === 0) {
      const fresh = deployments.length < 4 && (deployments.length === 0 || next() < 0.5)
      const deployment = fresh ? `d${deployments.length + 1}` : choose(next, deployments)
      if (fresh) deployments.push(deployment)
      const memory = next() < 0.5 ? undefined : choose(next, ["128m", "256m", "512m", "1g"])
      action = {
        _tag: "Deploy",
        deployment,
        replicas: between(next, 1, 4),
        image: `app:${fresh ? 1 : ++version}`,
        ...(memory === undefined ? {} : { memory })
      }
    } else if (r < 0.28) action = { _tag: "Scale", deployment: choose(next, deployments), replicas: between(next, 0, 6) }
    else if (r < 0.34) action = { _tag: "Drain", worker }
    else if (r < 0.39) action = { _tag: "Undrain", worker }
    else if (r < 0.47) action = { _tag: "Silence", worker }
    else if (r < 0.56) action = { _tag: "Partition", worker }
    else if (r < 0.67) action = { _tag: "Heal", worker }
    else if (r < 0.73) action = { _tag: "Kill", worker }
    else if (r < 0.80) action = { _tag: "Restart", worker }
    else if (r < 0.87) action = { _tag: "RestartMaster", downForMs: next() < 0.5 ? 0 : between(next, 1, 40) * 1_000 }
    else if (r < 0.90) {
      const name = `x${++added}`
      workers.push(name)
      action = { _tag: "AddWorker", worker: name, memory: choose(next, ["2g", "4g"]) }
    } else if (r < 0.93) action = { _tag: "RemoveWorker", worker, force: next() < 0.5 }
    else action = { _tag: "Settle" }
    steps.push({ action, waitMs: action._tag === "Settle" ? 0 : waitOf(next) })
  }
  return steps
}

/** One step as a line: "partition w2, then 75 s". */
export const formatStep = (step: Step): string => {
  const a = step.action
  const what = (() => {
    switch (a._tag) {
      case "Deploy":
        return `deploy ${a.deployment} (${a.image}, ${a.replicas} replica(s)${a.memory === undefined ? "" : `, ${a.memory}`})`
      case "Scale":
        return `scale ${a.deployment} to ${a.replicas}`
      case "RestartMaster":
        return a.downForMs === 0 ? "restart the master" : `stop the master for ${a.downForMs / 1000} s`
      case "AddWorker":
        return `add worker ${a.worker} (${a.memory})`
      case "RemoveWorker":
        return `node rm ${a.worker}${a.force ? " --force" : ""}`
      case "Settle":
        return "settle (heal all, restart every machine, quiet spell)"
      default:
        return `${a._tag.toLowerCase()} ${a.worker}`
    }
  })()
  return step.waitMs > 0 ? `${what}, then ${step.waitMs / 1000} s` : what
}

/** A failure as text: the seed, the steps that reproduce it, and what broke. */
export const formatFailure = (seed: number, steps: ReadonlyArray<Step>, failure: Failure): string =>
  [
    `seed ${seed}: ${failure.violations[0]?.invariant ?? "failure"} after step ${failure.step + 1} of ${steps.length}`,
    ...steps.map((s, i) => `  ${String(i + 1).padStart(2)}. ${formatStep(s)}${i === failure.step ? "   <-- fails here" : ""}`),
    ...failure.violations.map((v) => `  ! ${v.invariant} at ${v.atMs / 1000} s: ${v.detail}`)
  ].join("\n")

// ---------------------------------------------------------------------------------------------
// Running.

/** How often the invariants are looked at during a step's wait. */
const CHECK_EVERY_MS = 10_000
/** How long a settle lets the cluster be quiet before convergence is checked. */
const SETTLE_MS = 180_000

const clusterOptions = (setup: Setup): ClusterOptions => ({
  workers: setup.workers.map((w) => ({ name: w.name, memory: w.memory })),
  config: setup.config,
  ...(setup.stopAfterDisconnect === undefined ? {} : { stopAfterDisconnect: setup.stopAfterDisconnect }),
  seed: setup.seed
})

/** Pods that nothing but the restart itself could move: running, current, on a healthy, Ready, active node. */
const settledPods = (cluster: Cluster) =>
  Effect.gen(function*() {
    const sim = internals(cluster)
    const nodes = yield* cluster.master.use(Effect.flatMap(NodeRegistry, (r) => r.list))
    const healthy = new Set(
      nodes
        .filter((n) => {
          const host = sim.hosts.find((h) => h.name === n.name)
          return isEligible(n) && host !== undefined && host.running && host.link.up
        })
        .map((n) => n.id)
    )
    const deployments = new Map((yield* sim.store.deployments).map((d) => [d.id, d]))
    const rows = yield* sim.store.pods
    return rows.filter((p) => {
      const d = deployments.get(p.deploymentId)
      return p.desired === "run" && p.status === "running" && p.nodeId !== null && healthy.has(p.nodeId) &&
        d !== undefined && p.specHash === revisionOf(d) && p.replicaIndex < d.replicas && d.stopped === 0
    }).map((p) => ({ id: p.id, nodeId: p.nodeId!, name: `${p.deploymentName}-${p.replicaIndex}` }))
  })

const apply = (cluster: Cluster, action: Action): Effect.Effect<void> => {
  const sim = internals(cluster)
  const has = (worker: string) => sim.hosts.some((h) => h.name === worker)
  const onWorker = (worker: string, f: (w: ReturnType<Cluster["worker"]>) => Effect.Effect<void>) =>
    has(worker) ? f(cluster.worker(worker)) : Effect.void
  switch (action._tag) {
    case "Deploy":
      return cluster.deploy({
        project: "sim",
        deployment: { name: action.deployment },
        image: action.image,
        replicas: action.replicas,
        ...(action.memory === undefined ? {} : { resources: { cpu: 0.01, memory: action.memory } })
      }).pipe(Effect.asVoid, Effect.ignore)
    case "Scale":
      return cluster.scale("sim", action.deployment, action.replicas).pipe(Effect.asVoid, Effect.ignore)
    case "Drain":
      return cluster.drain(action.worker).pipe(Effect.asVoid, Effect.ignore)
    case "Undrain":
      return cluster.undrain(action.worker).pipe(Effect.asVoid, Effect.ignore)
    case "Silence":
      return onWorker(action.worker, (w) => w.silence())
    case "Partition":
      return onWorker(action.worker, (w) => w.partition())
    case "Heal":
      return onWorker(action.worker, (w) => w.heal())
    case "Kill":
      return onWorker(action.worker, (w) => w.kill())
    case "Restart":
      return onWorker(action.worker, (w) => w.restart())
    case "RestartMaster":
      return action.downForMs === 0
        ? cluster.master.restart()
        : Effect.zipRight(cluster.master.stop(), Effect.zipRight(advance(cluster, action.downForMs), cluster.master.start()))
    case "AddWorker":
      return has(action.worker) ? Effect.void : Effect.asVoid(cluster.addWorker({ name: action.worker, memory: action.memory }))
    case "RemoveWorker":
      return Effect.gen(function*() {
        const host = sim.hosts.find((h) => h.name === action.worker)
        // a stream the master still holds over a cut link tells the node nothing (until the stream breaks)
        const told = host === undefined || !host.running || (host.link.up && (yield* isConnected(cluster, action.worker)))
        // dead already: its pods moved (and its fence stopped them); otherwise left out (see Action)
        if (action.force && !told && !(yield* isDead(cluster, action.worker))) return
        yield* cluster.removeNode(action.worker, { force: action.force }).pipe(Effect.ignore)
      })
    case "Settle":
      return Effect.forEach(cluster.workers(), (w) =>
        Effect.gen(function*() {
          yield* w.heal()
          if (!(yield* w.state()).running) yield* w.restart()
        }), { discard: true })
  }
}

/** Has this node a stream open to the master now (so that a Removed reaches it)? */
const isConnected = (cluster: Cluster, name: string) =>
  cluster.master.use(Effect.gen(function*() {
    const node = yield* Effect.option(Effect.flatMap(NodeRegistry, (r) => r.findByName(name)))
    if (node._tag === "None") return false
    return (yield* Effect.flatMap(WorkerChannels, (c) => c.connected)).includes(node.value.id)
  }))

/** Has the master declared this node dead? */
const isDead = (cluster: Cluster, name: string) =>
  cluster.master.use(Effect.map(Effect.flatMap(NodeRegistry, (r) => Effect.option(r.findByName(name))), (n) => n._tag === "Some" && n.value.liveness === "Dead"))

/**
 * Let the host's event loop turn. The simulation drains its queue synchronously, so a long run would
 * otherwise starve everything else in the process: a test runner's RPC replies (vitest gives up on
 * them after 60 s) or a bench's timers. A macrotask hop between two checks costs microseconds.
 */
const breathe = Effect.async<void>((resume) => {
  const handle = setImmediate(() => resume(Effect.void))
  return Effect.sync(() => clearImmediate(handle))
})

/** Move virtual time (the simulation's clock, the one TestClock.adjust drives). */
const advance = (cluster: Cluster, ms: number) => internals(cluster).clock.adjust(Duration.millis(ms))

/** Run `steps` on a fresh cluster; stops at the first step after which an invariant fails. */
export const run = (setup: Setup, steps: ReadonlyArray<Step>): Effect.Effect<RunResult> =>
  Effect.gen(function*() {
    const cluster = yield* make(clusterOptions(setup))
    // a replica twice is looked for at every container start, not only between steps
    yield* watch(cluster)
    const start = yield* cluster.now()
    let seenPlacements = 0
    const check = (extra: ReadonlyArray<Violation> = []) =>
      Effect.map(always(cluster), (found) => {
        // a placement on an unavailable node is reported once, at the step it happened in
        const placements = internals(cluster).ineligiblePlacements.length
        const fresh = found.filter((v) => v.invariant !== "placed-on-unavailable-node")
        const newPlacements = found.filter((v) => v.invariant === "placed-on-unavailable-node").slice(seenPlacements)
        seenPlacements = placements
        return [...extra, ...fresh, ...newPlacements]
      })
    const stepWithChecks = (step: Step) =>
      Effect.gen(function*() {
        const restart = step.action._tag === "RestartMaster"
        const before = restart ? yield* settledPods(cluster) : []
        const eventsBefore = internals(cluster).events.length
        const outcome = yield* Effect.exit(apply(cluster, step.action))
        if (Exit.isFailure(outcome)) {
          const crash: Violation = { invariant: "daemon-crashed", atMs: yield* cluster.now(), detail: Cause.pretty(outcome.cause) }
          return [crash]
        }
        let found: ReadonlyArray<Violation> = yield* check()
        let left = step.action._tag === "Settle" ? SETTLE_MS : step.waitMs
        while (found.length === 0 && left > 0) {
          const chunk = Math.min(CHECK_EVERY_MS, left)
          yield* advance(cluster, chunk)
          left -= chunk
          found = yield* check()
          yield* breathe
        }
        if (found.length > 0) return found
        if (restart) found = yield* restartDidNotReschedule(cluster, before, eventsBefore)
        if (found.length === 0 && step.action._tag === "Settle") found = yield* converged(cluster)
        return found
      })
    const all = [...steps, { action: { _tag: "Settle" }, waitMs: 0 } satisfies Step]
    for (let i = 0; i < all.length; i++) {
      const found = yield* stepWithChecks(all[i]!)
      // times from the start of the run, as the steps count them
      const violations = found.map((v) => ({ ...v, atMs: v.atMs - start }))
      if (violations.length > 0) {
        return { stepsRun: i + 1, failure: { step: Math.min(i, steps.length), violations }, virtualMs: (yield* cluster.now()) - start }
      }
    }
    return { stepsRun: steps.length, failure: undefined, virtualMs: (yield* cluster.now()) - start }
  }).pipe(Effect.scoped)

/** After a master restart: the pods that ran on healthy nodes are all where they were, and no such node was marked. */
const restartDidNotReschedule = (
  cluster: Cluster,
  before: ReadonlyArray<{ readonly id: string; readonly nodeId: string; readonly name: string }>,
  eventsBefore: number
) =>
  Effect.gen(function*() {
    const atMs = yield* cluster.now()
    const rows = new Map((yield* internals(cluster).store.pods).map((p) => [p.id as string, p]))
    const violations: Array<Violation> = []
    for (const pod of before) {
      const now = rows.get(pod.id)
      if (now === undefined || now.desired !== "run" || now.nodeId !== pod.nodeId) {
        violations.push({
          invariant: "restart-rescheduled",
          atMs,
          detail: `pod ${pod.name} (${pod.id.slice(0, 8)}) ran on a healthy node before the master restart and is ${
            now === undefined ? "gone" : now.desired !== "run" ? "being stopped" : "elsewhere"
          } after it`
        })
      }
    }
    const sim = internals(cluster)
    for (const e of sim.events.slice(eventsBefore)) {
      const host = sim.hosts.find((h) => h.name === e.name)
      if (e.kind === "node" && (e.action === "notready" || e.action === "dead") && host !== undefined && host.running && host.link.up) {
        violations.push({ invariant: "restart-rescheduled", atMs: e.atMs, detail: `healthy node '${e.name}' was marked ${e.action} after a master restart` })
      }
    }
    return violations
  })

// ---------------------------------------------------------------------------------------------
// Shrinking.

const sameKind = (a: Failure, b: Failure) => {
  const kinds = (f: Failure) => new Set<string>(f.violations.map((v) => v.invariant))
  const ka = kinds(a)
  return [...kinds(b)].some((k) => ka.has(k))
}

/**
 * The shortest list (by removing steps) that still fails with the same invariant: first everything
 * after the failing step goes, then chunks of halving size, then single steps, until nothing more
 * can go. Each candidate is a full run on a fresh cluster.
 */
export const shrink = (
  setup: Setup,
  steps: ReadonlyArray<Step>,
  failure: Failure
): Effect.Effect<{ readonly steps: ReadonlyArray<Step>; readonly failure: Failure }> =>
  Effect.gen(function*() {
    let best = steps.slice(0, failure.step + 1)
    let bestFailure = failure
    const attempt = (candidate: ReadonlyArray<Step>) =>
      Effect.map(run(setup, candidate), (r) =>
        r.failure !== undefined && sameKind(r.failure, failure) ? Option.some(r.failure) : Option.none())
    // the truncated list must fail too (it does unless the failure needs what came after: the final settle)
    const truncated = yield* attempt(best)
    if (Option.isNone(truncated)) {
      best = [...steps]
    } else {
      bestFailure = truncated.value
      best = best.slice(0, bestFailure.step + 1)
    }
    let chunk = Math.max(1, Math.floor(best.length / 2))
    while (chunk >= 1) {
      let removed = false
      for (let start = 0; start < best.length; start += chunk) {
        const candidate = [...best.slice(0, start), ...best.slice(start + chunk)]
        if (candidate.length === 0) continue
        const failed = yield* attempt(candidate)
        if (Option.isSome(failed)) {
          best = candidate.slice(0, failed.value.step + 1)
          bestFailure = failed.value
          removed = true
          start -= chunk
        }
      }
      if (!removed) chunk = Math.floor(chunk / 2)
    }
    return { steps: best, failure: bestFailure }
  })

/** Generate, run and (on failure) shrink one seed. */
export const runSeed = (seed: number, options: GenerateOptions = {}): Effect.Effect<SeedReport> =>
  Effect.gen(function*() {
    const setup = setupOf(seed)
    const steps = generate(seed, options)
    const result = yield* run(setup, steps)
    if (result.failure === undefined) return { seed, setup, steps, result }
    const shrunk = yield* shrink(setup, steps, result.failure)
    return { seed, setup, steps, result, shrunk }
  })
