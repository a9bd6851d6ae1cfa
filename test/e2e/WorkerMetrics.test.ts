// e2e: a worker's own /health and /metrics — a real master and a real worker (--metrics-port 0, the URL
// read from its log) on this machine's Docker engine: the page parses as Prometheus text, the worker is
// connected, a pod that exits 1 on it raises helyos_pod_restarts_total, and the REST API is not there.
import { writeFileSync } from "node:fs"
import { type AddressInfo, createServer } from "node:net"
import * as path from "node:path"
import parsePrometheusText from "parse-prometheus-text-format"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { type Master, startMaster, startWorker, untilNodesReady } from "../support/process/Cluster.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import { eventually, type Proc, runCli, tempDir } from "../support/process/Processes.js"

const project = `wmetrics${process.pid}`
const workerName = `wm${process.pid}`
const restartFlags = ["--restart-backoff-base", "200ms", "--restart-backoff-max", "400ms", "--crashloop-after", "50"]
let master: Master
let worker: Proc
let url: string
let image: string

/** One sample's value of `family` (with `labels`), or undefined when the family or the series is absent. */
const sample = (text: string, family: string, labels: Record<string, string> = {}): number | undefined => {
  const found = parsePrometheusText(text).find((f) => f.name === family)
  const metric = found?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
  return metric === undefined ? undefined : Number(metric.value)
}

const scrape = async () => {
  const response = await fetch(`${url}/metrics`)
  expect(response.status).toBe(200)
  expect(response.headers.get("content-type")).toContain("text/plain; version=0.0.4")
  return response.text()
}

beforeAll(async () => {
  image = await ensureBusyboxImage()
  master = await startMaster({ extraArgs: restartFlags })
  worker = startWorker(master, workerName, master.joinToken, [...restartFlags, "--metrics-port", "0"])
  const line = await worker.waitFor(/worker metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/)
  url = /(http:\/\/127\.0\.0\.1:\d+)\/metrics/.exec(line)![1]!
  await untilNodesReady(master, 2)
}, 90_000)

afterAll(async () => {
  await worker?.kill("SIGKILL")
  await master?.proc.kill("SIGKILL")
  removeProjectLeftovers(project)
})

describe("a worker's /health and /metrics (real master, real worker)", () => {
  it("GET /health is 200 {status: ok}", async () => {
    const response = await fetch(`${url}/health`)
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ status: "ok" })
  })

  it("GET /metrics is Prometheus text with the worker connected and heartbeating", { timeout: 30_000 }, async () => {
    const text = await eventually(async () => {
      const page = await scrape()
      expect(sample(page, "helyos_worker_connected")).toBe(1)
      expect(sample(page, "helyos_worker_heartbeats_total")).toBeGreaterThanOrEqual(1)
      return page
    }, 20_000, 200)
    const names = parsePrometheusText(text).map((f) => f.name)
    expect(names).toEqual(expect.arrayContaining([
      "helyos_container_events_total",
      "helyos_pod_restarts_total",
      "helyos_pods",
      "helyos_worker_connected",
      "helyos_worker_heartbeats_total",
      "helyos_worker_reconnects_total"
    ]))
    expect(sample(text, "helyos_worker_reconnects_total")).toBe(0)
  })

  it("a pod that exits 1 on the worker raises helyos_pod_restarts_total and the died count", { timeout: 60_000 }, async () => {
    const file = path.join(tempDir("helyos-e2e-wmetrics-"), "crash.yaml")
    writeFileSync(file, [
      `project: ${project}`, `deployment:`, `  name: crash`, `image: ${image}`,
      `command: ["sh", "-c", "sleep 0.2; exit 1"]`, `restart: always`
    ].join("\n"))
    // it never runs for good, so deploy gives up waiting after its timeout; the deployment stays
    await runCli(["deploy", file, "--timeout", "1"], master.env)
    await eventually(async () => {
      const page = await scrape()
      expect(sample(page, "helyos_pod_restarts_total")).toBeGreaterThanOrEqual(2)
      expect(sample(page, "helyos_container_events_total", { event: "died" })).toBeGreaterThanOrEqual(2)
      expect(sample(page, "helyos_container_events_total", { event: "started" })).toBeGreaterThanOrEqual(3)
      // the pod is on this node, in whatever state the scrape catches it
      const pods = ["running", "restarting", "failed", "pending", "creating"]
        .map((status) => sample(page, "helyos_pods", { status }) ?? 0)
      expect(pods.reduce((a, b) => a + b, 0)).toBe(1)
    }, 40_000, 250)
    expect((await runCli(["rm", "crash", "-p", project, "-y"], master.env)).code).toBe(0)
  })

  it("a --metrics-port already in use stops the worker with one line, before it joins", { timeout: 30_000 }, async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve))
    const port = (taken.address() as AddressInfo).port
    try {
      const second = startWorker(master, `${workerName}b`, master.joinToken, ["--metrics-port", String(port)])
      expect(await second.exited).toBe(1)
      expect(second.output()).toContain(`error: cannot serve worker metrics on 127.0.0.1:${port}`)
      expect(second.output()).not.toMatch(/registered with the master/)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  it("serves nothing else: the REST API and unknown paths are 404 {error: not found}", async () => {
    for (const route of ["/api/v1/nodes", "/api/v1/version", "/nope"]) {
      const response = await fetch(`${url}${route}`)
      expect(response.status, route).toBe(404)
      expect(await response.json()).toEqual({ error: "not found" })
    }
    const post = await fetch(`${url}/metrics`, { method: "POST" })
    expect(post.status).toBe(404)
  })

  // last: it stops the master
  it("the master gone: connected drops to 0 and reconnects are counted, /metrics still served", { timeout: 30_000 }, async () => {
    await master.proc.kill("SIGKILL")
    await eventually(async () => {
      const page = await scrape()
      expect(sample(page, "helyos_worker_connected")).toBe(0)
      expect(sample(page, "helyos_worker_reconnects_total")).toBeGreaterThanOrEqual(1)
    }, 20_000, 200)
  })
})
