// Secrets over the REST API (real socket, real orchestrator, SQLite) and their injection into the
// assignments this master hands its own host: names only on the wire, values only in the pod's env.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Layer, Logger, LogLevel, type Scope } from "effect"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { join, lastAssignment, LocalHost, Wire, workerReports } from "../support/harness/OrchestratorHarness.js"
import { call } from "../support/harness/RawHttp.js"
import { workloadApi } from "../support/harness/WorkloadApiHarness.js"
import { eventually } from "../support/harness/Eventually.js"

const VALUE = "pa55-VALUE-never-echoed-9c1e"

/** Every line the daemon logged during the test (all levels, causes included). */
const logged: Array<string> = []
const captureLogs = Layer.mergeAll(
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ cause, message }) => {
      logged.push(`${JSON.stringify(message)} ${Cause.isEmpty(cause) ? "" : Cause.pretty(cause)}`)
    })
  ),
  Logger.minimumLogLevel(LogLevel.All)
)

type Env = ApiServer | LocalHost | SqlClient.SqlClient | NodeRegistry | NodeWorkloads | Wire | Scope.Scope
const withApi = <A, E>(test: Effect.Effect<A, E, Env>) =>
  Effect.provide(test, workloadApi()).pipe(Effect.provide(captureLogs))

type Pod = { readonly id: string; readonly name: string; readonly status: string; readonly message?: string }
const pods = Effect.map(call("GET", "/api/v1/pods?project=web"), (a) => a.body as Array<Pod>)

/** The env of each pod in the latest assignment this master gave its own host. */
const assignedEnv = Effect.gen(function*() {
  const applied = yield* (yield* LocalHost).applied
  const latest = applied[applied.length - 1]
  return new Map((latest?.pods ?? []).map((p) => [p.podId, p.env]))
})

/** Everything SQLite holds in the workload tables, as text. */
const storedText = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const rows = yield* sql.unsafe<Record<string, unknown>>(
    "SELECT spec_json AS text FROM deployments UNION ALL SELECT template_json FROM pods UNION ALL SELECT message FROM pods"
  )
  return JSON.stringify(rows)
})

const spec = (secrets: ReadonlyArray<string>, extra: Record<string, unknown> = {}) => ({
  project: "web",
  deployment: { name: "api" },
  image: "nginx:1",
  replicas: 1,
  env: { DB_PASSWORD: "from-env", LOG_LEVEL: "debug" },
  secrets,
  ...extra
})

