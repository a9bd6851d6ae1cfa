// Lab e2e, faults: what a user of a multi-host cluster sees when a daemon is killed, when packets are
// lost and late, when a partitioned worker fences itself, and when an operator drains and removes a
// host. A master (m) and two workers (w1, w2; w2 dials the master through a delaying relay) on three
// simulated hosts, each with its own Docker engine; compressed timers (labTimers: heartbeat 500ms,
// scan 250ms, NotReady 3s, dead 6s). What runs is always counted in the hosts' own engines.
// Needs root, iproute2, iptables and dockerd: where it cannot build its namespaces it FAILS (never skips).
import { afterAll, describe, expect, it } from "vitest"
import {
  DEAD_AFTER_MS,
  type EngineContainer,
  eventually,
  isSampleError,
  Lab,
  type LabCluster,
  type PodJson,
  replicaIndexOf,
  sampleEvery,
  sleep
} from "./Lab.js"

const NOT_READY_MS = 3_000
const PROJECT = "faults"
const REPLICAS = 4

let lab: Lab | undefined
let cluster: LabCluster
let building: Promise<void> | undefined

/**
 * The lab and its cluster, built once for the file, inside each test (not in beforeAll): where the
 * namespaces cannot be built every test FAILS (a failed hook would leave them reported as skipped).
 */
const ready = () => {
  building ??= (async () => {
    const t0 = Date.now()
    lab = await Lab.create({ hosts: ["m", "w1", "w2"] })
    cluster = await lab.startCluster({ relay: ["w2"] })
    const deployed = await cluster.deploy(app(REPLICAS))
    if (deployed.code !== 0) throw new Error(`helyos deploy failed:\n${deployed.stdout}${deployed.stderr}`)
    await converged(REPLICAS)
    console.log(`faults lab: built, cluster Ready and ${REPLICAS} replicas running in ${(Date.now() - t0) / 1000} s`)
  })()
  return building
}

afterAll(async () => {
  await lab?.destroy()
}, 180_000)

const app = (replicas: number) => `project: ${PROJECT}
deployment:
  name: web
image: helyos-test/busybox:2
replicas: ${replicas}
# PID 1 ignores SIGTERM unless it traps it: without the trap every stop waits out the 5 s grace
command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo hello from $(hostname); sleep 1; done"]
`

// ---------------------------------------------------------------------------------------------
// What runs, seen from the engines and from the API

const runningWeb = (all: ReadonlyArray<EngineContainer>) =>
  all.filter((c) => c.state === "running" && c.labels["helyos.project"] === PROJECT && c.labels["helyos.deployment"] === "web")

const engineRunning = async () => runningWeb(await lab!.containers())

/** host → sorted "podId container-id" of its running replicas: what a restart or a move would change. */
const containerIdsByHost = (running: ReadonlyArray<EngineContainer>) => {
  const byHost: Record<string, Array<string>> = Object.fromEntries(lab!.hosts.map((h) => [h.name, []]))
  for (const c of running) byHost[c.host]!.push(`${c.labels["helyos.pod-id"]} ${c.id}`)
  for (const ids of Object.values(byHost)) ids.sort()
  return byHost
}

/** replica indexes that run more than once across all engines, with where */
const twice = (running: ReadonlyArray<EngineContainer>) => {
  const where = new Map<number | undefined, Array<string>>()
  for (const c of running) where.set(replicaIndexOf(c), [...(where.get(replicaIndexOf(c)) ?? []), c.host])
  return [...where].filter(([, hosts]) => hosts.length > 1).map(([index, hosts]) => `${index}@${hosts.join("+")}`)
}

const apiRunning = async () => (await cluster.apiPods(PROJECT)).filter((p) => p.status === "running")
const apiStatus = async (name: string) => (await cluster.apiNodes()).find((n) => n.name === name)?.status

/**
 * The deployment has converged: `replicas` pods Running in the API with distinct indexes, and in the
 * engines every index 0..replicas-1 runs exactly once, on the host the API places its pod on.
 */
