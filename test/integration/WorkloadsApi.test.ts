// Deployments, pods, projects and the scheduler over the REST API: a real socket, the real orchestrator
// (in-memory SQLite, reconcile loop) and a master that runs its own pods through a test double.
import * as http from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { LocalHost } from "../support/harness/OrchestratorHarness.js"
import { call } from "../support/harness/RawHttp.js"
import { WRONG, workloadApi } from "../support/harness/WorkloadApiHarness.js"
import { eventually } from "../support/harness/Eventually.js"

/** One request from a chosen loopback source address, with no token (null) or a given one. */
const unauthenticated = (base: string, method: string, route: string, token: string | null, from: string) =>
  new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const target = new URL(route, base)
    const request = http.request({
      host: target.hostname,
      port: target.port,
      path: target.pathname,
      method,
      localAddress: from,
      headers: {
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
        ...(method === "POST" ? { "content-type": "application/json" } : {})
      }
    }, (response) => {
      let text = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (text += chunk))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) }))
    })
    request.on("error", reject)
    request.end(method === "POST" ? "{}" : undefined)
  })

const apiSpec = { project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas: 2 }

type Pod = Record<string, unknown>
const pods = (project = "shop") => Effect.map(call("GET", `/api/v1/pods?project=${project}`), (a) => a.body as Array<Pod>)
const runningPods = (project = "shop") =>
  eventually(pods(project), (list) => list.filter((p) => p.status === "running").length > 0)

const withApi = <A, E>(test: Effect.Effect<A, E, ApiServer | Orchestrator | LocalHost | Scope.Scope>) =>
  Effect.provide(test, workloadApi())

describe("POST /api/v1/deploy", () => {
  it.scopedLive("an invalid spec answers 422 naming the field, and creates nothing", () =>
    withApi(Effect.gen(function*() {
      const answer = yield* call("POST", "/api/v1/deploy", { ...apiSpec, resources: { cpu: 0.5, memory: "512mb" } })
      expect(answer.status).toBe(422)
      expect((answer.body as { error: string }).error).toContain(
        `resources.memory: "512mb" is not a size like 512m, 1g, 256k`
      )
      expect((yield* call("GET", "/api/v1/deployments")).body).toEqual([])
      expect((yield* call("GET", "/api/v1/pods")).body).toEqual([])
      expect((yield* call("GET", "/api/v1/projects")).body).toEqual([])
    })))

  it.scopedLive("a body that is not a mapping is a 422 too", () =>
    withApi(Effect.gen(function*() {
      const answer = yield* call("POST", "/api/v1/deploy", ["not", "a", "spec"])
      expect(answer.status).toBe(422)
      expect((answer.body as { error: string }).error).toMatch(/^invalid deployment spec: spec: must be a mapping/)
    })))

  it.scopedLive("a valid spec answers 201 with the deployment; its pods are then listed with the documented fields", () =>
    withApi(Effect.gen(function*() {
      const answer = yield* call("POST", "/api/v1/deploy", apiSpec)
      expect(answer.status).toBe(201)
      expect(answer.body).toMatchObject({ project: "shop", name: "api", image: "nginx:1", replicas: 2 })
      const list = yield* eventually(pods(), (all) => all.filter((p) => p.status === "running").length === 2)
      expect(list.map((p) => p.name).sort()).toEqual(["api-0", "api-1"])
      expect(Object.keys(list[0]!).sort()).toEqual(expect.arrayContaining([
        "container_id",
        "container_ip",
        "created_at",
        "deployment_name",
        "id",
        "image",
        "name",
        "node",
        "project",
        "replica_index",
        "restart_count",
        "status"
      ]))
      expect(list[0]).toMatchObject({ project: "shop", deployment_name: "api", node: "master", image: "nginx:1" })
      const deployments = (yield* call("GET", "/api/v1/deployments?project=shop")).body as Array<Pod>
      expect(deployments).toHaveLength(1)
      expect(deployments[0]).toMatchObject({ name: "api", status: "running", replicas: 2, ready_replicas: 2 })
      expect((yield* call("GET", "/api/v1/deployments?project=other")).body).toEqual([])
      // the project was auto-created, active
      expect((yield* call("GET", "/api/v1/projects")).body).toMatchObject([{ name: "shop", status: "active" }])
    })))

  it.scopedLive("into a suspended project answers 409", () =>
    withApi(Effect.gen(function*() {
      expect((yield* call("POST", "/api/v1/projects", { name: "shop" })).status).toBe(201)
      expect((yield* call("POST", "/api/v1/projects/shop/suspend")).body).toMatchObject({ status: "suspended" })
      const answer = yield* call("POST", "/api/v1/deploy", apiSpec)
      expect(answer.status).toBe(409)
      expect(answer.body).toEqual({ error: "project 'shop' is suspended; resume it with helyos project resume shop" })
    })))
})

