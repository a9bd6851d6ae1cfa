// e2e: what an operator sees of a real master with a real worker — `helyos status`, `helyos top` in a
// pipe (one plain snapshot), and GET /metrics read by a Prometheus text parser.
import { spawn } from "node:child_process"
import { writeFileSync } from "node:fs"
import * as path from "node:path"
import parsePrometheusText from "parse-prometheus-text-format"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { type Master, startMaster, startWorker, untilNodesReady } from "../support/process/Cluster.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import { eventually, helyosBin, type Proc, runCli, tempDir } from "../support/process/Processes.js"

const project = `e2eobs${process.pid}`
let master: Master
let worker: Proc | undefined

const ANSI = /\u001b\[/

const scrape = async () => {
  const response = await fetch(`http://127.0.0.1:${master.port}/metrics`)
  return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() }
}

/**
 * `helyos top` on a real terminal: util-linux `script` gives it a pseudo-terminal (30 x 100). Once the
 * first refresh is drawn, `key` is typed; resolves with the exit code and everything it drew.
 */
const topOnTerminal = (key: string) =>
  new Promise<{ readonly code: number | null; readonly screen: string }>((resolve, reject) => {
    const command = `stty rows 30 cols 100; exec ${JSON.stringify(process.execPath)} ${JSON.stringify(helyosBin)} top`
    const child = spawn("script", ["-qfec", command, "/dev/null"], { env: { ...process.env, ...master.env } })
    let screen = ""
    let typed = false
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`helyos top did not quit on ${JSON.stringify(key)}:\n${screen}`))
    }, 20_000)
    child.stdout.on("data", (chunk: Buffer) => {
      screen += chunk.toString()
      if (!typed && screen.includes("NODES (2)")) {
        typed = true
        child.stdin.write(key)
      }
    })
    child.on("error", reject)
    child.on("exit", (code) => {
      clearTimeout(timer)
      resolve({ code, screen })
    })
  })

/** `{labels..., value}` of every sample of one counter or gauge family. */
const series = (text: string, name: string): Array<Record<string, string | undefined>> =>
  (parsePrometheusText(text).find((f) => f.name === name)?.metrics ?? []).map((m) => ({ ...m.labels, value: m.value }))

beforeAll(async () => {
  const image = await ensureBusyboxImage()
  master = await startMaster()
  worker = startWorker(master, "w1")
  await untilNodesReady(master, 2)
  const spec = path.join(tempDir("helyos-e2e-obs-"), "sleeper.yaml")
  writeFileSync(spec, [
    `project: ${project}`,
    "deployment:",
    "  name: sleeper",
    `image: ${image}`,
    "replicas: 2",
    `command: ["sleep", "3600"]`
  ].join("\n"))
  const deployed = await runCli(["deploy", spec, "--timeout", "60"], master.env)
  expect(deployed.code, deployed.stderr).toBe(0)
}, 120_000)

afterAll(async () => {
  await worker?.kill("SIGKILL")
  await master?.proc.kill("SIGKILL")
  removeProjectLeftovers(project)
})

