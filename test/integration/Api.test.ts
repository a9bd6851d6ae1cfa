// The REST API over a real socket on 127.0.0.1 (port 0) and a real SQLite file: the typed client
// (as the CLI uses it) and raw fetch (exact statuses and bodies, as curl would see them).
import { FetchHttpClient, HttpApiClient, HttpClient, HttpClientRequest, OpenApi } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Queue, Redacted, type Scope } from "effect"
import type { ClusterEvent } from "../../src/domain/ClusterEvent.js"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { ApiError } from "../../src/services/api/HttpErrors.js"
import { Events } from "../../src/services/observability/Events.js"
import { HelyosApi } from "../../src/services/api/HelyosApi.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { apiOn, evictions, TOKEN, WRONG } from "../support/harness/ApiHarness.js"
import { call } from "../support/harness/RawHttp.js"

/** The typed client, exactly as the CLI builds it. */
const client = Effect.gen(function*() {
  const { url } = yield* ApiServer
  return yield* HttpApiClient.make(HelyosApi, {
    baseUrl: url,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(TOKEN))
  })
}).pipe(Effect.provide(FetchHttpClient.layer))

const onMaster = <A, E>(test: Effect.Effect<A, E, ApiServer | NodeRegistry | Events | Scope.Scope>) =>
  Effect.provide(test, apiOn("master"))