describe("a deployment's scale, stop, rm and logs", () => {
  it.scopedLive("scale sets the desired count; a bad count is 422, an unknown deployment 404", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/deploy", apiSpec)
      const scaled = yield* call("POST", "/api/v1/projects/shop/deployments/api/scale", { replicas: 3 })
      expect(scaled.status).toBe(200)
      expect(scaled.body).toMatchObject({ name: "api", replicas: 3 })
      yield* eventually(pods(), (all) => all.filter((p) => p.status === "running").length === 3)
      const bad = yield* call("POST", "/api/v1/projects/shop/deployments/api/scale", { replicas: 1.5 })
      expect(bad.status).toBe(422)
      expect(bad.body).toEqual({ error: "replicas must be a whole number ≥ 0, got 1.5" })
      const missing = yield* call("POST", "/api/v1/projects/shop/deployments/nope/scale", { replicas: 1 })
      expect(missing.status).toBe(404)
      expect(missing.body).toEqual({ error: "deployment 'nope' not found in project 'shop'" })
    })))

  it.scopedLive("stop keeps the definition as stopped; DELETE answers 204 and removes it", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/deploy", apiSpec)
      yield* runningPods()
      const stopped = yield* call("POST", "/api/v1/projects/shop/deployments/api/stop")
      expect(stopped.status).toBe(200)
      expect(stopped.body).toMatchObject({ name: "api", status: "stopped" })
      const removed = yield* call("DELETE", "/api/v1/projects/shop/deployments/api")
      expect([removed.status, removed.text]).toEqual([204, ""])
      expect((yield* call("GET", "/api/v1/deployments")).body).toEqual([])
      expect((yield* call("DELETE", "/api/v1/projects/shop/deployments/api")).status).toBe(404)
    })))

  it.scopedLive("logs stream as text/plain lines `<pod> <line>`; an unknown pod is 409, an unknown deployment 404", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/deploy", { ...apiSpec, replicas: 1 })
      yield* runningPods()
      const logs = yield* call("GET", "/api/v1/projects/shop/deployments/api/logs?tail=10")
      expect(logs.status).toBe(200)
      expect(logs.contentType).toMatch(/^text\/plain/)
      const lines = logs.text.trimEnd().split("\n")
      expect(lines).toHaveLength(2)
      expect(lines[0]).toMatch(/^api-0 local [0-9a-f-]{6} line 1$/)
      expect(lines[1]).toBe("api-0 line 2")
      const noPod = yield* call("GET", "/api/v1/projects/shop/deployments/api/logs?pod=api-7")
      expect(noPod.status).toBe(409)
      expect(noPod.body).toEqual({ error: "logs of pod 'api-7' are unavailable: deployment 'api' has no such pod" })
      expect((yield* call("GET", "/api/v1/projects/shop/deployments/nope/logs")).status).toBe(404)
      expect((yield* call("GET", "/api/v1/projects/shop/deployments/api/logs?tail=-1")).status).toBe(422)
    })))
})

