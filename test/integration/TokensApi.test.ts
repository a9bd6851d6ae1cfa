// /api/v1/tokens and /api/v1/whoami over a real socket (127.0.0.1, port 0) and a real SQLite file:
// create/use/list/revoke/expire, scopes enforced on every route, brute-force slowing per address.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { readdirSync, readFileSync } from "node:fs"
import * as http from "node:http"
import * as path from "node:path"
import { Effect, type Scope } from "effect"
import { MAX_BODY_BYTES } from "../../src/layers/api/RequestGuards.js"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { apiOn, TOKEN, WRONG } from "../support/harness/ApiHarness.js"
import { eventually } from "../support/process/Processes.js"

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly text: string
  readonly body: unknown
}

/**
 * One raw request (as curl would send it). `from` picks the client's source address on the loopback
 * network (127.0.0.2 is another client as far as the daemon can tell); `null` token sends no header.
 */
const call = (
  method: string,
  route: string,
  options: { token?: string | null; body?: unknown; raw?: { type: string; body: string; chunked?: boolean }; from?: string } = {}
) =>
  Effect.flatMap(ApiServer, ({ url }) =>
    Effect.async<Answer>((resume) => {
      const target = new URL(route, url)
      const payload = options.raw?.body ?? (options.body === undefined ? undefined : JSON.stringify(options.body))
      const type = options.raw?.type ?? "application/json"
      const token = options.token === undefined ? TOKEN : options.token
      const request = http.request({
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method,
        localAddress: options.from ?? "127.0.0.1",
        headers: {
          ...(token === null ? {} : { authorization: `Bearer ${token}` }),
          ...(payload === undefined ? {} : { "content-type": type }),
          ...(options.raw?.chunked === true ? { "transfer-encoding": "chunked" } : {})
        }
      }, (response) => {
        let text = ""
        response.setEncoding("utf8")
        response.on("data", (chunk: string) => (text += chunk))
        response.on("end", () =>
          resume(Effect.succeed({
            status: response.statusCode ?? 0,
            headers: response.headers,
            text,
            body: text === "" || !(response.headers["content-type"] ?? "").includes("json") ? undefined : JSON.parse(text) as unknown
          })))
      })
      request.on("error", (error) => resume(Effect.die(error)))
      request.end(payload)
    }))

const onMaster = <A, E>(test: Effect.Effect<A, E, ApiServer | SqlClient.SqlClient | Scope.Scope>) =>
  Effect.provide(test, apiOn("master"))

/** POST /api/v1/tokens with the harness's admin token; the created token's secret. */
const create = (body: Record<string, unknown>) =>
  Effect.gen(function*() {
    const answer = yield* call("POST", "/api/v1/tokens", { body })
    expect(answer.status, answer.text).toBe(201)
    return (answer.body as { token: string }).token
  })

