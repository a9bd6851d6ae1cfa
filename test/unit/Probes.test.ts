// Health probes on their own: what the assignment's healthcheck becomes (defaults, the pod's first
// port), and the HTTP / TCP / exec verdicts against real sockets on 127.0.0.1 and the fake engine.
import { describe, expect, it } from "@effect/vitest"
import * as http from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect } from "effect"
import type { HealthCheck, PodAssignment } from "../../src/domain/PodAssignment.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import { type HealthProbe, probePlanOf, runProbe } from "../../src/layers/workload/probes/Probe.js"
import { ContainerRuntime } from "../../src/services/workload/ContainerRuntime.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"

const pod = (healthcheck: HealthCheck | undefined, ports: Array<number> = [8080]): PodAssignment => ({
  podId: "p1",
  containerName: "helyos-shop-api-0",
  project: "shop",
  deployment: "api",
  replicaIndex: 0,
  image: "img",
  command: [],
  env: {},
  ports,
  publishPorts: false,
  volumes: [],
  cpu: 0,
  memoryBytes: 0,
  restartPolicy: "always",
  ...(healthcheck === undefined ? {} : { healthcheck })
})

const check = (overrides: Partial<HealthCheck>): HealthCheck => ({
  kind: "http",
  path: "/health",
  port: 0,
  command: [],
  intervalMs: 0,
  timeoutMs: 0,
  retries: 0,
  ...overrides
})

/** A server on 127.0.0.1:0 answering with `handler`; closed with the scope. */
const server = (handler: http.RequestListener) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const s = http.createServer(handler)
      s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
    }),
    (s) => Effect.sync(() => s.closeAllConnections()).pipe(Effect.zipRight(Effect.async<void>((resume) => {
      s.close(() => resume(Effect.void))
    })))
  ).pipe(Effect.map((s) => (s.address() as AddressInfo).port))

const httpProbe = (port: number, path = "/health", timeout = Duration.seconds(2)): HealthProbe => ({
  check: { _tag: "Http", path, port },
  interval: Duration.seconds(1),
  timeout,
  retries: 3
})

const local = { containerId: "c1", ip: "127.0.0.1" }

describe("probePlanOf", () => {
  it("no healthcheck: no probe", () => {
    expect(probePlanOf(pod(undefined))).toEqual({ _tag: "None" })
  })

  it("fills the documented 10s / 5s / 3 and the pod's first port", () => {
    expect(probePlanOf(pod(check({}), [3000, 9000]))).toEqual({
      _tag: "Probe",
      probe: {
        check: { _tag: "Http", path: "/health", port: 3000 },
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        retries: 3
      }
    })
  })

  it("keeps what the assignment says", () => {
    const plan = probePlanOf(pod(check({ kind: "tcp", port: 5432, intervalMs: 500, timeoutMs: 200, retries: 1 })))
    expect(plan).toEqual({
      _tag: "Probe",
      probe: { check: { _tag: "Tcp", port: 5432 }, interval: Duration.millis(500), timeout: Duration.millis(200), retries: 1 }
    })
    expect(probePlanOf(pod(check({ kind: "exec", command: ["cat", "/ready"] })))).toMatchObject({
      _tag: "Probe",
      probe: { check: { _tag: "Exec", command: ["cat", "/ready"] } }
    })
  })

  it("says why a probe cannot run instead of skipping it silently", () => {
    expect(probePlanOf(pod(check({}), []))).toEqual({
      _tag: "Invalid",
      problem: "HTTP health check without a port (and the pod has no ports)"
    })
    expect(probePlanOf(pod(check({ kind: "exec" })))._tag).toBe("Invalid")
    expect(probePlanOf(pod(check({ kind: "grpc" })))).toEqual({ _tag: "Invalid", problem: "unknown health check kind 'grpc'" })
  })
})

describe("runProbe", () => {
  const runtime = Effect.provide(ContainerRuntime, ContainerRuntimeMemory.layerWith())

  it.scopedLive("http: any 2xx is healthy; anything else names the status", () =>
    Effect.gen(function*() {
      const rt = yield* runtime
      const port = yield* server((req, res) => {
        res.statusCode = req.url === "/health" ? 204 : req.url === "/moved" ? 302 : 503
        res.setHeader("location", "http://example.com/")
        res.end()
      })
      expect(yield* runProbe(rt, httpProbe(port), local)).toEqual({ verdict: "healthy", detail: "" })
      // a redirect is not followed anywhere: it is a failure
      expect(yield* runProbe(rt, httpProbe(port, "/moved"), local)).toEqual({ verdict: "unhealthy", detail: "GET /moved answered 302" })
      expect(yield* runProbe(rt, httpProbe(port, "/other"), local)).toEqual({ verdict: "unhealthy", detail: "GET /other answered 503" })
    }))

  it.scopedLive("http: a server that never answers is unhealthy after the timeout", () =>
    Effect.gen(function*() {
      const rt = yield* runtime
      const port = yield* server(() => { /* never answers */ })
      const result = yield* runProbe(rt, httpProbe(port, "/health", Duration.millis(200)), local)
      expect(result).toEqual({ verdict: "unhealthy", detail: "no answer within 200ms" })
    }))

  it.scopedLive("tcp: healthy when the port accepts, unhealthy when refused", () =>
    Effect.gen(function*() {
      const rt = yield* runtime
      const port = yield* server((_, res) => res.end())
      const tcp = (p: number): HealthProbe => ({ ...httpProbe(p), check: { _tag: "Tcp", port: p } })
      expect((yield* runProbe(rt, tcp(port), local)).verdict).toBe("healthy")
      const closed = yield* Effect.scoped(server((_, res) => res.end())) // bound then released: nobody listens
      const refused = yield* runProbe(rt, tcp(closed), local)
      expect(refused.verdict).toBe("unhealthy")
      expect(refused.detail).toContain(`connect to port ${closed}: connect ECONNREFUSED`)
    }))

  it.scopedLive("no IP yet: unhealthy, saying so", () =>
    Effect.gen(function*() {
      const rt = yield* runtime
      expect(yield* runProbe(rt, httpProbe(80), { containerId: "c1", ip: "" })).toEqual({
        verdict: "unhealthy",
        detail: "the container has no IP on its network"
      })
    }))

  it.effect("exec: exit 0 healthy, non-zero names the code; an engine away is inconclusive", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      const fake = yield* MemoryEngine
      yield* fake.addImage("img")
      yield* rt.ensureNetwork("helyos-shop")
      const { id } = yield* rt.run({
        name: "helyos-shop-api-0", image: "img", command: [], env: {}, ports: [], publishPorts: false,
        volumes: [], network: "helyos-shop", labels: {}, cpu: 0, memoryBytes: 0
      })
      const exec: HealthProbe = { ...httpProbe(0), check: { _tag: "Exec", command: ["cat", "/ready"] } }
      expect((yield* runProbe(rt, exec, { containerId: id, ip: "" })).verdict).toBe("healthy")
      yield* fake.onExec("helyos-shop-api-0", () => Effect.succeed(3))
      expect(yield* runProbe(rt, exec, { containerId: id, ip: "" })).toEqual({
        verdict: "unhealthy",
        detail: "'cat /ready' exited with code 3"
      })
      yield* fake.setAvailable(false)
      expect((yield* runProbe(rt, exec, { containerId: id, ip: "" })).verdict).toBe("inconclusive")
    }).pipe(Effect.provide(ContainerRuntimeMemory.layerWith())))
})
