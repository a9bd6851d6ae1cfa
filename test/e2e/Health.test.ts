// e2e: keeping pods alive, seen from the master — a real master and a real worker (compressed restart
// ladder via its flags) on this machine's Docker engine, and the real CLI: restart counts, exit codes
// and reasons in `helyos pods --json`, a failing HTTP probe restarting its pod, the event history and
// live stream of `helyos events`, and `helyos restart` taking a pod out of its crash loop.
import { execFileSync } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { type Master, startMaster, startWorker, untilNodesReady } from "../support/process/Cluster.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import { eventually, helyosBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"

interface PodJson {
  readonly id: string
  readonly name: string
  readonly deployment_name: string
  readonly node: string | null
  readonly status: string
  readonly container_id: string | null
  readonly restart_count: number
  readonly exit_code: number | null
  readonly reason: string | null
  readonly health: string | null
  readonly last_exit_at: string | null
  readonly started_at: string | null
}

interface EventJson {
  readonly timestamp: string
  readonly kind: string
  readonly name: string
  readonly action: string
  readonly message: string
}

const project = `health${process.pid}`
let master: Master
let worker: Proc
let image: string
const dir = tempDir("helyos-e2e-health-")

/** The worker's restart ladder: 200 ms doubling up to 800 ms; crash loop after 4 restarts. */
const restartFlags = ["--restart-backoff-base", "200ms", "--restart-backoff-max", "800ms", "--crashloop-after", "4", "--healthy-reset-after", "60s"]
const CRASHLOOP_AFTER = 4

const specFile = (name: string, lines: ReadonlyArray<string>) => {
  const file = path.join(dir, `${name}.yaml`)
  writeFileSync(file, [`project: ${project}`, `deployment:`, `  name: ${name}`, `image: ${image}`, ...lines].join("\n"))
  return file
}

const pods = async (deployment: string): Promise<ReadonlyArray<PodJson>> => {
  const result = await runCli(["pods", "-p", project, "--json"], master.env)
  if (result.code !== 0) throw new Error(`helyos pods failed: ${result.stderr}`)
  return (JSON.parse(result.stdout) as ReadonlyArray<PodJson>).filter((p) => p.deployment_name === deployment && p.status !== "stopping")
}

const onePod = async (deployment: string): Promise<PodJson> => {
  const list = await pods(deployment)
  expect(list).toHaveLength(1)
  return list[0]!
}

const recentEvents = async (): Promise<ReadonlyArray<EventJson>> => {
  const result = await runCli(["events", "--json", "--limit", "1000"], master.env)
  if (result.code !== 0) throw new Error(`helyos events failed: ${result.stderr}`)
  return JSON.parse(result.stdout) as ReadonlyArray<EventJson>
}

beforeAll(async () => {
  image = await ensureBusyboxImage()
  master = await startMaster({ extraArgs: restartFlags })
  worker = startWorker(master, `hw${process.pid}`, master.joinToken, restartFlags)
  await untilNodesReady(master, 2)
}, 90_000)

afterAll(async () => {
  await worker?.kill("SIGKILL")
  await master?.proc.kill("SIGKILL")
  // the worker was killed: remove what it left on the shared engine
  removeProjectLeftovers(project)
})