describe("the secrets routes", () => {
  it.scopedLive("set (204), list names only, overwrite, rm (204), then 404", () =>
    withApi(Effect.gen(function*() {
      expect((yield* call("POST", "/api/v1/projects", { name: "web" })).status).toBe(201)
      const set = yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: VALUE })
      expect(set.status).toBe(204)
      expect(set.text).toBe("")
      expect((yield* call("POST", "/api/v1/projects/web/secrets/API_KEY", { value: "k" })).status).toBe(204)
      const list = yield* call("GET", "/api/v1/projects/web/secrets")
      expect(list.status).toBe(200)
      expect(list.body).toEqual({ project: "web", secrets: ["API_KEY", "DB_PASSWORD"] })
      expect(list.text).not.toContain(VALUE)
      expect((yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: `${VALUE}-2` })).status).toBe(204)
      expect((yield* call("DELETE", "/api/v1/projects/web/secrets/API_KEY")).status).toBe(204)
      const again = yield* call("DELETE", "/api/v1/projects/web/secrets/API_KEY")
      expect(again.status).toBe(404)
      expect(again.body).toEqual({ error: "secret 'API_KEY' not found in project 'web'" })
      expect((yield* call("GET", "/api/v1/projects/web/secrets")).body).toEqual({ project: "web", secrets: ["DB_PASSWORD"] })
      expect(logged.join("\n")).not.toContain(VALUE)
    })))

  it.scopedLive("setting a secret creates its project (as the reference does); listing or removing in an unknown project is 404", () =>
    withApi(Effect.gen(function*() {
      for (const [method, route] of [
        ["GET", "/api/v1/projects/nope/secrets"],
        ["DELETE", "/api/v1/projects/nope/secrets/A"]
      ] as const) {
        const answer = yield* call(method, route)
        expect(answer.status).toBe(404)
        expect(answer.body).toEqual({ error: "project 'nope' not found" })
      }
      const first = yield* call("POST", "/api/v1/projects/fresh/secrets/A", { value: "v" })
      expect(first.status).toBe(204)
      expect((yield* call("GET", "/api/v1/projects")).body).toMatchObject([{ name: "fresh", status: "active" }])
      expect((yield* call("GET", "/api/v1/projects/fresh/secrets")).body).toEqual({ project: "fresh", secrets: ["A"] })
      const badProject = yield* call("POST", "/api/v1/projects/No_Such/secrets/A", { value: "v" })
      expect(badProject.status).toBe(422)
    })))

  it.scopedLive("bad names and bodies are 422; no token is 401", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/projects", { name: "web" })
      const badName = yield* call("POST", "/api/v1/projects/web/secrets/DB-PASSWORD", { value: "v" })
      expect(badName.status).toBe(422)
      expect((badName.body as { error: string }).error).toContain("invalid secret name 'DB-PASSWORD'")
      const lone = yield* call("POST", "/api/v1/projects/web/secrets/A", '{"value":"x\\udc00y"}')
      expect(lone.status).toBe(422)
      expect(lone.body).toEqual({ error: "secret contains invalid UTF-8 (base64-encode binary values)" })
      for (const body of [{}, { value: 42 }, "not json"]) {
        const answer = yield* call("POST", "/api/v1/projects/web/secrets/A", body)
        expect(answer.status).toBe(422)
      }
      const anonymous = yield* call("POST", "/api/v1/projects/web/secrets/A", { value: VALUE }, null)
      expect(anonymous.status).toBe(401)
      expect((yield* call("GET", "/api/v1/projects/web/secrets")).body).toEqual({ project: "web", secrets: [] })
    })))

  it.scopedLive("deleting a project deletes its secrets", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/A", { value: "v" })
      expect((yield* call("DELETE", "/api/v1/projects/web")).status).toBe(204)
      yield* call("POST", "/api/v1/projects", { name: "web" })
      expect((yield* call("GET", "/api/v1/projects/web/secrets")).body).toEqual({ project: "web", secrets: [] })
    })))
})