describe("API tokens over REST", () => {
  it.scopedLive("create → use → list → revoke: the secret is shown once, then refused after revocation", () =>
    onMaster(Effect.gen(function*() {
      const created = yield* call("POST", "/api/v1/tokens", { body: { name: "alice" } })
      expect(created.status).toBe(201)
      const body = created.body as Record<string, unknown>
      expect(Object.keys(body).sort()).toEqual(["created_at", "expires_at", "id", "name", "scope", "token"])
      expect(body).toMatchObject({ name: "alice", scope: "admin", expires_at: null })
      const alice = body.token as string
      expect(alice).toMatch(/^nxa-api_[0-9a-f]{64}$/)

      const me = yield* call("GET", "/api/v1/whoami", { token: alice })
      expect(me.status).toBe(200)
      expect(me.body).toMatchObject({ name: "alice", scope: "admin", expires_at: null })
      expect(Object.keys(me.body as object).sort()).toEqual(["created_at", "expires_at", "last_used_at", "name", "scope"])
      expect((yield* call("GET", "/api/v1/nodes", { token: alice })).status).toBe(200)

      const listed = yield* call("GET", "/api/v1/tokens", { token: alice })
      expect(listed.status).toBe(200)
      const rows = listed.body as Array<Record<string, unknown>>
      expect(rows.map((t) => [t.name, t.scope, t.revoked])).toEqual([["legacy-default", "admin", false], ["alice", "admin", false]])
      // metadata only: never a secret, a hash or a lookup prefix
      expect(listed.text).not.toContain(alice.slice(8))
      expect(listed.text).not.toContain(TOKEN.slice(8))
      for (const row of rows) {
        expect(Object.keys(row).sort()).toEqual(
          ["created_at", "expired", "expires_at", "id", "last_used_at", "name", "revoked", "revoked_at", "scope"]
        )
      }
      expect(rows[1]!.last_used_at).not.toBeNull()

      const revoked = yield* call("DELETE", "/api/v1/tokens/alice")
      expect(revoked.status).toBe(204)
      expect(revoked.text).toBe("")
      const refused = yield* call("GET", "/api/v1/whoami", { token: alice })
      expect(refused.status).toBe(401)
      expect(refused.body).toEqual({ error: "missing or invalid bearer token" })
      expect(yield* call("DELETE", "/api/v1/tokens/alice")).toMatchObject({
        status: 404,
        body: { error: "no active API token named 'alice'" }
      })
      const after = (yield* call("GET", "/api/v1/tokens")).body as Array<Record<string, unknown>>
      expect(after.find((t) => t.name === "alice")).toMatchObject({ revoked: true })
    })))

  it.scopedLive("a revoked name can be reused: the new secret works, the old one stays refused", () =>
    onMaster(Effect.gen(function*() {
      const first = yield* create({ name: "ci" })
      expect((yield* call("POST", "/api/v1/tokens", { body: { name: "ci" } }))).toMatchObject({
        status: 409,
        body: { error: "an active API token named 'ci' already exists (revoke it first)" }
      })
      expect((yield* call("DELETE", "/api/v1/tokens/ci")).status).toBe(204)
      const second = yield* create({ name: "ci", scope: "read" })
      expect((yield* call("GET", "/api/v1/whoami", { token: second })).body).toMatchObject({ name: "ci", scope: "read" })
      expect((yield* call("GET", "/api/v1/whoami", { token: first })).status).toBe(401)
    })))

  it.scopedLive("a read token may GET anything protected; every other method answers 403 naming the token", () =>
    onMaster(Effect.gen(function*() {
      const reader = yield* create({ name: "reader", scope: "read" })
      for (const route of ["/api/v1/nodes", "/api/v1/tokens", "/api/v1/whoami", "/api/v1/projects", "/api/v1/pods"]) {
        expect((yield* call("GET", route, { token: reader })).status, route).toBe(200)
      }
      const forbidden = { error: "token 'reader' has read scope; this request needs admin" }
      const mutations = [
        ["POST", "/api/v1/tokens", { name: "escalate" }],
        ["DELETE", "/api/v1/tokens/legacy-default", undefined],
        ["POST", "/api/v1/nodes/w1/drain", undefined],
        ["DELETE", "/api/v1/nodes/w1", undefined],
        ["POST", "/api/v1/cluster/token/rotate", {}],
        ["POST", "/api/v1/projects", { name: "p" }]
      ] as const
      for (const [method, route, body] of mutations) {
        const answer = yield* call(method, route, { token: reader, body })
        expect(answer.status, `${method} ${route}`).toBe(403)
        expect(answer.body).toEqual(forbidden)
      }
      // nothing happened: no new token, legacy-default still works
      const names = ((yield* call("GET", "/api/v1/tokens")).body as Array<{ name: string }>).map((t) => t.name)
      expect(names).toEqual(["legacy-default", "reader"])
    })))

  it.scopedLive("legacy-default is listed and revocable: the original token stops, named tokens keep working", () =>
    onMaster(Effect.gen(function*() {
      const admin = yield* create({ name: "admin-2" })
      expect((yield* call("GET", "/api/v1/whoami")).body).toMatchObject({ name: "legacy-default", scope: "admin" })
      expect((yield* call("DELETE", "/api/v1/tokens/legacy-default", { token: admin })).status).toBe(204)
      expect((yield* call("GET", "/api/v1/nodes")).status).toBe(401)
      expect((yield* call("GET", "/api/v1/nodes", { token: admin })).status).toBe(200)
      // the name is reserved for the daemon's own token
      expect(yield* call("POST", "/api/v1/tokens", { token: admin, body: { name: "legacy-default" } })).toMatchObject({
        status: 422,
        body: { error: "invalid name 'legacy-default': the name is reserved for the daemon's own token" }
      })
    })))

  it.scopedLive("a token with ttl_secs is refused once it expires; ttl_secs <= 0 means no expiry", () =>
    onMaster(Effect.gen(function*() {
      const server = yield* ApiServer
      const created = yield* call("POST", "/api/v1/tokens", { body: { name: "short", ttl_secs: 1 } })
      const { created_at, expires_at, token } = created.body as { created_at: string; expires_at: string; token: string }
      expect(Date.parse(expires_at) - Date.parse(created_at)).toBe(1_000)
      expect((yield* call("GET", "/api/v1/whoami", { token })).body).toMatchObject({ name: "short", expires_at })
      yield* Effect.promise(() =>
        eventually(async () => {
          const answer = await Effect.runPromise(Effect.provideService(call("GET", "/api/v1/whoami", { token }), ApiServer, server))
          expect(answer.status).toBe(401)
        }, 15_000))
      const never = yield* call("POST", "/api/v1/tokens", { body: { name: "forever", ttl_secs: 0 } })
      expect(never.body).toMatchObject({ expires_at: null })
    })))

  it.scopedLive("invalid requests answer 422 with one readable line, never 500", () =>
    onMaster(Effect.gen(function*() {
      const cases: ReadonlyArray<readonly [unknown, RegExp]> = [
        [{}, /^invalid request: /],
        [{ name: "Bad Name" }, /^invalid name 'Bad Name': /],
        [{ name: "x", scope: "root" }, /^invalid request: .*scope/],
        [{ name: "x", ttl_secs: 1.5 }, /^invalid request: .*ttl_secs/],
        [{ name: "x", ttl_secs: 1e300 }, /^invalid request: .*ttl_secs/],
        [{ name: 42 }, /^invalid request: .*name/]
      ]
      for (const [body, message] of cases) {
        const answer = yield* call("POST", "/api/v1/tokens", { body })
        expect(answer.status, JSON.stringify(body)).toBe(422)
        expect((answer.body as { error: string }).error).toMatch(message)
      }
    })))

  it.scopedLive("bodies no route can take are refused up front: multipart 415, over 1 MiB 413 (never 500)", () =>
    onMaster(Effect.gen(function*() {
      const multipart = yield* call("POST", "/api/v1/tokens", { raw: { type: "multipart/form-data; boundary=x", body: "--x--" } })
      expect(multipart).toMatchObject({ status: 415, body: { error: "unsupported content type 'multipart/form-data': send JSON" } })
      const big = JSON.stringify({ name: "x".repeat(MAX_BODY_BYTES) })
      const tooLarge = yield* call("POST", "/api/v1/tokens", { raw: { type: "application/json", body: big } })
      expect(tooLarge.status).toBe(413)
      expect((tooLarge.body as { error: string }).error).toMatch(/^request body too large \(\d+ bytes; at most 1048576\)$/)
      // without a Content-Length the body is cut off at the same size: the daemon stops reading and hangs
      // up (it never buffers it, and never answers 5xx); a small chunked body is read as usual
      const chunked = yield* Effect.either(
        Effect.catchAllDefect(
          call("POST", "/api/v1/deploy", { raw: { type: "application/json", body: big, chunked: true } }),
          (error) => Effect.fail(String(error))
        )
      )
      if (chunked._tag === "Right") expect(chunked.right.status).toBeLessThan(500)
      else expect(chunked.left).toMatch(/socket hang up|ECONNRESET|EPIPE/)
      const small = yield* call("POST", "/api/v1/tokens", { raw: { type: "application/json", body: "{\"name\":\"chunky\"}", chunked: true } })
      expect(small.status).toBe(201)
      // nothing was created, and a normal body still works
      expect((yield* call("POST", "/api/v1/tokens", { body: { name: "small" } })).status).toBe(201)
    })))

  it.scopedLive("only hashes are at rest: the database files never hold a token's secret", () =>
    onMaster(Effect.gen(function*() {
      const secrets = [TOKEN, yield* create({ name: "a" }), yield* create({ name: "b", scope: "read" })]
      const sql = yield* SqlClient.SqlClient
      const [main] = yield* sql<{ file: string }>`PRAGMA database_list`
      const dir = path.dirname(main!.file)
      const disk = Buffer.concat(readdirSync(dir).map((name) => readFileSync(path.join(dir, name)))).toString("latin1")
      expect(disk).toContain("legacy-default") // the right bytes...
      for (const secret of secrets) expect(disk).not.toContain(secret.slice(8)) // ...without any secret
    })))

  it.scopedLive("after a burst of failures one address gets 429 with Retry-After, even with a valid token; others are unaffected", () =>
    onMaster(Effect.gen(function*() {
      const server = yield* ApiServer
      const attacker = "127.0.0.2"
      // a missing header is no guess and is not counted
      for (let i = 0; i < 15; i++) expect((yield* call("GET", "/api/v1/nodes", { token: null, from: attacker })).status).toBe(401)
      for (let i = 0; i < 10; i++) {
        expect((yield* call("GET", "/api/v1/nodes", { token: WRONG, from: attacker })).status).toBe(401)
      }
      const limited = yield* call("GET", "/api/v1/nodes", { token: WRONG, from: attacker })
      expect(limited.status).toBe(429)
      expect(limited.body).toEqual({ error: "too many failed authentications; retry in 2s" })
      expect(limited.headers["retry-after"]).toBe("2")
      // a limited address learns nothing, not even from the right token
      expect((yield* call("GET", "/api/v1/nodes", { token: TOKEN, from: attacker })).status).toBe(429)
      // everyone else: valid tokens work and a wrong one is a plain 401
      expect((yield* call("GET", "/api/v1/nodes", { token: TOKEN, from: "127.0.0.1" })).status).toBe(200)
      expect((yield* call("GET", "/api/v1/nodes", { token: WRONG, from: "127.0.0.3" })).status).toBe(401)
      // the bucket refills: one more attempt is allowed after Retry-After
      yield* Effect.promise(() =>
        eventually(async () => {
          const answer = await Effect.runPromise(Effect.provideService(call("GET", "/api/v1/nodes", { from: attacker }), ApiServer, server))
          expect(answer.status).toBe(200)
        }, 15_000, 250))
    })))
})
