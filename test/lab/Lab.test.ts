// Lab e2e: a master and two workers on three simulated hosts (network namespaces, one Docker engine
// each), driven from the root namespace with the real CLI after `helyos login`, as a user of a
// multi-host cluster would see it. Compressed timers (labTimers: heartbeat 500ms, NotReady 3s, dead 6s).
// Needs root, iproute2, iptables and dockerd: where it cannot build its namespaces it FAILS (never skips).
import { afterAll, describe, expect, it } from "vitest"
import {
  DEAD_AFTER_MS,
  type EngineContainer,
  eventually,
  isSampleError,
  Lab,
  type LabCluster,
  replicaIndexOf,
  sampleEvery,
  sleep
} from "./Lab.js"

const HEARTBEAT_MS = 500
const SCAN_MS = 250
const PROJECT = "lab"
const REPLICAS = 4
/**
 * The first test builds the lab, after waiting for any other lab run on the machine (one at a time:
 * Faults.test.ts takes about 2.5 minutes, and on a machine with more cores vitest starts both at once).
 */
const FIRST_TEST_TIMEOUT_MS = 420_000

let lab: Lab | undefined
let cluster: LabCluster
let building: Promise<void> | undefined

/**
 * The lab and its cluster, built once for the file. Called inside each test, not in beforeAll: a
 * machine where the namespaces cannot be built FAILS every test (a failed hook would leave them
 * reported as skipped).
 */
const ready = () => {
  building ??= (async () => {
    const t0 = Date.now()
    lab = await Lab.create({ hosts: ["m", "w1", "w2"] })
    const t1 = Date.now()
    cluster = await lab.startCluster()
    console.log(`lab built in ${(t1 - t0) / 1000} s, cluster Ready and logged in ${(Date.now() - t1) / 1000} s later`)
  })()
  return building
}

afterAll(async () => {
  await lab?.destroy()
}, 180_000)

const app = `project: ${PROJECT}
deployment:
  name: web
image: helyos-test/busybox:2
replicas: ${REPLICAS}
# PID 1 ignores SIGTERM unless it traps it: without the trap every stop waits out the 5 s grace
command: ["sh", "-c", "trap 'exit 0' TERM; while true; do echo hello from $(hostname); sleep 1; done"]
`

const running = (all: ReadonlyArray<EngineContainer>) =>
  all.filter((c) => c.state === "running" && c.labels["helyos.deployment"] === "web")

const runningPods = async () => (await cluster.pods(PROJECT)).filter((p) => p.status === "running")