describe("secrets in deployments", () => {
  it.scopedLive("a deploy naming a missing secret is 422 naming it, and creates nothing", () =>
    withApi(Effect.gen(function*() {
      const answer = yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      expect(answer.status).toBe(422)
      expect(answer.body).toEqual({ error: "secret 'DB_PASSWORD' not found in project 'web'" })
      expect((yield* call("GET", "/api/v1/deployments")).body).toEqual([])
      expect((yield* call("GET", "/api/v1/pods")).body).toEqual([])
      expect((yield* call("GET", "/api/v1/projects")).body).toEqual([])
      // the same in an existing project with other secrets
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/OTHER", { value: "v" })
      const again = yield* call("POST", "/api/v1/deploy", spec(["OTHER", "DB_PASSWORD"]))
      expect(again.body).toEqual({ error: "secret 'DB_PASSWORD' not found in project 'web'" })
      expect((yield* call("GET", "/api/v1/deployments")).body).toEqual([])
      expect((yield* (yield* LocalHost).applied).every((a) => a.pods.length === 0)).toBe(true)
    })))

  it.scopedLive("the pod's env gets the value on top of env; nothing stored, answered or logged holds it", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: VALUE })
      const deployed = yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      expect(deployed.status).toBe(201)
      const [pod] = yield* eventually(pods, (list) => list.some((p) => p.status === "running"))
      const env = (yield* assignedEnv).get(pod!.id)
      // the secret wins over env's DB_PASSWORD; the rest of env is kept
      expect(env).toEqual({ DB_PASSWORD: VALUE, LOG_LEVEL: "debug" })
      const deployments = yield* call("GET", "/api/v1/deployments?project=web")
      expect(deployments.text).toContain("DB_PASSWORD")
      for (const answer of [deployed, deployments, yield* call("GET", "/api/v1/pods")]) expect(answer.text).not.toContain(VALUE)
      expect(yield* storedText).not.toContain(VALUE)
      expect(logged.join("\n")).not.toContain(VALUE)
    })))

  it.scopedLive("a removed secret: the running pod keeps it; a new pod fails naming it instead of starting without", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: VALUE })
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      const [first] = yield* eventually(pods, (list) => list.some((p) => p.status === "running"))
      expect((yield* call("DELETE", "/api/v1/projects/web/secrets/DB_PASSWORD")).status).toBe(204)
      yield* call("POST", "/api/v1/projects/web/deployments/api/scale", { replicas: 2 })
      const list = yield* eventually(pods, (all) => all.length === 2 && all.some((p) => p.status === "failed"))
      const running = list.find((p) => p.id === first!.id)!
      const failed = list.find((p) => p.id !== first!.id)!
      expect(running.status).toBe("running")
      expect(failed).toMatchObject({ name: "api-1", status: "failed", message: "secret 'DB_PASSWORD' not found in project 'web'" })
      const envs = yield* assignedEnv
      expect(envs.get(running.id)).toEqual({ DB_PASSWORD: VALUE, LOG_LEVEL: "debug" })
      expect(envs.has(failed.id)).toBe(false)
      // set again and redeploy: the failed pod gets a fresh start with the new value
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: "second" })
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"], { replicas: 2 }))
      const rolled = yield* eventually(pods, (all) =>
        all.filter((p) => p.status === "running").length === 2 && all.every((p) => p.id !== first!.id && p.id !== failed.id))
      const fresh = yield* assignedEnv
      for (const pod of rolled) expect(fresh.get(pod.id)).toEqual({ DB_PASSWORD: "second", LOG_LEVEL: "debug" })
    })))

  it.scopedLive("a secret set again (even to the same value) rolls the pods on the next deploy of the same spec", () =>
    withApi(Effect.gen(function*() {
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: "one" })
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      const [before] = yield* eventually(pods, (list) => list.some((p) => p.status === "running"))
      // same spec, nothing changed: the pod stays
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      expect((yield* pods).map((p) => p.id)).toEqual([before!.id])
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: "two" })
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"]))
      const [after] = yield* eventually(pods, (list) => list.length === 1 && list[0]!.id !== before!.id && list[0]!.status === "running")
      expect((yield* assignedEnv).get(after!.id)).toEqual({ DB_PASSWORD: "two", LOG_LEVEL: "debug" })
    })))

  it.scopedLive("a worker's assignment (over its stream, and when it reconnects) carries the secret too", () =>
    withApi(Effect.gen(function*() {
      const worker = yield* join("w1")
      yield* call("POST", "/api/v1/projects", { name: "web" })
      yield* call("POST", "/api/v1/projects/web/secrets/DB_PASSWORD", { value: VALUE })
      yield* call("POST", "/api/v1/deploy", spec(["DB_PASSWORD"], { replicas: 2 }))
      const placed = yield* eventually(pods, (list) => list.length === 2 && list.every((p) => p.status !== "pending"))
      const onWorker = placed.filter((p) => (p as { node?: string }).node === "w1").length
      expect(onWorker).toBeGreaterThan(0)
      const sent = yield* eventually(lastAssignment(worker), (a) => a !== undefined && a.pods.length === onWorker)
      for (const pod of sent!.pods) expect(pod.env).toEqual({ DB_PASSWORD: VALUE, LOG_LEVEL: "debug" })
      const onReconnect = yield* (yield* NodeWorkloads).desired(worker)
      expect(onReconnect.pods.map((p) => p.env)).toEqual(sent!.pods.map((p) => p.env))
      yield* workerReports(worker)
      yield* eventually(pods, (list) => list.filter((p) => p.status === "running").length === 2)
      expect(logged.join("\n")).not.toContain(VALUE)
    })))
})