const converged = (replicas: number, timeoutMs = 30_000) =>
  eventually(async () => {
    const pods = await apiRunning()
    expect(pods).toHaveLength(replicas)
    expect(new Set(pods.map((p) => p.replica_index)).size).toBe(replicas)
    const running = await engineRunning()
    const indexes = running.map((c) => replicaIndexOf(c)).sort((a, b) => a! - b!)
    expect(indexes, running.map((c) => `${c.host}:${c.name}`).join(", ")).toEqual([...Array(replicas).keys()])
    const byId = new Map<string, PodJson>(pods.map((p) => [p.id, p]))
    for (const c of running) expect(byId.get(c.labels["helyos.pod-id"] ?? "")?.node, c.name).toBe(c.host)
    return { pods, running }
  }, timeoutMs, 200)

const allReady = (timeoutMs = 30_000) =>
  eventually(async () => {
    const nodes = await cluster.apiNodes()
    expect(nodes.map((n) => `${n.name}:${n.status}`).sort()).toEqual(["m:Ready", "w1:Ready", "w2:Ready"])
  }, timeoutMs, 100)

const WORKERS = ["w1", "w2"]

/**
 * Every replica onto worker `name`: drain the other workers until their pods moved (replacement-first),
 * then undrain them. (A rolling restart would not do: the spread scheduler holds a node's recent
 * failures — pods lost with it — against it for minutes, so after a fault it prefers the other host.)
 */
const gatherOn = async (name: string) => {
  const others = WORKERS.filter((w) => w !== name)
  for (const other of others) {
    const drained = await cluster.cli(["node", "drain", other])
    expect(drained.code, drained.stdout + drained.stderr).toBe(0)
  }
  await eventually(async () => {
    const { pods } = await converged(REPLICAS, 1_000)
    expect(pods.map((p) => p.node)).toEqual(pods.map(() => name))
  }, 60_000, 250)
  for (const other of others) {
    const undrained = await cluster.cli(["node", "undrain", other])
    expect(undrained.code, undrained.stdout + undrained.stderr).toBe(0)
  }
  await allReady()
}

/** `name` holds at least one replica (gathering them all there when it holds none). */
const holdsPods = async (name: string) => {
  if (!(await apiRunning()).some((p) => p.node === name)) await gatherOn(name)
}

/**
 * From now on (at most `maxMs`), watch a worker come back: when the master first shows it Ready, whether
 * its stale containers still ran at that moment, when they were gone, and every status change.
 */
const watchReturn = async (name: string, staleIds: ReadonlySet<string>, maxMs = 40_000) => {
  const t0 = Date.now()
  const s = () => (Date.now() - t0) / 1000
  let firstReadyS: number | undefined
  let staleGoneS: number | undefined
  let staleAtReady: Array<string> = []
  const flips: Array<string> = []
  let last: string | undefined
  while (Date.now() - t0 < maxMs) {
    const [status, containers] = await Promise.all([apiStatus(name), lab!.host(name).containers()])
    const stale = runningWeb(containers).filter((c) => staleIds.has(c.labels["helyos.pod-id"] ?? ""))
    if (status !== last) flips.push(`${s().toFixed(2)}s ${status}`)
    last = status
    if (staleGoneS === undefined && stale.length === 0) staleGoneS = s()
    if (firstReadyS === undefined && status === "Ready") {
      firstReadyS = s()
      staleAtReady = stale.map((c) => c.name)
    }
    if (firstReadyS !== undefined && staleGoneS !== undefined && s() > Math.max(firstReadyS, staleGoneS) + 3) break
    await sleep(100)
  }
  return { firstReadyS, staleGoneS, staleAtReady, flips }
}

const secondsSince = (t0: number) => (Date.now() - t0) / 1000

/** The first test builds the lab, after waiting for any other lab run on the machine (one at a time). */
const FIRST_TEST_TIMEOUT_MS = 420_000