describe("lab: a cluster of real hosts", () => {
  it("workers join across hosts and `helyos nodes --json` shows each with its own address", async () => {
    await ready()
    const nodes = await cluster.nodes()
    const byName = new Map(nodes.map((n) => [n.name, n]))
    expect([...byName.keys()].sort()).toEqual(["m", "w1", "w2"])
    for (const host of lab!.hosts) {
      const node = byName.get(host.name)!
      expect(node.status).toBe("Ready")
      // every node, the master's own included, is shown by its bare address
      expect(node.address).toBe(host.addr)
    }
    expect(byName.get("m")!.role).toBe("Master")
    expect(byName.get("w1")!.role).toBe("Worker")
    expect(byName.get("w2")!.role).toBe("Worker")
    // the CLI talked HTTPS with the pinned CA to the master's lab address
    expect(cluster.loginArgs[1]).toBe(`https://${cluster.master.addr}:6443`)
    const whoami = await cluster.cli(["whoami"])
    expect(whoami.code, whoami.stderr).toBe(0)
  }, FIRST_TEST_TIMEOUT_MS)

  it("a deployment's pods land on different hosts, run in those hosts' engines, and `helyos logs` reaches all", async () => {
    await ready()
    const deployed = await cluster.deploy(app)
    expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0)
    const pods = await eventually(async () => {
      const pods = await runningPods()
      expect(pods).toHaveLength(REPLICAS)
      return pods
    }, 60_000)
    // spread over both workers (the master runs pods only when no worker is eligible)
    const nodesUsed = new Set(pods.map((p) => p.node))
    expect([...nodesUsed].sort()).toEqual(["w1", "w2"])
    // each pod's container runs in the engine of the host it was placed on, and nowhere else
    const all = await lab!.containers()
    for (const pod of pods) {
      const copies = running(all).filter((c) => c.labels["helyos.pod-id"] === pod.id)
      expect(copies.map((c) => c.host), `pod ${pod.name}`).toEqual([pod.node])
      expect(copies[0]!.labels["helyos.node"]).toBe(pod.node)
      expect(copies[0]!.id.startsWith(pod.container_id ?? "-")).toBe(true)
    }
    expect(running(await lab!.host("m").containers())).toHaveLength(0)
    // logs come back from pods on every host
    await eventually(async () => {
      const logs = await cluster.cli(["logs", "web", "-p", PROJECT, "--tail", "3"])
      expect(logs.code, logs.stderr).toBe(0)
      const podsWithLines = new Set(
        logs.stdout.split("\n").filter((l) => / hello from /.test(l)).map((l) => l.split(" ")[0])
      )
      for (const pod of pods) expect(podsWithLines, `logs of ${pod.name} (${pod.node})`).toContain(pod.name)
    }, 30_000)
  }, 240_000)

  it("a partitioned worker goes NotReady then dead, its pods move; on heal it comes back clean, no replica twice", async () => {
    await ready()
    const victim = lab!.host("w1")
    const before = await runningPods()
    const moved = before.filter((p) => p.node === "w1")
    expect(moved.length).toBeGreaterThan(0)
    const staleIds = new Set(moved.map((p) => p.id))
    const workerProc = cluster.workers.get("w1")!
    const masterLogFrom = cluster.masterProc.output().length

    const cutAt = Date.now()
    await victim.cut()
    // by default (no --stop-after-disconnect) a partitioned worker keeps serving: its pods' containers
    // run on in its engine all through the partition, sampled until the heal
    const staleRunning = sampleEvery(250, async () =>
      running(await victim.containers()).filter((c) => staleIds.has(c.labels["helyos.pod-id"] ?? "")).length
    )
    const t = () => `${((Date.now() - cutAt) / 1000).toFixed(1)} s`

    // timings poll the API directly (the CLI takes 1-2 s to start here); what a user sees is checked with the CLI
    const apiStatus = async (name: string) => (await cluster.apiNodes()).find((n) => n.name === name)?.status
    await eventually(async () => expect(await apiStatus("w1")).toBe("NotReady"), 15_000, 100)
    const notReadyAt = Date.now() - cutAt
    await cluster.masterProc.waitFor(/node 'w1' is dead/, 30_000, masterLogFrom)
    const deadAt = Date.now() - cutAt
    // a dead node reads NotReady
    expect(await cluster.statusOf("w1")).toBe("NotReady")
    // replaced elsewhere within dead-after + a scan + a few seconds
    await eventually(async () => {
      const pods = (await cluster.apiPods(PROJECT)).filter((p) => p.status === "running")
      expect(pods).toHaveLength(REPLICAS)
      expect(pods.filter((p) => p.node === "w1")).toHaveLength(0)
    }, DEAD_AFTER_MS + SCAN_MS + 15_000, 100)
    const replacedAt = Date.now() - cutAt
    expect(replacedAt).toBeLessThan(DEAD_AFTER_MS + SCAN_MS + 8_000)
    const replaced = await runningPods()
    expect(replaced.filter((p) => p.node === "w1")).toHaveLength(0)
    expect(new Set(replaced.map((p) => p.replica_index)).size).toBe(REPLICAS)
    // the replacements run in the healthy engines
    const healthy = running(await lab!.containers()).filter((c) => c.host !== "w1")
    for (const pod of replaced) {
      expect(healthy.filter((c) => c.labels["helyos.pod-id"] === pod.id).map((c) => c.host)).toEqual([pod.node])
    }
    // a cut is not a crash: the worker process is alive all along
    expect(workerProc.child.exitCode).toBeNull()
    expect(workerProc.child.signalCode).toBeNull()
    // keep the partition a while longer (a real one lasts more than a few seconds)
    await sleep(5_000)
    // what runs during the partition: w1's stale copies beside their replacements
    const duringPartition = running(await lab!.containers()).map((c) => `${c.host}:${replicaIndexOf(c)}`).sort()
    const partitionMs = Date.now() - cutAt
    const staleSamples = await staleRunning.stop()
    expect(staleSamples.length).toBeGreaterThan(20)
    expect(
      staleSamples.filter((s) => isSampleError(s.value) || s.value !== moved.length).map((s) => `${s.atMs} ms: ${JSON.stringify(s.value)}`),
      "w1's containers did not keep running all through the partition"
    ).toEqual([])

    const healAt = Date.now()
    await victim.heal()
    const h = () => (Date.now() - healAt) / 1000
    // Watch w1 from the heal on: the first moment the master says Ready, its stale containers must
    // be gone already (a returning node is Ready only once it applied its assignment), and it must
    // not flip back to NotReady afterwards.
    let firstReadyS: number | undefined
    let staleGoneS: number | undefined
    let staleAtReady: Array<string> = []
    const flips: Array<string> = []
    let last: string | undefined
    const watchUntil = Date.now() + 40_000
    while (Date.now() < watchUntil) {
      const [status, w1Containers] = await Promise.all([apiStatus("w1"), victim.containers()])
      const stale = running(w1Containers).filter((c) => staleIds.has(c.labels["helyos.pod-id"] ?? ""))
      if (status !== last) flips.push(`${h().toFixed(2)}s ${status}`)
      last = status
      if (staleGoneS === undefined && stale.length === 0) staleGoneS = h()
      if (firstReadyS === undefined && status === "Ready") {
        firstReadyS = h()
        staleAtReady = stale.map((c) => c.name)
      }
      if (firstReadyS !== undefined && staleGoneS !== undefined && h() > Math.max(firstReadyS, staleGoneS) + 5) break
      await sleep(100)
    }
    const timings = {
      notReadyS: notReadyAt / 1000, deadS: deadAt / 1000, replacedS: replacedAt / 1000,
      partitionS: partitionMs / 1000, staleSamplesAllRunning: staleSamples.length, healToReadyS: firstReadyS, healToStaleGoneS: staleGoneS, w1StatusAfterHeal: flips,
      runningDuringPartition: duringPartition
    }
    console.log(
      `lab partition timings: ${JSON.stringify(timings)} (cut ${new Date(cutAt).toISOString()}, ` +
        `heal ${new Date(healAt).toISOString()}, now ${t()} after the cut)`
    )

    expect(firstReadyS, `w1 never came back Ready: ${JSON.stringify(timings)}`).toBeDefined()
    expect(staleGoneS, `w1's stale containers never went away: ${JSON.stringify(timings)}`).toBeDefined()
    // issue 13, soft so the end state below is still checked and reported:
    // a node that comes back counts as Ready only once its stale pods are gone
    expect.soft(staleAtReady, `w1 was Ready while its stale containers ran: ${JSON.stringify(timings)}`).toEqual([])
    // no Ready/NotReady flapping on the way back
    expect.soft(flips.filter((f) => / Ready$/.test(f)), `w1 flapped: ${JSON.stringify(timings)}`).toHaveLength(1)
    // recovery after a heal is bounded by about two heartbeat intervals whatever the partition's
    // length (plus applying the assignment: stopping a container that traps TERM, removing it)
    expect.soft(staleGoneS!, `recovery after the heal took too long: ${JSON.stringify(timings)}`)
      .toBeLessThan((2 * HEARTBEAT_MS + 3_000) / 1000)

    // at the end: every replica index runs exactly once across all engines
    await eventually(async () => {
      const all = running(await lab!.containers())
      const indexes = all.map((c) => replicaIndexOf(c)).sort()
      expect(indexes, all.map((c) => `${c.host}:${c.name}`).join(", ")).toEqual([0, 1, 2, 3])
    }, 15_000)
    expect(await cluster.statusOf("w1")).toBe("Ready")
    expect(await cluster.statusOf("w2")).toBe("Ready")
    expect(workerProc.child.exitCode).toBeNull()
  }, 180_000)
})