describe("pod health seen from the master (real processes, real containers)", () => {
  it("a container that exits 1 on the worker: restart_count grows, exit_code 1, reason Error", { timeout: 60_000 }, async () => {
    const file = specFile("crash", [`command: ["sh", "-c", "sleep 0.3; exit 1"]`, `restart: always`])
    // it never runs for good, so deploy gives up waiting after its timeout; the deployment stays
    await runCli(["deploy", file, "--timeout", "1"], master.env)
    const seen = await eventually(async () => {
      const pod = await onePod("crash")
      expect(pod.node).toBe(`hw${process.pid}`)
      expect(pod.restart_count).toBeGreaterThanOrEqual(2)
      expect(pod).toMatchObject({ exit_code: 1, reason: "Error" })
      expect(pod.last_exit_at).toMatch(/^\d{4}-\d\d-\d\dT/)
      return pod
    }, 30_000, 200)
    // the table shows the same
    const table = await runCli(["pods", "-p", project], master.env)
    expect(table.stdout).toMatch(/RESTARTS\s+LAST EXIT/)
    expect(table.stdout).toMatch(new RegExp(`crash-0 .*Error \\(exit 1\\)`))
    expect(seen.restart_count).toBeGreaterThanOrEqual(2)
  })

  it("after the allowed restarts it is CrashLoopBackoff; `helyos restart` gives a fresh pod", { timeout: 60_000 }, async () => {
    const looping = await eventually(async () => {
      const pod = await onePod("crash")
      expect(pod.status).toBe("crashloopbackoff")
      return pod
    }, 30_000, 200)
    expect(looping.restart_count).toBe(CRASHLOOP_AFTER)

    const restarted = await runCli(["restart", "crash", "-p", project], master.env)
    expect(restarted.code, restarted.stderr).toBe(0)
    expect(restarted.stdout).toContain(`deployment ${project}/crash restarting`)
    // a new pod (new id, its own counter from 0) replaces the looping one; it may crash-loop again later
    await eventually(async () => {
      const pods = JSON.parse((await runCli(["pods", "-p", project, "--json"], master.env)).stdout) as ReadonlyArray<PodJson>
      expect(pods.filter((p) => p.deployment_name === "crash").map((p) => p.id)).not.toContain(looping.id)
      expect(await onePod("crash")).toMatchObject({ name: "crash-0" })
    }, 15_000, 200)

    const missing = await runCli(["restart", "nope", "-p", project], master.env)
    expect(missing.code).toBe(1)
    expect(missing.stderr.trim()).toBe(`error: deployment 'nope' not found in project '${project}'`)
    expect((await runCli(["rm", "crash", "-p", project, "-y"], master.env)).code).toBe(0)
  })

  it("an HTTP probe whose file is removed (docker exec … rm): reason Unhealthy and a restart", { timeout: 60_000 }, async () => {
    const file = specFile("probed", [
      // the image may lack /tmp: make the served directory
      `command: ["sh", "-c", "busybox mkdir -p /www && echo ok > /www/health.txt && exec httpd -f -p 8080 -h /www"]`,
      `healthcheck:`,
      `  path: /health.txt`,
      `  port: 8080`,
      `  interval: 200ms`,
      `  timeout: 500ms`,
      `  retries: 2`
    ])
    const deployed = await runCli(["deploy", file, "--timeout", "30"], master.env)
    expect(deployed.code, `${deployed.stderr}\n${JSON.stringify(await pods("probed"))}`).toBe(0)
    const healthy = await eventually(async () => {
      const pod = await onePod("probed")
      expect(pod).toMatchObject({ status: "running", health: "healthy", restart_count: 0 })
      expect(pod.container_id).not.toBeNull()
      return pod
    }, 20_000, 200)

    execFileSync("docker", ["exec", healthy.container_id!, "/bin/busybox", "rm", "/www/health.txt"])
    await eventually(async () => {
      const pod = await onePod("probed")
      expect(pod.restart_count).toBeGreaterThanOrEqual(1)
      expect(pod.reason).toBe("Unhealthy")
    }, 20_000, 200)
    // the new container serves the file again
    await eventually(async () => expect(await onePod("probed")).toMatchObject({ status: "running", health: "healthy" }), 20_000, 200)
  })

  it("`helyos events` shows node joined, pod restarted and unhealthy, deployment changes", async () => {
    const events = await recentEvents()
    const lines = events.map((e) => `${e.kind} ${e.name} ${e.action}`)
    expect(lines).toContain("node master joined")
    expect(lines).toContain(`node hw${process.pid} joined`)
    expect(lines).toContain("pod crash-0 restarted")
    expect(lines).toContain("pod probed-0 unhealthy")
    expect(lines).toContain(`deployment ${project}/crash restarted`)
    expect(events.every((e) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(e.timestamp))).toBe(true)
    // the human form: timestamp to the second, kind, name, action, message
    const text = await runCli(["events", "--limit", "5"], master.env)
    expect(text.code).toBe(0)
    const printed = text.stdout.trim().split("\n")
    expect(printed).toHaveLength(5)
    expect(printed.every((l) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}(node|pod|deployment|project) {2}\S+ {2}\S+ {2}/.test(l))).toBe(true)
  })

  it("`helyos events -f` prints history, then follows new events until Ctrl-C (exit 0)", { timeout: 30_000 }, async () => {
    const follow = spawnProc(helyosBin, ["events", "-f", "--limit", "1"], master.env)
    try {
      await follow.waitFor(/^\d{4}-\d\d-\d\dT\S+Z {2}/, 10_000)
      const file = specFile("follow", [`command: ["sleep", "3600"]`])
      expect((await runCli(["deploy", file, "--timeout", "20"], master.env)).code).toBe(0)
      await follow.waitFor(new RegExp(`deployment {2}${project}/follow {2}created`), 10_000)
      await follow.waitFor(/pod {2}follow-0 {2}scheduled/, 10_000)
    } finally {
      const code = await follow.kill("SIGINT")
      expect(code, follow.output().slice(-500)).toBe(0)
    }
  })
})
