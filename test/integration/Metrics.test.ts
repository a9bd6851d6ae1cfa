// GET /metrics, /api/v1/status and /api/v1/nodes/stats over a real socket on 127.0.0.1 and a real
// SQLite file, with the prom-client metrics: the page is parsed with a Prometheus text parser.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, type Scope } from "effect"
import parsePrometheusText from "parse-prometheus-text-format"
import { randomUUID } from "node:crypto"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { apiOn } from "../support/harness/ApiHarness.js"
import { call } from "../support/harness/RawHttp.js"
import * as MetricsPrometheus from "../../src/layers/observability/MetricsPrometheus.js"

const onMaster = <A, E>(test: Effect.Effect<A, E, ApiServer | NodeRegistry | Scope.Scope>) =>
  Effect.provide(test, apiOn("master").pipe(Layer.provide(MetricsPrometheus.layer)))

describe("GET /metrics", () => {
  it.scopedLive("is public Prometheus text 0.0.4 that a parser reads, with every family", () =>
    onMaster(Effect.gen(function*() {
      const page = yield* call("GET", "/metrics", undefined, null)
      expect(page.status).toBe(200)
      expect(page.contentType).toMatch(/^text\/plain; version=0\.0\.4/)
      const families = new Map(parsePrometheusText(page.text).map((f) => [f.name, f]))
      // the gauges are there at once, with their values from the state (3 seeded nodes, nothing deployed)
      expect(families.get("helyos_nodes_total")).toMatchObject({ type: "GAUGE", help: "Current number of cluster nodes" })
      expect(families.get("helyos_nodes_total")?.metrics[0]?.value).toBe("3")
      expect(families.get("helyos_pods_total")?.metrics[0]?.value).toBe("0")
      expect(families.get("helyos_deployments_total")?.metrics[0]?.value).toBe("0")
      const nodes = families.get("helyos_nodes")?.metrics.map((m) => [m.labels?.status, m.value])
      expect(nodes).toEqual(expect.arrayContaining([["ready", "3"], ["notready", "0"], ["dead", "0"], ["draining", "0"]]))
      const ages = families.get("helyos_node_heartbeat_age_seconds")?.metrics.map((m) => m.labels?.node).sort()
      // workers only: the master does not heartbeat
      expect(ages).toEqual(["w1", "w2"])
      expect(families.get("helyos_pods")?.metrics.map((m) => m.labels?.status)).toContain("crashloopbackoff")
      expect(families.get("helyos_reconcile_duration_seconds")?.type).toBe("HISTOGRAM")
      expect(families.get("helyos_pod_restarts_total")?.type).toBe("COUNTER")
      for (const name of ["helyos_container_events_total", "helyos_schedule_duration_seconds", "helyos_deployment_ops_total"]) {
        // declared (HELP/TYPE) even before their first observation
        expect(page.text).toContain(`# TYPE ${name} `)
      }
    })))

  it.scopedLive("labels requests with the route template, never the raw path; unknown routes are 'unmatched'", () =>
    onMaster(Effect.gen(function*() {
      const stranger = `node-${randomUUID().slice(0, 8)}`
      expect((yield* call("POST", `/api/v1/nodes/${stranger}/drain`)).status).toBe(404)
      expect((yield* call("DELETE", `/api/v1/nodes/${stranger}`)).status).toBe(404)
      expect((yield* call("GET", "/api/v1/nodes")).status).toBe(200)
      expect((yield* call("GET", "/api/v1/nodes", undefined, null)).status).toBe(401)
      expect((yield* call("GET", `/no/such/${stranger}`)).status).toBe(404)

      const page = yield* call("GET", "/metrics", undefined, null)
      const families = parsePrometheusText(page.text)
      const requests = families.find((f) => f.name === "helyos_http_requests_total")
      expect(requests?.type).toBe("COUNTER")
      const series = (requests?.metrics ?? []).map((m) => ({ ...m.labels, value: m.value }))
      expect(series).toEqual(expect.arrayContaining([
        { method: "POST", path: "/api/v1/nodes/:name/drain", status: "404", value: "1" },
        { method: "DELETE", path: "/api/v1/nodes/:name", status: "404", value: "1" },
        { method: "GET", path: "/api/v1/nodes", status: "200", value: "1" },
        { method: "GET", path: "/api/v1/nodes", status: "401", value: "1" },
        { method: "GET", path: "unmatched", status: "404", value: "1" }
      ]))
      expect(families.find((f) => f.name === "helyos_http_request_duration_seconds")?.type).toBe("HISTOGRAM")
      // no label anywhere (histograms included) carries what a client put in the URL
      expect(page.text).not.toContain(stranger)
      for (const family of families) {
        for (const sample of family.metrics) {
          for (const value of Object.values(sample.labels ?? {})) expect(value).not.toContain(stranger)
        }
      }
    })))
})

describe("GET /api/v1/nodes/stats", () => {
  it.scopedLive("lists every node with lowercase role and status; this host's figures are sampled live", () =>
    onMaster(Effect.gen(function*() {
      const answer = yield* call("GET", "/api/v1/nodes/stats")
      expect(answer.status).toBe(200)
      const stats = JSON.parse(answer.text) as Array<Record<string, unknown>>
      expect(stats.map((s) => s.name)).toEqual(["master", "w1", "w2"])
      // the master reads HostInfo now (2 of 4 cores busy, 4 of 8 GiB used)
      expect(stats[0]).toEqual({
        name: "master",
        role: "master",
        status: "ready",
        cpu_cores: 4,
        cpu_usage_percent: 50,
        memory_total_bytes: 8 * 2 ** 30,
        memory_used_bytes: 4 * 2 ** 30,
        pod_count: 0
      })
      // a worker as of its last heartbeat (1 of 4 cores, 2 of 8 GiB), with its pods
      expect(stats[1]).toEqual({
        name: "w1",
        role: "worker",
        status: "ready",
        cpu_cores: 4,
        cpu_usage_percent: 25,
        memory_total_bytes: 8 * 2 ** 30,
        memory_used_bytes: 2 * 2 ** 30,
        pod_count: 3
      })
      expect((yield* call("GET", "/api/v1/nodes/stats", undefined, null)).status).toBe(401)
    })))
})

describe("GET /api/v1/status", () => {
  it.scopedLive("counts nodes by status, projects, deployments and pods", () =>
    onMaster(Effect.gen(function*() {
      yield* (yield* NodeRegistry).setSchedulable("w2", "draining")
      const answer = yield* call("GET", "/api/v1/status")
      expect(answer.status).toBe(200)
      expect(JSON.parse(answer.text)).toEqual({
        cluster: "cluster",
        nodes: 3,
        nodes_by_status: { ready: 2, notready: 0, draining: 1 },
        projects: 0,
        deployments: { total: 0, running: 0, stopped: 0, pending: 0, degraded: 0, failed: 0 },
        pods: {
          total: 0,
          running: 0,
          restarting: 0,
          crashloopbackoff: 0,
          pending: 0,
          creating: 0,
          stopping: 0,
          stopped: 0,
          failed: 0
        },
        // this daemon runs no resolver (--dns-mode noop)
        dns: { mode: "noop", listen: null, records: 0, revision: 0 }
      })
      expect((yield* call("GET", "/api/v1/status", undefined, null)).status).toBe(401)
    })))
})