describe("observability of a running cluster (real processes)", () => {
  it("`helyos status --json` counts the cluster; `helyos status` draws the box", async () => {
    const json = await runCli(["status", "--json"], master.env)
    expect(json.code, json.stderr).toBe(0)
    const status = JSON.parse(json.stdout) as Record<string, unknown>
    expect(status).toMatchObject({
      cluster: "cluster",
      nodes: 2,
      nodes_by_status: { ready: 2, notready: 0, draining: 0 },
      projects: 1,
      deployments: { total: 1, running: 1, stopped: 0 },
      pods: { total: 2, running: 2, restarting: 0 }
    })
    const box = await runCli(["status"], master.env)
    expect(box.code, box.stderr).toBe(0)
    expect(box.stdout).toContain("Cluster Status")
    expect(box.stdout).toMatch(/│ Mode +cluster +│/)
    expect(box.stdout).toMatch(/│ Pods +2 running · 0 restarting +│/)
    expect(box.stdout).not.toMatch(ANSI)
  })

  it("`helyos top` into a pipe prints one plain snapshot of nodes, pods and events, and exits 0", async () => {
    for (const args of [["top"], ["top", "--once"]]) {
      const result = await runCli(args, master.env)
      expect(result.code, result.stderr).toBe(0)
      expect(result.stdout).not.toMatch(ANSI)
      expect(result.stdout).toContain("NODES (2)")
      expect(result.stdout).toMatch(/^master +master +ready +[█░]{10} +\d+% +[█░]{10} +\d+% +\d+$/m)
      expect(result.stdout).toMatch(/^w1 +worker +ready +[█░]{10} +\d+% +[█░]{10} +\d+% +\d+$/m)
      expect(result.stdout).toContain("PODS (2)")
      expect(result.stdout).toMatch(new RegExp(`^sleeper-0 +${project} +(master|w1) +Running +0$`, "m"))
      expect(result.stdout).toMatch(/EVENTS \((polled|unavailable)\)/)
    }
  })

  it("`helyos top` on a terminal draws in the alternate screen; q and Ctrl-C quit and give the terminal back", async () => {
    for (const key of ["q", "\u0003"]) {
      const { code, screen } = await topOnTerminal(key)
      expect(code).toBe(0)
      // alternate screen and hidden cursor first; cursor shown and alternate screen left last
      expect(screen).toContain("\u001b[?1049h\u001b[?25l")
      expect(screen.trimEnd().endsWith("\u001b[?25h\u001b[?1049l")).toBe(true)
      expect(screen).toMatch(/sleeper-1 +\S+ +(master|w1) +Running/)
      expect(screen).toContain("? help · q quit")
    }
  }, 60_000)

  it("GET /api/v1/nodes/stats reports both nodes with lowercase role and status", async () => {
    const response = await fetch(`http://127.0.0.1:${master.port}/api/v1/nodes/stats`, {
      headers: { authorization: `Bearer ${master.env.HELYOS_API_TOKEN}` }
    })
    expect(response.status).toBe(200)
    const stats = await response.json() as Array<{ name: string; role: string; status: string; pod_count: number; cpu_cores: number }>
    expect(stats.map((s) => [s.name, s.role, s.status])).toEqual([["master", "master", "ready"], ["w1", "worker", "ready"]])
    expect(stats.reduce((sum, s) => sum + s.pod_count, 0)).toBe(2)
    expect(stats.every((s) => s.cpu_cores > 0)).toBe(true)
  })

  it("GET /metrics is public Prometheus text with the cluster's gauges and what happened", async () => {
    const page = await eventually(async () => {
      const page = await scrape()
      // the two containers' starts reach the counters through the event log
      expect(series(page.text, "helyos_container_events_total")).toContainEqual({ event: "started", value: "2" })
      return page
    }, 20_000)
    expect(page.status).toBe(200)
    expect(page.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(series(page.text, "helyos_nodes_total")).toEqual([{ value: "2" }])
    expect(series(page.text, "helyos_pods_total")).toEqual([{ value: "2" }])
    expect(series(page.text, "helyos_deployments_total")).toEqual([{ value: "1" }])
    expect(series(page.text, "helyos_nodes")).toContainEqual({ status: "ready", value: "2" })
    expect(series(page.text, "helyos_pods")).toContainEqual({ status: "running", value: "2" })
    expect(series(page.text, "helyos_node_heartbeat_age_seconds").map((s) => s.node)).toEqual(["w1"])
    expect(series(page.text, "helyos_deployment_ops_total")).toEqual([{ op: "deploy", value: "1" }])
    expect(page.text).toMatch(/^helyos_schedule_duration_seconds_count\{strategy="spread"\} [1-9]\d*$/m)
    expect(page.text).toMatch(/^helyos_reconcile_duration_seconds_count [1-9]\d*$/m)
    // the CLI's requests above, by route template
    expect(series(page.text, "helyos_http_requests_total")).toEqual(expect.arrayContaining([
      expect.objectContaining({ method: "GET", path: "/api/v1/status", status: "200" }),
      expect.objectContaining({ method: "GET", path: "/api/v1/nodes/stats", status: "200" }),
      expect.objectContaining({ method: "POST", path: "/api/v1/deploy", status: "201" })
    ]))
  })
})
