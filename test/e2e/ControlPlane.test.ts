// e2e: the clustering guide, as a user types it — a real master, real workers, the real CLI,
// all on 127.0.0.1 with compressed timers (heartbeat 200ms, scan 100ms, NotReady 1s, dead 2s).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Master, nodes, restartMaster, startMaster, startWorker, statusOf } from "../support/process/Cluster.js"
import { eventually, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"

let master: Master
const workers = new Map<string, Proc>()
const others: Array<Proc> = []

const worker = (name: string, token?: string) => {
  const proc = startWorker(master, name, token)
  workers.set(name, proc)
  return proc
}

beforeAll(async () => {
  master = await startMaster()
  worker("w1")
  worker("w2")
}, 60_000)

afterAll(async () => {
  await Promise.all([...workers.values(), ...others].map((p) => p.kill("SIGKILL")))
  await master?.proc.kill("SIGTERM")
})

describe("helyosd cluster control plane (real processes)", () => {
  it("logs the join command once, exactly as the guide shows it", () => {
    const lines = master.proc.output().split("\n")
    const at = lines.findIndex((l) => l === "INFO join token generated — workers can join with:")
    expect(at).toBeGreaterThanOrEqual(0)
    expect(lines[at + 1]).toMatch(
      new RegExp(
        `^INFO helyosd --mode worker --join 127\\.0\\.0\\.1:${master.grpcPort} --token nxa_[0-9a-f]{64} --ca-fingerprint ${master.caFingerprint}$`
      )
    )
    expect(master.joinToken).toMatch(/^nxa_[0-9a-f]{64}$/)
  })

  it("a master and two workers are Ready in `helyos nodes --json`", async () => {
    const list = await eventually(async () => {
      const list = await nodes(master)
      expect(list.map((n) => [n.name, n.role, n.status])).toEqual([
        ["master", "Master", "Ready"],
        ["w1", "Worker", "Ready"],
        ["w2", "Worker", "Ready"]
      ])
      return list
    }, 15_000)
    expect(new Set(list.map((n) => n.id)).size).toBe(3)
  })

  it("`helyos nodes` prints a table with the documented columns", async () => {
    const result = await runCli(["nodes"], master.env)
    expect(result.code).toBe(0)
    expect(result.stdout).toMatch(/NAME\s+ROLE\s+STATUS\s+CPU\s+MEM\s+PODS\s+HEARTBEAT/)
    expect(result.stdout).toMatch(/w1\s+Worker\s+Ready/)
  })

  it("a drain on a live worker stays Draining through many heartbeats; undrain makes it Ready", async () => {
    const drained = await runCli(["node", "drain", "w2"], master.env)
    expect(drained.code).toBe(0)
    expect(await statusOf(master, "w2")).toBe("Draining")
    // at least 5 heartbeat intervals (200ms each) must pass without the drain being undone
    await new Promise((r) => setTimeout(r, 1_500))
    expect(await statusOf(master, "w2")).toBe("Draining")
    expect((await runCli(["node", "undrain", "w2"], master.env)).code).toBe(0)
    expect(await statusOf(master, "w2")).toBe("Ready")
  })

  it("rm without a drain is refused with the documented line", async () => {
    const result = await runCli(["node", "rm", "w1"], master.env)
    expect(result.code).toBe(1)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(result.stderr).toContain("node 'w1' must be drained before removal (status: Ready)")
    expect(await statusOf(master, "w1")).toBe("Ready")
  })

  it("`helyos cluster token show` explains the token is shown only at creation", async () => {
    const result = await runCli(["cluster", "token", "show"], master.env)
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/shown only once/)
    expect(result.stderr).toMatch(/rotate/)
  })

  it("a worker killed with -9 goes NotReady then dead, and comes back Ready when restarted", async () => {
    await workers.get("w1")!.kill("SIGKILL")
    await eventually(async () => expect(await statusOf(master, "w1")).toBe("NotReady"), 10_000)
    await master.proc.waitFor(/WARN node 'w1' is dead/, 10_000)
    expect(await statusOf(master, "w1")).toBe("NotReady")
    expect(master.proc.output().match(/node 'w1' is dead/g)).toHaveLength(1)
    worker("w1")
    await eventually(async () => expect(await statusOf(master, "w1")).toBe("Ready"), 15_000)
  })

  it("rotating the join token refuses the old one at once, admits the new one, keeps joined workers", async () => {
    const rotated = await runCli(["cluster", "token", "rotate"], master.env)
    expect(rotated.code).toBe(0)
    const fresh = /nxa_[0-9a-f]{64}/.exec(rotated.stdout)?.[0]
    expect(fresh).toBeDefined()
    expect(fresh).not.toBe(master.joinToken)

    const refused = startWorker(master, "w3", master.joinToken)
    others.push(refused)
    expect(await refused.exited).not.toBe(0)
    expect(refused.output()).toMatch(/invalid join token/)

    worker("w3", fresh)
    await eventually(async () => expect(await statusOf(master, "w3")).toBe("Ready"), 15_000)
    expect(await statusOf(master, "w1")).toBe("Ready")
    expect(await statusOf(master, "w2")).toBe("Ready")
  })

  it("drain then rm removes a node; its running worker is told, logs it and exits", async () => {
    expect((await runCli(["node", "drain", "w3"], master.env)).code).toBe(0)
    const removed = await runCli(["node", "rm", "w3"], master.env)
    expect(removed.code).toBe(0)
    const w3 = workers.get("w3")!
    await w3.exited
    expect(w3.output()).toMatch(/removed from the cluster/)
    expect((await nodes(master)).map((n) => n.name)).not.toContain("w3")
  })

  it("a master restart marks no live worker NotReady and the workers resume", async () => {
    await master.proc.kill("SIGKILL")
    master = await restartMaster(master)
    // every status observed during the grace period stays Ready
    const seen = new Set<string>()
    const deadline = Date.now() + 3_000
    while (Date.now() < deadline) {
      for (const n of await nodes(master)) if (n.role === "Worker") seen.add(`${n.name}:${n.status}`)
    }
    expect([...seen].sort()).toEqual(["w1:Ready", "w2:Ready"])
    expect(master.proc.output()).not.toMatch(/is dead/)
  })
})

describe("worker start-up refusals", () => {
  it("a bad join token makes the worker exit non-zero with a clear line", async () => {
    const bad = startWorker(master, "intruder", `nxa_${"0".repeat(64)}`)
    others.push(bad)
    expect(await bad.exited).not.toBe(0)
    expect(bad.output()).toMatch(/invalid join token/)
  })

  it("worker mode without --join or --token refuses to start, naming the missing flag", async () => {
    const noJoin = spawnProc(helyosdBin, ["--mode", "worker", "--token", `nxa_${"a".repeat(64)}`, "--data-dir", tempDir()])
    expect(await noJoin.exited).toBe(1)
    expect(noJoin.output()).toMatch(/--join/)
    const noToken = spawnProc(helyosdBin, ["--mode", "worker", "--join", "127.0.0.1:1", "--data-dir", tempDir()])
    expect(await noToken.exited).toBe(1)
    expect(noToken.output()).toMatch(/--token/)
  })

  it("dead-after not longer than not-ready-after is refused at start", async () => {
    const proc = spawnProc(helyosdBin, ["--mode", "master", "--not-ready-after", "30s", "--dead-after", "30s", "--data-dir", tempDir()])
    expect(await proc.exited).toBe(1)
    expect(proc.output()).toMatch(/--dead-after must be longer than --not-ready-after/)
  })
})
