// Failover on the lab (test/lab/README.md: hosts as network namespaces, one Docker engine each, real
// helyosd processes): a master and two workers, 4 replicas. Each run cuts the link of the worker
// holding the most replicas and measures
//   (a) from the cut to all its replicas Running elsewhere (as the API shows them, and as the healthy
//       hosts' engines show them: every replica index running on a host that is not the victim),
//   (b) from the heal to the victim's stale containers being gone from its engine,
// plus when the master called the node NotReady and dead, and when it counted it Ready again.
// Once with the lab's compressed timers (several runs), once with the documented defaults (heartbeat
// 5s, monitor 10s, NotReady 30s, dead 60s: about 1.5 minutes). Prints figures only, no assertions.
//
//   npm run build && sudo npm run bench:failover
//   BENCH_FAILOVER_RUNS=3 (compressed runs)   BENCH_FAILOVER_DEFAULTS=0 (skip the default-timer run)
import { performance } from "node:perf_hooks"
import { type EngineContainer, eventually, Lab, type LabCluster, labTimers, replicaIndexOf, sleep } from "../test/lab/Lab.js"

const runs = Number(process.env.BENCH_FAILOVER_RUNS ?? 3)
const withDefaults = process.env.BENCH_FAILOVER_DEFAULTS !== "0"
const REPLICAS = 4
const PROJECT = "bench"

const app = `project: ${PROJECT}
deployment:
  name: web
image: helyos-test/busybox:2
replicas: ${REPLICAS}
command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"]
`

interface Profile {
  readonly name: string
  /** master timer flags ([] = the daemon's documented defaults) */
  readonly timers: ReadonlyArray<string>
  readonly heartbeatMs: number
  readonly notReadyMs: number
  readonly deadMs: number
  /** how long the partition lasts after the replicas run elsewhere */
  readonly holdMs: number
  readonly runs: number
  /** polling period of the measurements */
  readonly pollMs: number
}

const profiles: ReadonlyArray<Profile> = [
  { name: "lab (500ms / 250ms / 3s / 6s)", timers: labTimers, heartbeatMs: 500, notReadyMs: 3_000, deadMs: 6_000, holdMs: 5_000, runs, pollMs: 100 },
  ...(withDefaults
    ? [{ name: "defaults (5s / 10s / 30s / 60s)", timers: [], heartbeatMs: 5_000, notReadyMs: 30_000, deadMs: 60_000, holdMs: 10_000, runs: 1, pollMs: 250 }]
    : [])
]

interface Run {
  readonly victim: string
  readonly moved: number
  readonly notReadyS: number
  readonly deadS: number
  readonly replacedApiS: number
  readonly replacedEnginesS: number
  readonly partitionS: number
  readonly staleGoneS: number
  readonly readyAgainS: number
}

const running = (all: ReadonlyArray<EngineContainer>) =>
  all.filter((c) => c.state === "running" && c.labels["helyos.project"] === PROJECT)

const apiRunning = async (cluster: LabCluster) => (await cluster.apiPods(PROJECT)).filter((p) => p.status === "running")

/** Every replica Running (API) and each index once in the engines. */
const settled = (lab: Lab, cluster: LabCluster) =>
  eventually(async () => {
    const nodes = await cluster.apiNodes()
    if (nodes.some((n) => n.status !== "Ready")) throw new Error(`not all Ready: ${nodes.map((n) => `${n.name}:${n.status}`)}`)
    if ((await apiRunning(cluster)).length !== REPLICAS) throw new Error("not all running")
    const indexes = running(await lab.containers()).map((c) => replicaIndexOf(c)).sort((a, b) => a! - b!)
    if (JSON.stringify(indexes) !== JSON.stringify([...Array(REPLICAS).keys()])) throw new Error(`engines run ${indexes}`)
  }, 180_000, 250)

