// e2e: pods really running on workers — a real master, two real workers sharing this machine's
// Docker engine (each only touches containers labelled with its own node name), the real CLI.
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { type Master, restartMaster, startMaster, startWorker, untilNodesReady } from "../support/process/Cluster.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import { eventually, type Proc, runCli, tempDir } from "../support/process/Processes.js"

interface PodJson {
  readonly id: string
  readonly name: string
  readonly deployment_name: string
  readonly replica_index: number
  readonly node: string | null
  readonly status: string
  readonly container_id: string | null
}

const project = `e2e${process.pid}`
let master: Master
let image: string
const workers = new Map<string, Proc>()
const dir = tempDir("helyos-e2e-specs-")

const worker = (name: string) => {
  const proc = startWorker(master, name)
  workers.set(name, proc)
  return proc
}

const specFile = (name: string, replicas: number, command: ReadonlyArray<string>) => {
  const file = path.join(dir, `${name}-${replicas}.yaml`)
  writeFileSync(file, [
    `project: ${project}`,
    `deployment:`,
    `  name: ${name}`,
    `image: ${image}`,
    `replicas: ${replicas}`,
    `command: ${JSON.stringify(command)}`,
    `resources:`,
    `  cpu: 0.1`,
    `  memory: 32m`
  ].join("\n"))
  return file
}

const pods = async (deployment?: string): Promise<ReadonlyArray<PodJson>> => {
  const result = await runCli(["pods", "-p", project, "--json"], master.env)
  if (result.code !== 0) throw new Error(`helyos pods failed: ${result.stderr}`)
  const all = JSON.parse(result.stdout) as ReadonlyArray<PodJson>
  return deployment === undefined ? all : all.filter((p) => p.deployment_name === deployment)
}

/** Every replica index exactly once, all running, and where they run. */
const runningOnce = async (deployment: string, replicas: number) => {
  const list = (await pods(deployment)).filter((p) => p.status !== "stopping")
  expect(list.map((p) => p.replica_index).sort()).toEqual(Array.from({ length: replicas }, (_, i) => i))
  expect(list.every((p) => p.status === "running")).toBe(true)
  return list
}

/** Containers of this test's project on the engine, by node label. */
const containersOn = (node: string, deployment = "web") =>
  execFileSync("docker", [
    "ps", "-q", "--filter", `label=helyos.project=${project}`, "--filter", `label=helyos.node=${node}`,
    "--filter", `label=helyos.deployment=${deployment}`
  ])
    .toString().trim().split("\n").filter((l) => l !== "")

const httpd = ["httpd", "-f", "-p", "8080"]

beforeAll(async () => {
  image = await ensureBusyboxImage()
  master = await startMaster()
  worker("w1")
  worker("w2")
  await untilNodesReady(master, 3)
}, 90_000)

afterAll(async () => {
  await Promise.all([...workers.values()].map((p) => p.kill("SIGKILL")))
  await master?.proc.kill("SIGKILL")
  // workers were killed, so remove what they left behind on the shared engine
  removeProjectLeftovers(project)
})

