// The metrics on prom-client: every documented family, gauges from the scrape-time sample, labels as
// observed, the event feed's counters, and the default (no metrics provided) that counts nothing.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import parsePrometheusText, { type PrometheusFamily } from "parse-prometheus-text-format"
import { EventLog } from "../../src/services/observability/EventLog.js"
import { type ClusterSample, Metrics } from "../../src/services/observability/Metrics.js"
import * as EventLogLive from "../../src/layers/observability/EventLogLive.js"
import * as MetricsEventFeed from "../../src/layers/observability/MetricsEventFeed.js"
import * as MetricsPrometheus from "../../src/layers/observability/MetricsPrometheus.js"

const empty: ClusterSample = { nodes: [], pods: [], deployments: 0 }

const familiesOf = (text: string): ReadonlyMap<string, PrometheusFamily> =>
  new Map(parsePrometheusText(text).map((family) => [family.name, family]))

/** `{labels..., value}` of every sample of a counter or gauge. */
const series = (families: ReadonlyMap<string, PrometheusFamily>, name: string) =>
  (families.get(name)?.metrics ?? []).map((m) => ({ ...m.labels, value: m.value }))

describe("Metrics (prom-client)", () => {
  it.effect("declares every family, all prefixed helyos_, and emits the gauges at 0 before any state", () =>
    Effect.gen(function*() {
      const metrics = yield* MetricsPrometheus.make
      const text = yield* metrics.render(empty)
      for (
        const [name, type] of [
          ["helyos_http_requests_total", "counter"],
          ["helyos_http_request_duration_seconds", "histogram"],
          ["helyos_container_events_total", "counter"],
          ["helyos_schedule_duration_seconds", "histogram"],
          ["helyos_deployment_ops_total", "counter"],
          ["helyos_nodes_total", "gauge"],
          ["helyos_pods_total", "gauge"],
          ["helyos_deployments_total", "gauge"],
          ["helyos_nodes", "gauge"],
          ["helyos_node_heartbeat_age_seconds", "gauge"],
          ["helyos_pods", "gauge"],
          ["helyos_pod_restarts_total", "counter"],
          ["helyos_reconcile_duration_seconds", "histogram"]
        ] as const
      ) expect(text).toContain(`# TYPE ${name} ${type}\n`)
      const families = familiesOf(text)
      expect([...families.keys()].every((name) => name.startsWith("helyos_"))).toBe(true)
      expect(series(families, "helyos_nodes_total")).toEqual([{ value: "0" }])
      expect(series(families, "helyos_pods_total")).toEqual([{ value: "0" }])
      expect(series(families, "helyos_deployments_total")).toEqual([{ value: "0" }])
      expect(series(families, "helyos_nodes")).toHaveLength(4)
      expect(series(families, "helyos_pods")).toHaveLength(8)
    }))

  it.effect("sets the gauges from the sample taken at scrape time; a node gone since disappears", () =>
    Effect.gen(function*() {
      const metrics = yield* MetricsPrometheus.make
      const families = familiesOf(yield* metrics.render({
        nodes: [
          { name: "master", status: "ready", heartbeatAgeSeconds: undefined },
          { name: "w1", status: "ready", heartbeatAgeSeconds: 2.5 },
          { name: "w2", status: "dead", heartbeatAgeSeconds: 75 },
          { name: "w3", status: "draining", heartbeatAgeSeconds: 1 }
        ],
        pods: [{ status: "running" }, { status: "running" }, { status: "crashloopbackoff" }],
        deployments: 2
      }))
      expect(series(families, "helyos_nodes_total")).toEqual([{ value: "4" }])
      expect(series(families, "helyos_pods_total")).toEqual([{ value: "3" }])
      expect(series(families, "helyos_deployments_total")).toEqual([{ value: "2" }])
      expect(series(families, "helyos_nodes")).toEqual([
        { status: "ready", value: "2" },
        { status: "notready", value: "0" },
        { status: "dead", value: "1" },
        { status: "draining", value: "1" }
      ])
      expect(series(families, "helyos_node_heartbeat_age_seconds")).toEqual([
        { node: "w1", value: "2.5" },
        { node: "w2", value: "75" },
        { node: "w3", value: "1" }
      ])
      expect(series(families, "helyos_pods")).toEqual(expect.arrayContaining([
        { status: "running", value: "2" },
        { status: "crashloopbackoff", value: "1" },
        { status: "pending", value: "0" }
      ]))

      const later = familiesOf(yield* metrics.render({ ...empty, nodes: [{ name: "w1", status: "notready", heartbeatAgeSeconds: 40 }] }))
      expect(series(later, "helyos_node_heartbeat_age_seconds")).toEqual([{ node: "w1", value: "40" }])
      expect(series(later, "helyos_nodes")).toContainEqual({ status: "ready", value: "0" })
    }))

  it.effect("labels observations as given: route template, status, strategy, op", () =>
    Effect.gen(function*() {
      const metrics = yield* MetricsPrometheus.make
      const ms = (n: number) => Duration.millis(n)
      yield* metrics.observeHttp({ method: "GET", path: "/api/v1/nodes/:name", status: 404, duration: ms(3) })
      yield* metrics.observeHttp({ method: "GET", path: "/api/v1/nodes/:name", status: 404, duration: ms(7) })
      yield* metrics.observeHttp({ method: "GET", path: "unmatched", status: 404, duration: ms(1) })
      yield* metrics.observeSchedule("binpack", ms(2))
      yield* metrics.observeReconcile(ms(20))
      yield* metrics.countDeploymentOp("scale")
      yield* metrics.countContainerEvent("oom")
      yield* metrics.countPodRestart
      const text = yield* metrics.render(empty)
      const families = familiesOf(text)
      expect(series(families, "helyos_http_requests_total")).toEqual([
        { method: "GET", path: "/api/v1/nodes/:name", status: "404", value: "2" },
        { method: "GET", path: "unmatched", status: "404", value: "1" }
      ])
      expect(text).toContain(`helyos_http_request_duration_seconds_sum{method="GET",path="/api/v1/nodes/:name"} 0.01\n`)
      expect(text).toContain(`helyos_schedule_duration_seconds_count{strategy="binpack"} 1\n`)
      expect(text).toContain(`helyos_reconcile_duration_seconds_sum 0.02\n`)
      expect(series(families, "helyos_deployment_ops_total")).toEqual([{ op: "scale", value: "1" }])
      expect(series(families, "helyos_container_events_total")).toEqual([{ event: "oom", value: "1" }])
      expect(series(families, "helyos_pod_restarts_total")).toEqual([{ value: "1" }])
    }))

  it.effect("each instance has its own registry: two daemons in one process never share counts", () =>
    Effect.gen(function*() {
      const first = yield* MetricsPrometheus.make
      const second = yield* MetricsPrometheus.make
      yield* first.countDeploymentOp("deploy")
      expect(series(familiesOf(yield* second.render(empty)), "helyos_deployment_ops_total")).toEqual([])
      expect(series(familiesOf(yield* first.render(empty)), "helyos_deployment_ops_total")).toEqual([{ op: "deploy", value: "1" }])
    }))

  it.effect("without a Metrics layer, observing is a no-op and the page is empty", () =>
    Effect.gen(function*() {
      const metrics = yield* Metrics
      yield* metrics.countDeploymentOp("deploy")
      expect(yield* metrics.render(empty)).toBe("")
    }))

  it.live("the event feed counts container starts, deaths, OOM kills and restarts from pod events", () =>
    Effect.gen(function*() {
      const log = yield* EventLog
      const metrics = yield* Metrics
      for (const action of ["scheduled", "started", "died", "OOMKilled", "restarted", "started"]) {
        yield* log.record({ kind: "pod", name: "web-0", action, message: action })
      }
      // a deployment's "restarted" is not a container's
      yield* log.record({ kind: "deployment", name: "shop/web", action: "restarted", message: "rolling" })
      const expected = [
        { event: "started", value: "3" },
        { event: "died", value: "1" },
        { event: "oom", value: "1" }
      ]
      // the feed runs on its own fiber: poll until it has caught up (bounded)
      let families = familiesOf(yield* metrics.render(empty))
      for (let i = 0; i < 200 && JSON.stringify(series(families, "helyos_container_events_total")) !== JSON.stringify(expected); i++) {
        yield* Effect.sleep("10 millis")
        families = familiesOf(yield* metrics.render(empty))
      }
      expect(series(families, "helyos_container_events_total")).toEqual(expected)
      expect(series(families, "helyos_pod_restarts_total")).toEqual([{ value: "1" }])
    }).pipe(
      Effect.provide(MetricsEventFeed.layer.pipe(Layer.provideMerge(Layer.mergeAll(MetricsPrometheus.layer, EventLogLive.layer)))),
      Effect.scoped
    ))
})