describe("/api/v1/projects", () => {
  it.scopedLive("create answers 201, again 409; a name that is not a DNS label 422", () =>
    withApi(Effect.gen(function*() {
      const created = yield* call("POST", "/api/v1/projects", { name: "web" })
      expect(created.status).toBe(201)
      expect(Object.keys(created.body as object).sort()).toEqual(["created_at", "name", "status"])
      expect(created.body).toMatchObject({ name: "web", status: "active" })
      const again = yield* call("POST", "/api/v1/projects", { name: "web" })
      expect([again.status, again.body]).toEqual([409, { error: "project 'web' already exists" }])
      const bad = yield* call("POST", "/api/v1/projects", { name: "Web_1" })
      expect(bad.status).toBe(422)
      expect((bad.body as { error: string }).error).toMatch(/^invalid name 'Web_1': /)
    })))

  it.scopedLive("suspend stops the pods, resume brings them back; unknown projects are 404", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/deploy", { ...apiSpec, replicas: 1 })
      yield* runningPods()
      expect((yield* call("POST", "/api/v1/projects/shop/suspend")).body).toMatchObject({ name: "shop", status: "suspended" })
      yield* eventually(pods(), (all) => all.every((p) => p.status !== "running"))
      expect((yield* call("POST", "/api/v1/projects/shop/resume")).body).toMatchObject({ status: "active" })
      yield* runningPods()
      const missing = yield* call("POST", "/api/v1/projects/nope/suspend")
      expect([missing.status, missing.body]).toEqual([404, { error: "project 'nope' not found" }])
    })))

  it.scopedLive("delete refuses a project with deployments (409) and answers 204 once it is empty", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/deploy", { ...apiSpec, replicas: 1 })
      const refused = yield* call("DELETE", "/api/v1/projects/shop")
      expect(refused.status).toBe(409)
      expect((refused.body as { error: string }).error).toMatch(/still has 1 deployment/)
      yield* call("DELETE", "/api/v1/projects/shop/deployments/api")
      expect((yield* call("DELETE", "/api/v1/projects/shop")).status).toBe(204)
      expect((yield* call("DELETE", "/api/v1/projects/shop")).status).toBe(404)
      expect((yield* call("GET", "/api/v1/projects")).body).toEqual([])
    })))
})

describe("/api/v1/cluster/scheduler", () => {
  it.scopedLive("GET answers the spread preset; set scheduler binpack and a single weight (custom)", () =>
    withApi(Effect.gen(function*() {
      expect((yield* call("GET", "/api/v1/cluster/scheduler")).body).toEqual({
        strategy: "spread",
        weights: { cpu: 0.35, memory: 0.35, load: 0.15, failure: 0.15 }
      })
      const binpack = yield* call("POST", "/api/v1/cluster/scheduler", { key: "scheduler", value: "binpack" })
      expect(binpack.body).toEqual({ strategy: "binpack", weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.15 } })
      const custom = yield* call("POST", "/api/v1/cluster/scheduler", { key: "scheduler.weights.cpu", value: "0.5" })
      expect(custom.body).toEqual({ strategy: "custom", weights: { cpu: 0.5, memory: -0.3, load: -0.1, failure: 0.15 } })
      expect((yield* call("GET", "/api/v1/cluster/scheduler")).body).toEqual(custom.body)
    })))

  it.scopedLive("the reference's forms work too: {strategy}, {weights: {name, value}}, and a weights object", () =>
    withApi(Effect.gen(function*() {
      const binpack = yield* call("POST", "/api/v1/cluster/scheduler", { strategy: "binpack" })
      expect(binpack.status).toBe(200)
      expect(binpack.body).toEqual({ strategy: "binpack", weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.15 } })
      const named = yield* call("POST", "/api/v1/cluster/scheduler", { weights: { name: "failure", value: 0.4 } })
      expect(named.body).toEqual({ strategy: "custom", weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.4 } })
      const object = yield* call("POST", "/api/v1/cluster/scheduler", { strategy: "spread", weights: { cpu: 0.5, load: 0 } })
      expect(object.body).toEqual({ strategy: "custom", weights: { cpu: 0.5, memory: 0.35, load: 0, failure: 0.15 } })
    })))

  it.scopedLive("an empty body, an unknown weight in an object, or a bad value among good ones answers 422 and changes nothing", () =>
    withApi(Effect.gen(function*() {
      for (const body of [{}, { weights: { gpu: 1 } }, { strategy: "binpack", weights: { cpu: "lots" } }]) {
        const answer = yield* call("POST", "/api/v1/cluster/scheduler", body)
        expect(answer.status).toBe(422)
        expect((answer.body as { error: string }).error).toMatch(/expected/)
      }
      expect((yield* call("GET", "/api/v1/cluster/scheduler")).body).toMatchObject({ strategy: "spread" })
    })))

  it.scopedLive("an unknown key, strategy or non-number weight answers 422 and changes nothing", () =>
    withApi(Effect.gen(function*() {
      for (const setting of [
        { key: "scheduler", value: "roundrobin" },
        { key: "scheduler.weights.gpu", value: "1" },
        { key: "scheduler.weights.cpu", value: "lots" }
      ]) {
        const answer = yield* call("POST", "/api/v1/cluster/scheduler", setting)
        expect(answer.status).toBe(422)
        expect(typeof (answer.body as { error: unknown }).error).toBe("string")
      }
      expect((yield* call("GET", "/api/v1/cluster/scheduler")).body).toMatchObject({ strategy: "spread" })
    })))
})