describe("workloads across the cluster (real processes, real containers)", () => {
  it("deploy 4 httpd replicas: spread places 2 on each worker and `helyos deploy` waits until they run", async () => {
    const result = await runCli(["deploy", specFile("web", 4, httpd), "--timeout", "60"], master.env)
    expect(result.code, result.stderr).toBe(0)
    const list = await eventually(() => runningOnce("web", 4), 20_000)
    const perNode = new Map<string, number>()
    for (const p of list) perNode.set(p.node ?? "-", (perNode.get(p.node ?? "-") ?? 0) + 1)
    expect(Object.fromEntries(perNode)).toEqual({ w1: 2, w2: 2 })
    expect(containersOn("w1")).toHaveLength(2)
    expect(containersOn("w2")).toHaveLength(2)
  })

  it("an invalid spec is refused before upload, naming the field", async () => {
    const file = path.join(dir, "bad.yaml")
    writeFileSync(file, `project: ${project}\ndeployment:\n  name: bad\nimage: ${image}\nresources:\n  cpu: 1\n  memory: 512mb\n`)
    const result = await runCli(["deploy", file], master.env)
    expect(result.code).toBe(1)
    expect(result.stderr).toContain(`resources.memory: "512mb" is not a size like 512m, 1g, 256k`)
    expect((await pods("bad"))).toHaveLength(0)
  })

  it("`helyos logs` prints the output of a pod that runs on a worker", async () => {
    const file = specFile("talker", 1, ["sh", "-c", "echo hello-from-helyos; exec httpd -f -p 8080"])
    expect((await runCli(["deploy", file], master.env)).code).toBe(0)
    const [pod] = await eventually(() => runningOnce("talker", 1), 20_000)
    expect(["w1", "w2"]).toContain(pod!.node)
    const logs = await eventually(async () => {
      const result = await runCli(["logs", "talker", "-p", project, "--tail", "10"], master.env)
      expect(result.stdout).toContain("hello-from-helyos")
      return result
    }, 15_000)
    expect(logs.code).toBe(0)
    expect((await runCli(["rm", "talker", "-p", project, "-y"], master.env)).code).toBe(0)
  })

  it("kill -9 a worker: within dead-after + a scan + a few seconds all 4 run on the survivor", async () => {
    await workers.get("w1")!.kill("SIGKILL")
    const list = await eventually(async () => {
      const list = await runningOnce("web", 4)
      expect(list.every((p) => p.node === "w2")).toBe(true)
      return list
    }, 2_000 + 100 + 15_000, 200)
    expect(list).toHaveLength(4)
  })

  it("the killed worker comes back: its old containers are removed (fencing), no replica runs twice", async () => {
    expect(containersOn("w1")).toHaveLength(2) // left running by the kill -9
    worker("w1")
    await eventually(() => expect(containersOn("w1")).toHaveLength(0), 20_000)
    await runningOnce("web", 4)
    expect(containersOn("w2")).toHaveLength(4)
  })

  it("draining a node moves its pods elsewhere, replacements first", { timeout: 60_000 }, async () => {
    expect((await runCli(["node", "drain", "w2"], master.env)).code).toBe(0)
    await eventually(async () => {
      const list = await runningOnce("web", 4)
      expect(list.every((p) => p.node === "w1")).toBe(true)
      expect(containersOn("w2")).toHaveLength(0)
    }, 45_000, 250)
    expect((await runCli(["node", "undrain", "w2"], master.env)).code).toBe(0)
  })

  it("scale 4 → 1 leaves exactly one replica", async () => {
    expect((await runCli(["scale", "web", "1", "-p", project], master.env)).code).toBe(0)
    await eventually(async () => {
      expect((await pods("web")).map((p) => p.replica_index)).toEqual([0])
      expect(containersOn("w1").length + containersOn("w2").length).toBe(1)
    }, 20_000)
  })

  it("stop keeps the definition with no pods; rm deletes it", async () => {
    expect((await runCli(["stop", "web", "-p", project], master.env)).code).toBe(0)
    await eventually(async () => expect(await pods("web")).toHaveLength(0), 20_000)
    const deployments = await runCli(["deployments", "-p", project, "--json"], master.env)
    expect(JSON.parse(deployments.stdout).map((d: { name: string; status: string }) => [d.name, d.status])).toEqual([["web", "stopped"]])
    expect((await runCli(["rm", "web", "-p", project, "-y"], master.env)).code).toBe(0)
    const after = await runCli(["deployments", "-p", project, "--json"], master.env)
    expect(JSON.parse(after.stdout)).toEqual([])
  })

  it("kill -9 the master mid-deploy, restart it: it converges to exactly the requested replicas", { timeout: 60_000 }, async () => {
    const deploy = runCli(["deploy", specFile("resume", 3, httpd), "--timeout", "5"], master.env)
    await eventually(async () => expect((await pods("resume")).length).toBeGreaterThan(0), 10_000, 50)
    await master.proc.kill("SIGKILL")
    await deploy
    master = await restartMaster(master)
    await eventually(async () => {
      await runningOnce("resume", 3)
      expect(containersOn("w1", "resume").length + containersOn("w2", "resume").length + containersOn("master", "resume").length).toBe(3)
    }, 30_000, 250)
  })
})