describe("lab faults: crashes, a lossy slow path, self-fencing, drain and remove", () => {
  it("a worker killed with -9 and restarted at once comes back with nothing lost: the same replicas, each index once, all Ready", async () => {
    await ready()
    await allReady()
    const { running } = await converged(REPLICAS)
    const before = containerIdsByHost(running)
    expect(before["w1"]!.length).toBeGreaterThan(0)
    const masterLogFrom = cluster.masterProc.output().length
    const old = cluster.workers.get("w1")!

    const killedAt = Date.now()
    await cluster.killWorker("w1")
    expect(old.child.signalCode).toBe("SIGKILL")
    // a crashed daemon is not a stopped workload: its containers run on in the host's engine
    expect(containerIdsByHost(await engineRunning())).toEqual(before)
    const watch = sampleEvery(100, () => apiStatus("w1"))
    const proc = await cluster.restartWorker("w1")
    await proc.waitFor(/registered with the master/, 60_000)
    const registeredS = secondsSince(killedAt)
    await proc.waitFor(/connected to the master/, 10_000)
    const after = await converged(REPLICAS)
    await allReady()
    const readyS = secondsSince(killedAt)
    const statuses = await watch.stop()
    const declaredDead = /node 'w1' is dead/.test(cluster.masterProc.output().slice(masterLogFrom))
    console.log(`lab worker kill -9 + restart at once: registered ${registeredS} s after the kill, converged and all Ready ` +
      `${readyS} s; w1 seen as ${[...new Set(statuses.map((x) => JSON.stringify(x.value)))].join(" → ")}; ` +
      `declared dead meanwhile: ${declaredDead} (dead-after ${DEAD_AFTER_MS / 1000} s)`)

    if (!declaredDead) {
      // back within dead-after: the new daemon adopted what ran, every container is the one from before
      expect(containerIdsByHost(after.running)).toEqual(before)
    } else {
      // the start took longer than dead-after: the pods ran elsewhere meanwhile and the old ones are gone
      expect(runningWeb(await lab!.host("w1").containers()).filter((c) => before["w1"]!.includes(`${c.labels["helyos.pod-id"]} ${c.id}`)))
        .toEqual([])
    }
    const nodes = await cluster.nodes()
    expect(nodes.map((n) => `${n.name}:${n.status}`).sort()).toEqual(["m:Ready", "w1:Ready", "w2:Ready"])
  }, FIRST_TEST_TIMEOUT_MS)

  it("a worker killed with -9 and kept down past dead-after: its pods run elsewhere; restarted, it removes its stale containers, no replica twice", async () => {
    await ready()
    await holdsPods("w1")
    const { pods } = await converged(REPLICAS)
    const stale = new Set(pods.filter((p) => p.node === "w1").map((p) => p.id))
    expect(stale.size).toBeGreaterThan(0)
    const masterLogFrom = cluster.masterProc.output().length

    const killedAt = Date.now()
    await cluster.killWorker("w1")
    await cluster.masterProc.waitFor(/node 'w1' is dead/, DEAD_AFTER_MS + 10_000, masterLogFrom)
    const deadS = secondsSince(killedAt)
    await eventually(async () => {
      const running = await apiRunning()
      expect(running).toHaveLength(REPLICAS)
      expect(running.filter((p) => p.node === "w1")).toHaveLength(0)
    }, 20_000, 100)
    const replacedS = secondsSince(killedAt)
    // nobody stopped the dead daemon's containers: they still run in w1's engine (unmanaged)
    const orphans = runningWeb(await lab!.host("w1").containers())
    expect(orphans.map((c) => c.labels["helyos.pod-id"]).sort()).toEqual([...stale].sort())

    const restartedAt = Date.now()
    const proc = await cluster.restartWorker("w1")
    const back = await watchReturn("w1", stale)
    await proc.waitFor(/connected to the master/, 10_000)
    console.log(`lab worker kill -9, down past dead-after: ${JSON.stringify({ deadS, replacedS, ...back })} ` +
      `(seconds; dead/replaced from the kill, the rest from the restart ${secondsSince(restartedAt)} s ago)`)
    expect(back.firstReadyS, JSON.stringify(back)).toBeDefined()
    expect(back.staleGoneS, JSON.stringify(back)).toBeDefined()
    // Ready only once the stale containers are gone, and no flapping on the way (soft: the end state
    // below is checked and reported too)
    expect.soft(back.staleAtReady, `w1 was Ready while its stale containers ran: ${JSON.stringify(back)}`).toEqual([])
    expect(back.flips.filter((f) => / Ready$/.test(f)), JSON.stringify(back)).toHaveLength(1)
    await converged(REPLICAS)
    await allReady()
  }, 180_000)

  it("a master killed with -9, kept down past dead-after and restarted on its data dir moves and restarts no pod; the workers reconnect", async () => {
    await ready()
    await allReady()
    const { running, pods } = await converged(REPLICAS)
    const before = containerIdsByHost(running)
    const podsBefore = pods.map((p) => `${p.id} ${p.node} ${p.container_id}`).sort()
    const workerLogFrom = new Map([...cluster.workers].map(([name, proc]) => [name, proc.output().length]))

    const killedAt = Date.now()
    await cluster.killMaster()
    // the workloads do not need the master: sample the engines while it is away, for longer than
    // dead-after, so a restarted master that judged its workers by their last heartbeat would kill them
    const during = sampleEvery(500, async () => JSON.stringify(containerIdsByHost(await engineRunning())))
    await sleep(DEAD_AFTER_MS + 2_000)
    const outage = await during.stop()
    const restartAt = Date.now()
    await cluster.restartMaster()
    const listeningS = secondsSince(restartAt)
    const masterLogFrom = 0 // a fresh process: its whole output is since the restart
    const reconnectS: Record<string, number> = {}
    await Promise.all([...cluster.workers].map(async ([name, proc]) => {
      await proc.waitFor(/connected to the master/, 30_000, workerLogFrom.get(name))
      reconnectS[name] = secondsSince(restartAt)
    }))
    await allReady()
    const allReadyS = secondsSince(restartAt)
    const after = await converged(REPLICAS)
    console.log(`lab master kill -9: down ${(restartAt - killedAt) / 1000} s, listening ${listeningS} s after the restart, ` +
      `workers reconnected ${JSON.stringify(reconnectS)} s, all Ready ${allReadyS} s after the restart`)

    for (const sample of outage) expect(sample.value, `at ${sample.atMs} ms of the outage`).toBe(JSON.stringify(before))
    // every pod keeps its container, in every host's engine, and the API says the same
    expect(containerIdsByHost(after.running)).toEqual(before)
    expect(after.pods.map((p) => `${p.id} ${p.node} ${p.container_id}`).sort()).toEqual(podsBefore)
    const masterLog = cluster.masterProc.output().slice(masterLogFrom)
    expect(masterLog).not.toMatch(/is dead|is NotReady/)
    const nodes = await cluster.nodes()
    expect(nodes.map((n) => `${n.name}:${n.status}`).sort()).toEqual(["m:Ready", "w1:Ready", "w2:Ready"])
  }, 180_000)

  it("10 % packet loss and 200 ms more latency on a worker's path for 20 s cause no NotReady and no flapping", async () => {
    await ready()
    await allReady()
    const { running } = await converged(REPLICAS)
    const before = containerIdsByHost(running)
    const w2 = lab!.host("w2")
    const w2Proc = cluster.workers.get("w2")!
    const masterLogFrom = cluster.masterProc.output().length
    const workerLogFrom = w2Proc.output().length

    await w2.delay(200)
    await w2.loss(0.1)
    const startedAt = Date.now()
    // every 250 ms: w2's status and how old its last heartbeat is, as the API shows them
    const sampler = sampleEvery(250, async () => {
      const node = (await cluster.apiNodes()).find((n) => n.name === "w2")!
      return { status: node.status, ageMs: Date.now() - Date.parse(String(node["last_heartbeat"])) }
    })
    let samples: Awaited<ReturnType<typeof sampler.stop>>
    try {
      await sleep(20_000)
    } finally {
      samples = await sampler.stop()
      await w2.loss(0)
      await w2.delay(0)
    }
    const faultS = secondsSince(startedAt)

    const statuses = samples.map((s) => (isSampleError(s.value) ? `error: ${s.value.error}` : s.value.status))
    const ages = samples.flatMap((s) => (isSampleError(s.value) ? [] : [s.value.ageMs]))
    const workerLog = w2Proc.output().slice(workerLogFrom)
    const reconnects = workerLog.split("\n").filter((l) => /connected to the master/.test(l)).length
    const counts = Object.fromEntries([...new Set(statuses)].map((st) => [st, statuses.filter((x) => x === st).length]))
    console.log(`lab loss 10 % + 200 ms on w2 for ${faultS} s: ${samples.length} samples ${JSON.stringify(counts)}, ` +
      `last heartbeat age max ${Math.max(...ages)} ms (p50 ${ages.sort((a, b) => a - b)[Math.floor(ages.length / 2)]} ms), ` +
      `worker reconnects ${reconnects}, NotReady after ${NOT_READY_MS} ms`)

    expect(samples.length).toBeGreaterThan(40)
    expect(statuses.filter((st) => st !== "Ready"), JSON.stringify(counts)).toEqual([])
    expect(Math.max(...ages)).toBeLessThan(NOT_READY_MS)
    expect(cluster.masterProc.output().slice(masterLogFrom)).not.toMatch(/node 'w2' is (NotReady|dead)/)
    // nothing moved or restarted
    expect(containerIdsByHost((await converged(REPLICAS)).running)).toEqual(before)
    expect(await cluster.statusOf("w2")).toBe("Ready")
  }, 180_000)

  it("a worker started with --stop-after-disconnect 6s stops its pods while partitioned (no replica twice, even while cut) and after heal runs what the master assigns it", async () => {
    await ready()
    // restart w1 with self-fencing (kill -9: its containers run on and the new daemon adopts them)
    await cluster.killWorker("w1")
    const w1Proc = await cluster.restartWorker("w1", ["--stop-after-disconnect", `${DEAD_AFTER_MS / 1000}s`])
    await w1Proc.waitFor(/connected to the master/, 60_000)
    await allReady()
    await holdsPods("w1")
    const { pods } = await converged(REPLICAS)
    const stale = new Set(pods.filter((p) => p.node === "w1").map((p) => p.id))
    expect(stale.size).toBeGreaterThan(0)
    const victim = lab!.host("w1")
    const logFrom = w1Proc.output().length
    const masterLogFrom = cluster.masterProc.output().length

    const cutAt = Date.now()
    await victim.cut()
    // across all engines, every 200 ms: which replica indexes run twice, and how many run on w1
    const sampler = sampleEvery(200, async () => {
      const running = await engineRunning()
      return { twice: twice(running), onW1: running.filter((c) => c.host === "w1").length, total: running.length }
    })
    const cut: Record<string, number> = {}
    // each moment timed on its own, all watched at once
    const timed = (name: string, p: Promise<unknown>) => p.then(() => (cut[name] = secondsSince(cutAt)))
    try {
      await Promise.all([
        timed("fencedS", w1Proc.waitFor(/has not heard from the master .*stopping its \d+ pod/, DEAD_AFTER_MS + 10_000, logFrom)),
        timed("w1EmptyS", eventually(async () => expect(runningWeb(await victim.containers())).toHaveLength(0), 20_000, 100)),
        timed("deadS", cluster.masterProc.waitFor(/node 'w1' is dead/, DEAD_AFTER_MS + 10_000, masterLogFrom)),
        timed("replacedS", eventually(async () => {
          const running = await apiRunning()
          expect(running).toHaveLength(REPLICAS)
          expect(running.filter((p) => p.node === "w1")).toHaveLength(0)
        }, 25_000, 100))
      ])
      await converged(REPLICAS)
      // a cut is not a crash: the fenced worker lives on
      expect(w1Proc.child.exitCode).toBeNull()
    } finally {
      await sampler.stop()
      await victim.heal()
    }
    const samples = sampler.samples
    const healAt = Date.now()
    const back = await watchReturn("w1", stale)
    await w1Proc.waitFor(/hears the master again/, 15_000, logFrom)
    const overlaps = samples.filter((s) => !isSampleError(s.value) && s.value.twice.length > 0)
      .map((s) => `${(s.atMs / 1000).toFixed(1)}s ${JSON.stringify(s.value)}`)
    console.log(`lab self-fencing (--stop-after-disconnect ${DEAD_AFTER_MS / 1000}s = dead-after): ` +
      JSON.stringify({ ...cut, samples: samples.length, overlaps, heal: back }) +
      ` (seconds from the cut; heal figures from the heal ${secondsSince(healAt)} s ago)`)

    // while cut: no replica index ever ran twice across the engines
    expect(samples.filter((s) => isSampleError(s.value)), "engine samples that failed").toEqual([])
    expect(overlaps).toEqual([])
    // after heal: w1 runs exactly what the master assigns it, and takes new work
    expect(back.firstReadyS, JSON.stringify(back)).toBeDefined()
    expect(back.flips.filter((f) => / Ready$/.test(f)), JSON.stringify(back)).toHaveLength(1)
    const assignedToW1 = async () =>
      (await apiRunning()).filter((p) => p.node === "w1").map((p) => p.id).sort()
    const runsOnW1 = async () => runningWeb(await victim.containers()).map((c) => c.labels["helyos.pod-id"]).sort()
    await eventually(async () => expect(await runsOnW1()).toEqual(await assignedToW1()), 15_000, 200)
    // and what it is assigned next, it runs: everything, once w2 is drained
    await gatherOn("w1")
    const assigned = await assignedToW1()
    expect(assigned).toHaveLength(REPLICAS)
    expect(await runsOnW1()).toEqual(assigned)
  }, 240_000)

  it("`helyos node drain` moves the pods off a host replacement-first; `helyos node rm` then makes its worker exit", async () => {
    await ready()
    await allReady()
    await holdsPods("w1")
    const { pods } = await converged(REPLICAS)
    const leaving = pods.filter((p) => p.node === "w1").length
    expect(leaving).toBeGreaterThan(0)
    const w1 = lab!.host("w1")
    const w1Proc = cluster.workers.get("w1")!

    // sampled all through the drain: Running replicas in the API, and distinct replica indexes running in the engines
    const sampler = sampleEvery(150, async () => {
      const [api, running] = await Promise.all([apiRunning(), engineRunning()])
      return { api: api.length, engines: new Set(running.map((c) => replicaIndexOf(c))).size }
    })
    const drainAt = Date.now()
    const drained = await cluster.cli(["node", "drain", "w1"])
    expect(drained.code, drained.stdout + drained.stderr).toBe(0)
    await eventually(async () => {
      const running = await apiRunning()
      expect(running).toHaveLength(REPLICAS)
      expect(running.filter((p) => p.node === "w1")).toHaveLength(0)
      expect(runningWeb(await w1.containers())).toHaveLength(0)
    }, 60_000, 100)
    const drainedS = secondsSince(drainAt)
    // a second or so more, to see that nothing dips right after the last move either
    await sleep(1_000)
    const samples = await sampler.stop()
    const ok = samples.flatMap((s) => (isSampleError(s.value) ? [] : [s.value]))
    const minApi = Math.min(...ok.map((s) => s.api))
    const minEngines = Math.min(...ok.map((s) => s.engines))
    console.log(`lab drain of w1 (${leaving} pod(s)): off the host in ${drainedS} s; over ${samples.length} samples ` +
      `(every ~${Math.round((samples.at(-1)!.atMs) / samples.length)} ms) Running replicas min ${minApi} in the API, ` +
      `min ${minEngines} distinct indexes running in the engines (desired ${REPLICAS})`)
    expect(samples.filter((s) => isSampleError(s.value)), "samples that failed").toEqual([])
    expect(minApi).toBeGreaterThanOrEqual(REPLICAS)
    expect(minEngines).toBeGreaterThanOrEqual(REPLICAS)
    // the drained host runs no pod, and says so
    expect((await w1.containers()).filter((c) => c.state === "running")).toEqual([])
    expect(await cluster.statusOf("w1")).toBe("Draining")
    await converged(REPLICAS)

    const rmAt = Date.now()
    const removed = await cluster.cli(["node", "rm", "w1"])
    expect(removed.code, removed.stdout + removed.stderr).toBe(0)
    const exitCode = await Promise.race([w1Proc.exited, sleep(20_000).then(() => "still running")])
    const exitS = secondsSince(rmAt)
    const log = w1Proc.output()
    console.log(`lab node rm w1: worker exited ${exitS} s later with ${exitCode}; its last lines:\n` +
      log.trimEnd().split("\n").slice(-3).join("\n"))
    // a clean stop (code 0, so a supervisor does not bring it back), with a line saying why
    expect(exitCode).toBe(0)
    expect(log).toMatch(/node 'w1' was removed from the cluster/)
    expect(log).toMatch(/this worker was removed from the cluster; exiting/)
    const nodes = await cluster.nodes()
    expect(nodes.map((n) => n.name).sort()).toEqual(["m", "w2"])
    await converged(REPLICAS)
  }, 180_000)
})