const oneRun = async (lab: Lab, cluster: LabCluster, profile: Profile): Promise<Run> => {
  await settled(lab, cluster)
  const pods = await apiRunning(cluster)
  const byNode = new Map<string, number>()
  for (const p of pods) if (p.node !== null && p.node !== "m") byNode.set(p.node, (byNode.get(p.node) ?? 0) + 1)
  const victimName = [...byNode].sort((a, b) => b[1] - a[1])[0]![0]
  const victim = lab.host(victimName)
  const stale = new Set(pods.filter((p) => p.node === victimName).map((p) => p.id))
  const masterLogFrom = cluster.masterProc.output().length

  const cutAt = performance.now()
  const since = (t0: number) => (performance.now() - t0) / 1000
  await victim.cut()
  const marks: Record<string, number> = {}
  const mark = (name: string, p: Promise<unknown>) => p.then(() => (marks[name] = since(cutAt)))
  const budget = profile.deadMs + 10 * profile.heartbeatMs + 60_000
  await Promise.all([
    mark("notReady", eventually(async () => {
      if ((await cluster.apiNodes()).find((n) => n.name === victimName)?.status !== "NotReady") throw new Error("not yet")
    }, budget, profile.pollMs)),
    mark("dead", cluster.masterProc.waitFor(new RegExp(`node '${victimName}' is dead`), budget, masterLogFrom)),
    mark("replacedApi", eventually(async () => {
      const now = await apiRunning(cluster)
      if (now.length !== REPLICAS || now.some((p) => p.node === victimName)) throw new Error("not yet")
    }, budget, profile.pollMs)),
    mark("replacedEngines", eventually(async () => {
      const elsewhere = running(await lab.containers()).filter((c) => c.host !== victimName)
      const indexes = new Set(elsewhere.map((c) => replicaIndexOf(c)))
      if (indexes.size !== REPLICAS) throw new Error("not yet")
    }, budget, profile.pollMs))
  ])
  // a partition lasts a while longer than the failover
  await sleep(profile.holdMs)
  const partitionS = since(cutAt)

  const healAt = performance.now()
  await victim.heal()
  const back: Record<string, number> = {}
  const markBack = (name: string, p: Promise<unknown>) => p.then(() => (back[name] = since(healAt)))
  await Promise.all([
    markBack("staleGone", eventually(async () => {
      const left = running(await victim.containers()).filter((c) => stale.has(c.labels["helyos.pod-id"] ?? ""))
      if (left.length > 0) throw new Error("not yet")
    }, 120_000, profile.pollMs)),
    markBack("readyAgain", eventually(async () => {
      if ((await cluster.apiNodes()).find((n) => n.name === victimName)?.status !== "Ready") throw new Error("not yet")
    }, 120_000, profile.pollMs))
  ])
  return {
    victim: victimName,
    moved: stale.size,
    notReadyS: marks["notReady"]!,
    deadS: marks["dead"]!,
    replacedApiS: marks["replacedApi"]!,
    replacedEnginesS: marks["replacedEngines"]!,
    partitionS,
    staleGoneS: back["staleGone"]!,
    readyAgainS: back["readyAgain"]!
  }
}

const f = (s: number) => s.toFixed(2)

const main = async () => {
  if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, bridges, dockerd)")
  const results: Array<{ profile: Profile; runs: Array<Run> }> = []
  for (const profile of profiles) {
    const t0 = performance.now()
    const lab = await Lab.create({ hosts: ["m", "w1", "w2"] })
    try {
      const cluster = await lab.startCluster({ timers: profile.timers })
      const deployed = await cluster.deploy(app)
      if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stdout}${deployed.stderr}`)
      console.log(`${profile.name}: lab and cluster up in ${f((performance.now() - t0) / 1000)} s`)
      const done: Array<Run> = []
      for (let i = 0; i < profile.runs; i++) {
        const run = await oneRun(lab, cluster, profile)
        done.push(run)
        console.log(`  run ${i + 1}: ${JSON.stringify(run, (_, v: unknown) => (typeof v === "number" ? Number(v.toFixed(2)) : v))}`)
      }
      results.push({ profile, runs: done })
    } finally {
      await lab.destroy()
    }
  }

  console.log("\nseconds; (a) from the cut, (b) from the heal")
  console.log("| timers | run | victim (pods) | NotReady | dead | (a) all Running elsewhere, API | (a) engines | partition | (b) stale containers gone | Ready again |")
  console.log("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
  for (const { profile, runs: done } of results) {
    done.forEach((r, i) => {
      console.log(`| ${profile.name} | ${i + 1} | ${r.victim} (${r.moved}) | ${f(r.notReadyS)} | ${f(r.deadS)} | ${f(r.replacedApiS)} | ` +
        `${f(r.replacedEnginesS)} | ${f(r.partitionS)} | ${f(r.staleGoneS)} | ${f(r.readyAgainS)} |`)
    })
  }
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
