// A worker's own metrics (prom-client): every family, pod events counted as the runtime pushes them
// (the ping still drains all of them), the pod gauge from the node's statuses, the master connection;
// and the worker's HTTP routes: /health, /metrics, and 404 {"error"} for everything else.
import { HttpApp } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Stream } from "effect"
import parsePrometheusText, { type PrometheusFamily } from "parse-prometheus-text-format"
import { makePodEventBuffer } from "../../src/layers/workload/pod/PodEventBuffer.js"
import { workerHttpApp } from "../../src/layers/observability/WorkerHttp.js"
import { podReport } from "../support/doubles/PodReports.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { WorkerMetrics } from "../../src/services/observability/WorkerMetrics.js"
import * as WorkerMetricsPrometheus from "../../src/layers/observability/WorkerMetricsPrometheus.js"

const familiesOf = (text: string): ReadonlyMap<string, PrometheusFamily> =>
  new Map(parsePrometheusText(text).map((family) => [family.name, family]))

/** `{labels..., value}` of every sample of a counter or gauge. */
const series = (families: ReadonlyMap<string, PrometheusFamily>, name: string): ReadonlyArray<Record<string, string | undefined>> =>
  (families.get(name)?.metrics ?? []).map((m) => ({ ...m.labels, value: m.value }))

const pod = (podId: string, status: string) => podReport({ podId, status })

describe("WorkerMetrics (prom-client)", () => {
  it.effect("declares every family, prefixed helyos_, at 0 before anything happened", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      const families = familiesOf(yield* metrics.render([]))
      for (
        const [name, type] of [
          ["helyos_container_events_total", "COUNTER"],
          ["helyos_pod_restarts_total", "COUNTER"],
          ["helyos_pods", "GAUGE"],
          ["helyos_worker_connected", "GAUGE"],
          ["helyos_worker_heartbeats_total", "COUNTER"],
          ["helyos_worker_reconnects_total", "COUNTER"]
        ] as const
      ) {
        expect(families.get(name)?.type, name).toBe(type)
      }
      expect(series(families, "helyos_worker_connected")).toEqual([{ value: "0" }])
      expect(series(families, "helyos_container_events_total")).toEqual([
        { event: "started", value: "0" },
        { event: "died", value: "0" },
        { event: "oom", value: "0" }
      ])
      expect(series(families, "helyos_pods").every((s) => s.value === "0")).toBe(true)
      expect(series(families, "helyos_pods")).toHaveLength(8)
    }))

  it.effect("counts pod events: a restart is a restart and a start; OOMKilled is oom; others are not container events", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      for (const action of ["started", "died", "restarted", "died", "restarted", "OOMKilled", "unhealthy", "crashloop", "failed"]) {
        yield* metrics.countPodEvent(action)
      }
      const families = familiesOf(yield* metrics.render([]))
      expect(series(families, "helyos_container_events_total")).toEqual([
        { event: "started", value: "3" },
        { event: "died", value: "2" },
        { event: "oom", value: "1" }
      ])
      expect(series(families, "helyos_pod_restarts_total")).toEqual([{ value: "2" }])
    }))

  it.effect("the pod gauge is this node's statuses at scrape time (a gone pod leaves it)", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      const first = familiesOf(yield* metrics.render([pod("a", "running"), pod("b", "running"), pod("c", "restarting")]))
      const byStatus = (families: ReadonlyMap<string, PrometheusFamily>) =>
        Object.fromEntries(series(families, "helyos_pods").map((s) => [s.status, s.value]))
      expect(byStatus(first)).toMatchObject({ running: "2", restarting: "1", failed: "0" })
      const second = familiesOf(yield* metrics.render([pod("a", "running")]))
      expect(byStatus(second)).toMatchObject({ running: "1", restarting: "0" })
    }))

  it.effect("the master connection: connected 1/0, heartbeats and reconnects counted", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      yield* metrics.setConnected(true)
      yield* Effect.repeatN(metrics.countHeartbeat, 2)
      let families = familiesOf(yield* metrics.render([]))
      expect(series(families, "helyos_worker_connected")).toEqual([{ value: "1" }])
      expect(series(families, "helyos_worker_heartbeats_total")).toEqual([{ value: "3" }])
      yield* metrics.setConnected(false)
      yield* metrics.countReconnect
      families = familiesOf(yield* metrics.render([]))
      expect(series(families, "helyos_worker_connected")).toEqual([{ value: "0" }])
      expect(series(families, "helyos_worker_reconnects_total")).toEqual([{ value: "1" }])
    }))

  it.effect("two registries never share counts (two daemons in one process)", () =>
    Effect.gen(function*() {
      const one = yield* WorkerMetricsPrometheus.make
      const two = yield* WorkerMetricsPrometheus.make
      yield* one.countHeartbeat
      expect(series(familiesOf(yield* two.render([])), "helyos_worker_heartbeats_total")).toEqual([{ value: "0" }])
    }))

  it.effect("the pod event buffer shows every event to the metrics and still hands every one to the ping", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      const buffer = yield* makePodEventBuffer(256, metrics.countPodEvent)
      yield* buffer.push("p1", "started", "container started")
      yield* buffer.push("p1", "died", "exit 1", 1)
      yield* buffer.push("p1", "restarted", "container started again (restart 1)")
      expect((yield* buffer.take).map((e) => e.action)).toEqual(["started", "died", "restarted"])
      expect(series(familiesOf(yield* metrics.render([])), "helyos_pod_restarts_total")).toEqual([{ value: "1" }])
    }))
})

describe("the worker's HTTP routes", () => {
  const workload = Layer.succeed(LocalWorkload, LocalWorkload.of({
    apply: () => Effect.void,
    fence: Effect.succeed(0),
    statuses: Effect.succeed([pod("a", "running")]),
    assigned: Effect.succeed([]),
    takeEvents: Effect.succeed([]),
    appliedGeneration: Effect.succeed(0),
    logs: () => Stream.fail("no logs")
  }))
  const handler = () => HttpApp.toWebHandlerLayer(workerHttpApp, Layer.merge(workload, WorkerMetricsPrometheus.layer))

  it.live("GET /health, GET /metrics (Prometheus text 0.0.4), and 404 {error} for the rest", () =>
    Effect.acquireUseRelease(
      Effect.sync(handler),
      ({ handler }) =>
        Effect.promise(async () => {
          const health = await handler(new Request("http://worker/health"))
          expect(health.status).toBe(200)
          expect(await health.json()).toEqual({ status: "ok" })

          const metrics = await handler(new Request("http://worker/metrics"))
          expect(metrics.status).toBe(200)
          expect(metrics.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8")
          const families = familiesOf(await metrics.text())
          expect(series(families, "helyos_pods").find((s) => s.status === "running")?.value).toBe("1")

          for (const [method, url] of [["GET", "/api/v1/nodes"], ["GET", "/"], ["POST", "/metrics"], ["DELETE", "/health"]] as const) {
            const response = await handler(new Request(`http://worker${url}`, { method }))
            expect(response.status, `${method} ${url}`).toBe(404)
            expect(await response.json()).toEqual({ error: "not found" })
          }
        }),
      ({ dispose }) => Effect.promise(dispose)
    ))
})

// the no-op default: code that observes needs no metrics provided
it.effect("WorkerMetrics defaults to a no-op that renders an empty page", () =>
  Effect.gen(function*() {
    const metrics = yield* WorkerMetrics
    yield* metrics.countPodEvent("started")
    expect(yield* metrics.render([])).toBe("")
  }))