describe("REST API", () => {
  it.scopedLive("GET /health and GET /api/v1/version answer without a token", () =>
    onMaster(Effect.gen(function*() {
      expect(yield* call("GET", "/health", undefined, null)).toMatchObject({ status: 200, body: { status: "ok" } })
      expect(yield* call("GET", "/api/v1/version", undefined, null)).toMatchObject({
        status: 200,
        body: { version: "0.1.0", mode: "master" }
      })
    })))

  it.scopedLive("every other route answers 401 with the documented body without the token or with a wrong one", () =>
    onMaster(Effect.gen(function*() {
      for (const token of [null, WRONG, "", "nxa-api_short"]) {
        for (const [method, route] of [["GET", "/api/v1/nodes"], ["POST", "/api/v1/nodes/w1/drain"], ["DELETE", "/api/v1/nodes/w1"], ["POST", "/api/v1/cluster/token/rotate"]] as const) {
          const response = yield* call(method, route, undefined, token)
          expect(response.status).toBe(401)
          expect(response.body).toEqual({ error: "missing or invalid bearer token" })
        }
      }
    })))

  it.scopedLive("GET /api/v1/nodes lists nodes by name in the snake_case shape, with pods and RFC 3339 times", () =>
    onMaster(Effect.gen(function*() {
      const { body, contentType, status } = yield* call("GET", "/api/v1/nodes")
      expect(status).toBe(200)
      expect(contentType).toMatch(/application\/json/)
      const nodes = body as Array<Record<string, unknown>>
      expect(nodes.map((n) => [n.name, n.role, n.status, n.pods])).toEqual([
        ["master", "Master", "Ready", 0],
        ["w1", "Worker", "Ready", 3],
        ["w2", "Worker", "Ready", 0]
      ])
      const w1 = nodes[1]!
      expect(Object.keys(w1).sort()).toEqual(
        ["address", "id", "joined_at", "last_heartbeat", "name", "pods", "resources", "role", "status"]
      )
      expect(w1.resources).toEqual({
        cpu_cores: 4,
        memory_bytes: 8 * 2 ** 30,
        cpu_available: 3,
        memory_available: 6 * 2 ** 30,
        running_pods: 3
      })
      expect(w1.address).toBe("127.0.0.1:7001")
      for (const key of ["last_heartbeat", "joined_at"]) {
        expect(w1[key]).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/)
      }
    })))

  it.scopedLive("drain makes a node Draining and undrain makes it Ready again; both return the node", () =>
    onMaster(Effect.gen(function*() {
      const api = yield* client
      const events = yield* (yield* Events).subscribe
      const drained = yield* api.nodes.drain({ path: { name: "w2" } })
      expect([drained.name, drained.status]).toEqual(["w2", "Draining"])
      // draining twice is fine and changes nothing
      expect((yield* api.nodes.drain({ path: { name: "w2" } })).status).toBe("Draining")
      expect((yield* call("GET", "/api/v1/nodes")).body).toContainEqual(expect.objectContaining({ name: "w2", status: "Draining" }))
      const raw = yield* call("POST", "/api/v1/nodes/w2/undrain")
      expect(raw.status).toBe(200)
      expect(raw.body).toMatchObject({ name: "w2", status: "Ready", role: "Worker" })
      const published = yield* Queue.takeAll(events)
      expect([...published].map((e: ClusterEvent) => e._tag === "NodeDrainChanged" ? [e.name, e.draining] : e._tag))
        .toEqual([["w2", true], ["w2", false]])
    })))

  it.scopedLive("drain of an unknown node is 404 `node 'x' not found`", () =>
    onMaster(Effect.gen(function*() {
      expect(yield* call("POST", "/api/v1/nodes/ghost/drain")).toMatchObject({ status: 404, body: { error: "node 'ghost' not found" } })
      const viaClient = yield* Effect.flip((yield* client).nodes.drain({ path: { name: "ghost" } }))
      expect(viaClient).toEqual(new ApiError({ status: 404, message: "node 'ghost' not found" }))
    })))

  it.scopedLive("rm of a node that is not drained is 409 with the exact message, and nothing is removed", () =>
    onMaster(Effect.gen(function*() {
      const response = yield* call("DELETE", "/api/v1/nodes/w1")
      expect(response.status).toBe(409)
      expect(response.body).toEqual({ error: "node 'w1' must be drained before removal (status: Ready)" })
      const viaClient = yield* Effect.flip((yield* client).nodes.remove({ path: { name: "w1" }, urlParams: { force: false } }))
      expect(viaClient).toMatchObject({ _tag: "ApiError", status: 409, message: "node 'w1' must be drained before removal (status: Ready)" })
      expect((yield* (yield* NodeRegistry).findByName("w1")).name).toBe("w1")
    })))

  it.scopedLive("rm after a drain answers 204, removes the node, evicts its worker and publishes NodeRemoved", () =>
    onMaster(Effect.gen(function*() {
      const events = yield* (yield* Events).subscribe
      const id = (yield* (yield* NodeRegistry).findByName("w2")).id
      yield* (yield* client).nodes.drain({ path: { name: "w2" } })
      evictions.length = 0
      expect(yield* call("DELETE", "/api/v1/nodes/w2")).toMatchObject({ status: 204, body: undefined })
      expect(evictions).toEqual([{ id, reason: "removed by an operator" }])
      const names = ((yield* call("GET", "/api/v1/nodes")).body as Array<{ name: string }>).map((n) => n.name)
      expect(names).toEqual(["master", "w1"])
      expect([...(yield* Queue.takeAll(events))].map((e) => e._tag)).toEqual(["NodeDrainChanged", "NodeRemoved"])
    })))

  it.scopedLive("rm --force removes a Ready node and evicts it", () =>
    onMaster(Effect.gen(function*() {
      const id = (yield* (yield* NodeRegistry).findByName("w1")).id
      evictions.length = 0
      yield* (yield* client).nodes.remove({ path: { name: "w1" }, urlParams: { force: true } })
      expect(evictions).toEqual([{ id, reason: "removed by an operator" }])
      expect(yield* call("DELETE", "/api/v1/nodes/w1?force=true")).toMatchObject({ status: 404, body: { error: "node 'w1' not found" } })
    })))

  it.scopedLive("rm of an unknown node is 404; rm of the master is 409 even with force", () =>
    onMaster(Effect.gen(function*() {
      expect(yield* call("DELETE", "/api/v1/nodes/ghost")).toMatchObject({ status: 404, body: { error: "node 'ghost' not found" } })
      expect(yield* call("DELETE", "/api/v1/nodes/master?force=true")).toMatchObject({
        status: 409,
        body: { error: "node 'master' is the cluster master and cannot be removed" }
      })
    })))

  it.scopedLive("undecodable input is 422 {error}: a bad ?force, a malformed node name", () =>
    onMaster(Effect.gen(function*() {
      expect(yield* call("DELETE", "/api/v1/nodes/w1?force=maybe")).toEqual({
        status: 422,
        contentType: expect.stringMatching(/application\/json/),
        text: expect.any(String),
        body: { error: 'invalid request: force: must be "true" or "false", got "maybe"' }
      })
      const badName = yield* call("POST", "/api/v1/nodes/-bad_/drain")
      expect(badName.status).toBe(422)
      expect(Object.keys(badName.body as object)).toEqual(["error"])
      expect((badName.body as { error: string }).error).toMatch(/^invalid request: name: node name must start with a letter or digit/)
      expect((yield* (yield* NodeRegistry).findByName("w1")).name).toBe("w1")
      // the guard runs first: no token, no hint about the input
      expect((yield* call("DELETE", "/api/v1/nodes/w1?force=maybe", undefined, null)).status).toBe(401)
    })))

  it.scopedLive("unknown routes and methods are 404 {\"error\":\"not found\"}", () =>
    onMaster(Effect.gen(function*() {
      for (const [method, route] of [["GET", "/nope"], ["GET", "/api/v1/nodes/w1/whatever"], ["PUT", "/api/v1/nodes"], ["GET", "/api/v2/nodes"]] as const) {
        expect(yield* call(method, route)).toMatchObject({ status: 404, body: { error: "not found" } })
      }
    })))

  it.scopedLive("GET /api/v1/cluster/token is 410 with the 'shown only once' message", () =>
    onMaster(Effect.gen(function*() {
      const response = yield* call("GET", "/api/v1/cluster/token")
      expect(response.status).toBe(410)
      expect(response.body).toEqual({
        error: "the join token is shown only once, at creation. Use 'helyos cluster token rotate' (POST /api/v1/cluster/token/rotate) to generate a new one."
      })
    })))

  it.scopedLive("POST /api/v1/cluster/token/rotate returns a fresh nxa_ token that now admits workers", () =>
    onMaster(Effect.gen(function*() {
      const raw = yield* call("POST", "/api/v1/cluster/token/rotate")
      expect(raw.status).toBe(200)
      expect(raw.body).toEqual({
        token: expect.stringMatching(/^nxa_[0-9a-f]{64}$/),
        expires_at: null,
        ca_fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        grpc_port: expect.any(Number)
      })
      const { token } = yield* (yield* client).cluster.rotateToken({ payload: {} })
      expect(Redacted.value(token)).toMatch(/^nxa_[0-9a-f]{64}$/)
      expect(Redacted.value(token)).not.toBe((raw.body as { token: string }).token)
    })))
})

