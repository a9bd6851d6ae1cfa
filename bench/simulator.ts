// The cluster simulator (helyos/testkit) measured: (1) scale — 1,000 simulated workers and 10,000
// pods for one virtual hour at the documented default timers, a fault every virtual minute: wall
// time, CPU and memory; (2) seeds — the seeded fault runner over a range of seeds: how many it
// sustains per minute, and any failure with its shrunk steps. Prints figures, asserts nothing.
//
//   npm run build && npm run bench:simulator
//   BENCH_SIM_PART=scale|seeds (default both)
//   BENCH_SIM_WORKERS=1000 BENCH_SIM_PODS=10000 BENCH_SIM_MINUTES=60   (scale)
//   BENCH_SIM_SEEDS=1-100 BENCH_SIM_STEPS=30                            (seeds; a failure exits 1)
import { Effect, TestClock } from "effect"
import { performance } from "node:perf_hooks"
import { FaultRuns, Invariants, SimCluster } from "../src/testkit/index.js"

const part = process.env.BENCH_SIM_PART ?? "all"
const workers = Number(process.env.BENCH_SIM_WORKERS ?? 1_000)
const pods = Number(process.env.BENCH_SIM_PODS ?? 10_000)
const minutes = Number(process.env.BENCH_SIM_MINUTES ?? 60)
const [seedFrom, seedTo] = (process.env.BENCH_SIM_SEEDS ?? "1-100").split("-").map(Number) as [number, number]
const steps = Number(process.env.BENCH_SIM_STEPS ?? 30)

const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(0)
const seconds = (ms: number) => (ms / 1000).toFixed(1)

/** A tiny deterministic PRNG (the faults are the same on every run). */
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

const scale = Effect.gen(function*() {
  let peakRss = 0
  const sample = () => {
    peakRss = Math.max(peakRss, process.memoryUsage().rss)
  }
  const t0 = performance.now()
  const cluster = yield* SimCluster.make({ workers })
  const deployments = Math.ceil(pods / 100)
  for (let d = 0; d < deployments; d++) {
    const replicas = Math.min(100, pods - d * 100)
    yield* cluster.deploy({ project: "bench", deployment: { name: `d${d}` }, image: "app:1", replicas })
  }
  // the pods start and report (one heartbeat), then the measured hour
  yield* TestClock.adjust("10 seconds")
  const setupMs = performance.now() - t0
  sample()
  const running = (yield* cluster.pods()).filter((p) => p.status === "running").length
  console.log(`set up ${workers} workers and ${pods} pods (${running} running) in ${seconds(setupMs)} s, RSS ${mib(process.memoryUsage().rss)} MiB`)

  const next = prng(42)
  const names = cluster.workers().map((w) => w.name)
  const pick = () => cluster.worker(names[Math.floor(next() * names.length)]!)
  // each fault is undone two minutes later (a silence or partition that long crosses dead-after)
  const undo: Array<{ readonly atMinute: number; readonly run: Effect.Effect<void> }> = []
  const faults = { silence: 0, partition: 0, kill: 0, restart: 0, master: 0 }
  const cpu0 = process.cpuUsage()
  const t1 = performance.now()
  for (let minute = 0; minute < minutes; minute++) {
    for (const u of undo.filter((u) => u.atMinute === minute)) yield* u.run
    const r = next()
    const w = pick()
    if (r < 0.25) {
      faults.silence++
      yield* w.silence()
      undo.push({ atMinute: minute + 2, run: w.heal() })
    } else if (r < 0.5) {
      faults.partition++
      yield* w.partition()
      undo.push({ atMinute: minute + 2, run: w.heal() })
    } else if (r < 0.75) {
      faults.kill++
      yield* w.kill()
      undo.push({ atMinute: minute + 2, run: w.restart() })
    } else if (r < 0.92) {
      faults.restart++
      yield* w.restart()
    } else {
      faults.master++
      yield* cluster.master.restart()
    }
    yield* TestClock.adjust("1 minute")
    sample()
    if ((minute + 1) % 10 === 0) {
      console.log(`  virtual minute ${minute + 1}: ${seconds(performance.now() - t1)} s wall, RSS ${mib(process.memoryUsage().rss)} MiB`)
    }
  }
  const wallMs = performance.now() - t1
  const cpu = process.cpuUsage(cpu0)
  const violations = yield* Invariants.always(cluster)
  const nodes = yield* cluster.nodes()
  console.log(
    `\n| workers | pods | virtual | wall | CPU (user+sys) | peak RSS | heap used | faults |\n|---:|---:|---:|---:|---:|---:|---:|---|\n` +
      `| ${workers} | ${pods} | ${minutes} min | ${seconds(wallMs)} s | ${seconds((cpu.user + cpu.system) / 1000)} s | ${mib(peakRss)} MiB | ${
        mib(process.memoryUsage().heapUsed)
      } MiB | ${faults.silence} silences, ${faults.partition} partitions, ${faults.kill} kills, ${faults.restart} worker restarts, ${faults.master} master restarts |`
  )
  console.log(`(set-up ${seconds(setupMs)} s not included; at the end: ${nodes.filter((n) => n.status === "Ready").length} nodes Ready, ${violations.length} invariant violation(s))`)
  for (const v of violations.slice(0, 5)) console.log(`  ${v.invariant}: ${v.detail}`)
}).pipe(Effect.scoped)

const seeds = Effect.gen(function*() {
  const t0 = performance.now()
  let clean = 0
  let virtualMs = 0
  const failed: Array<number> = []
  for (let seed = seedFrom; seed <= seedTo; seed++) {
    const report = yield* FaultRuns.runSeed(seed, { steps })
    virtualMs += report.result.virtualMs
    if (report.shrunk === undefined) {
      clean++
    } else {
      failed.push(seed)
      console.log(FaultRuns.formatFailure(seed, report.shrunk.steps, report.shrunk.failure))
    }
    if ((seed - seedFrom + 1) % 50 === 0) console.log(`  ${seed - seedFrom + 1} seeds, ${seconds(performance.now() - t0)} s`)
  }
  const wallMs = performance.now() - t0
  const count = seedTo - seedFrom + 1
  console.log(
    `\nseeds ${seedFrom}-${seedTo} (${steps} steps each): ${clean} clean, ${failed.length} failed${failed.length > 0 ? ` (${failed.join(", ")})` : ""}; ` +
      `${seconds(wallMs)} s wall, ${(count / (wallMs / 60_000)).toFixed(1)} seeds/min, ${(virtualMs / 3_600_000).toFixed(1)} virtual hours`
  )
  if (failed.length > 0) process.exitCode = 1
})

const program = Effect.gen(function*() {
  if (part === "all" || part === "scale") yield* scale
  if (part === "all" || part === "seeds") yield* seeds
})

Effect.runPromise(program).catch((error) => {
  console.error(error)
  process.exit(1)
})