describe("authentication", () => {
  it.scopedLive("every workload, project and scheduler route answers 401 without the right token", () =>
    withApi(Effect.gen(function*() {
      const routes = [
        ["POST", "/api/v1/deploy"],
        ["GET", "/api/v1/deployments"],
        ["GET", "/api/v1/pods"],
        ["POST", "/api/v1/projects/shop/deployments/api/scale"],
        ["POST", "/api/v1/projects/shop/deployments/api/stop"],
        ["DELETE", "/api/v1/projects/shop/deployments/api"],
        ["GET", "/api/v1/projects/shop/deployments/api/logs"],
        ["GET", "/api/v1/projects"],
        ["POST", "/api/v1/projects"],
        ["POST", "/api/v1/projects/shop/suspend"],
        ["POST", "/api/v1/projects/shop/resume"],
        ["DELETE", "/api/v1/projects/shop"],
        ["GET", "/api/v1/cluster/scheduler"],
        ["POST", "/api/v1/cluster/scheduler"],
        ["POST", "/api/v1/projects/shop/deployments/api/restart"],
        ["GET", "/api/v1/events"],
        ["GET", "/api/v1/events/recent"],
        ["GET", "/api/v1/projects/shop/secrets"],
        ["POST", "/api/v1/projects/shop/secrets/DB_PASSWORD"],
        ["DELETE", "/api/v1/projects/shop/secrets/DB_PASSWORD"],
        ["GET", "/api/v1/tokens"],
        ["POST", "/api/v1/tokens"],
        ["DELETE", "/api/v1/tokens/ci"],
        ["GET", "/api/v1/whoami"],
        ["GET", "/api/v1/status"],
        ["GET", "/api/v1/nodes/stats"]
      ] as const
      const { url } = yield* ApiServer
      for (const token of [null, WRONG]) {
        for (const [i, [method, route]] of routes.entries()) {
          // a wrong token is a failed authentication: each route is tried from its own loopback
          // address so the per-address throttle (tested on its own) never answers 429 here
          const answer = yield* Effect.promise(() => unauthenticated(url, method, route, token, `127.0.0.${10 + i}`))
          expect([method, route, answer.status, answer.body]).toEqual([
            method,
            route,
            401,
            { error: "missing or invalid bearer token" }
          ])
        }
      }
    })))
})
