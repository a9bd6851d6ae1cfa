// The resolver's series on the master's and a worker's /metrics: queries answered by response code
// (helyos_dns_queries_total{rcode}), forwards and their failures, drops, the records held — copied from
// DnsResolver.stats at each scrape, the same names on both pages.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import parsePrometheusText from "parse-prometheus-text-format"
import { emptyStats, type DnsStats } from "../../src/services/dns/DnsResolver.js"
import { DnsResolver } from "../../src/services/dns/DnsResolver.js"
import { dnsSampleOf } from "../../src/layers/observability/PromKit.js"
import * as MetricsPrometheus from "../../src/layers/observability/MetricsPrometheus.js"
import * as WorkerMetricsPrometheus from "../../src/layers/observability/WorkerMetricsPrometheus.js"

const stats = (responses: Partial<DnsStats["responses"]>, rest: Partial<Omit<DnsStats, "responses">> = {}): DnsStats => ({
  ...emptyStats,
  ...rest,
  responses: { ...emptyStats.responses, ...responses }
})

const series = (text: string, name: string) =>
  (parsePrometheusText(text).find((f) => f.name === name)?.metrics ?? []).map((m) => ({ ...m.labels, value: m.value }))

describe("DNS metrics", () => {
  it.effect("the master's page counts queries by answer code from the resolver's totals, each scrape afresh", () =>
    Effect.gen(function*() {
      const metrics = yield* MetricsPrometheus.make
      const sample = (dns: DnsStats) => ({ nodes: [], pods: [], deployments: 0, dns: { stats: dns, records: 3 } })
      const first = yield* metrics.render(sample(stats({ NOERROR: 5, NXDOMAIN: 2 }, { forwarded: 4, forwardFailures: 1, dropped: 7 })))
      expect(first).toContain("# TYPE helyos_dns_queries_total counter\n")
      expect(series(first, "helyos_dns_queries_total")).toEqual(expect.arrayContaining([
        { rcode: "NOERROR", value: "5" },
        { rcode: "NXDOMAIN", value: "2" },
        { rcode: "SERVFAIL", value: "0" }
      ]))
      expect(series(first, "helyos_dns_forwarded_total")).toEqual([{ value: "4" }])
      expect(series(first, "helyos_dns_forward_failures_total")).toEqual([{ value: "1" }])
      expect(series(first, "helyos_dns_dropped_total")).toEqual([{ value: "7" }])
      expect(series(first, "helyos_dns_records")).toEqual([{ value: "3" }])
      // totals, not increments: the next scrape shows the resolver's new totals
      const second = yield* metrics.render(sample(stats({ NOERROR: 6, NXDOMAIN: 2 })))
      expect(series(second, "helyos_dns_queries_total")).toEqual(expect.arrayContaining([{ rcode: "NOERROR", value: "6" }]))
    }))

  it.effect("a worker's page carries the same series", () =>
    Effect.gen(function*() {
      const metrics = yield* WorkerMetricsPrometheus.make
      const text = yield* metrics.render([], { stats: stats({ NOERROR: 1, REFUSED: 1 }), records: 2 })
      expect(series(text, "helyos_dns_queries_total")).toEqual(expect.arrayContaining([
        { rcode: "NOERROR", value: "1" },
        { rcode: "REFUSED", value: "1" }
      ]))
      expect(series(text, "helyos_dns_records")).toEqual([{ value: "2" }])
    }))

  it.effect("no resolver, or the no-op one: no DNS sample", () =>
    Effect.gen(function*() {
      expect(yield* dnsSampleOf(Option.none())).toBeUndefined()
      const noop = yield* Effect.provide(DnsResolver, DnsResolver.layerNoop)
      expect(yield* dnsSampleOf(Option.some(noop))).toBeUndefined()
    }))
})