describe("REST API on a daemon that is not a cluster master", () => {
  it.scopedLive("token endpoints answer 409 NotAClusterMaster; version reports the mode", () =>
    Effect.gen(function*() {
      const expected = { error: "this daemon is not a cluster master (start helyosd with --mode master)" }
      expect(yield* call("GET", "/api/v1/cluster/token")).toMatchObject({ status: 409, body: expected })
      expect(yield* call("POST", "/api/v1/cluster/token/rotate")).toMatchObject({ status: 409, body: expected })
      expect((yield* call("GET", "/api/v1/version")).body).toMatchObject({ mode: "single" })
    }).pipe(Effect.provide(apiOn("single"))))
})

describe("REST API when a service has a bug", () => {
  it.scopedLive("a defect is a 500 {\"error\":\"internal server error\"}: no details leak, the server keeps serving", () =>
    Effect.gen(function*() {
      expect(yield* call("GET", "/api/v1/nodes")).toEqual({
        status: 500,
        contentType: expect.stringMatching(/application\/json/),
        text: expect.any(String),
        body: { error: "internal server error" }
      })
      expect(yield* call("GET", "/health")).toMatchObject({ status: 200 })
      const viaClient = yield* Effect.flip((yield* client).nodes.list())
      expect(viaClient).toEqual(new ApiError({ status: 500, message: "internal server error" }))
    }).pipe(Effect.provide(apiOn("master", Effect.dieMessage("pod counts exploded")))))
})

describe("the API definition", () => {
  it("its OpenAPI document gives every declared error of `DELETE /api/v1/nodes/{name}` the {error} body", () => {
    const responses = OpenApi.fromApi(HelyosApi).paths["/api/v1/nodes/{name}"]?.delete?.responses ?? {}
    expect(Object.keys(responses)).toEqual(expect.arrayContaining(["204", "401", "404", "409", "422", "500"]))
    for (const status of [401, 404, 409, 422, 500]) {
      expect(JSON.stringify(responses[status])).toContain("#/components/schemas/ErrorBody")
    }
  })
})
