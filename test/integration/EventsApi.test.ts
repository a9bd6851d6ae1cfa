// The event stream and restart over the REST API: a real socket, the real orchestrator (in-memory
// SQLite) and event log. SSE framing, history replay, lag warnings, keepalive-free live delivery,
// release of the subscription when the client goes away; /events/recent; POST .../restart.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, Ref, type Scope } from "effect"
import * as ApiTokensSql from "../../src/layers/security/ApiTokensSql.js"
import * as TokenVaultSql from "../../src/layers/cluster/TokenVaultSql.js"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { ApiTokens } from "../../src/services/security/ApiTokens.js"
import { EventLog } from "../../src/services/observability/EventLog.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { join, MASTER, masterOn } from "../support/harness/OrchestratorHarness.js"
import { call } from "../support/harness/RawHttp.js"
import { TOKEN, workloadApi } from "../support/harness/WorkloadApiHarness.js"
import * as ApiServerHttp from "../../src/layers/api/ApiServerHttp.js"
import * as EventLogLive from "../../src/layers/observability/EventLogLive.js"
import * as ApiTlsFiles from "../../src/layers/security/ApiTlsFiles.js"
import * as HostInfoOs from "../../src/layers/workload/HostInfoOs.js"

/** An open SSE connection: what arrived so far, and a way to wait for more. */
const openStream = (route: string) =>
  Effect.gen(function*() {
    const { url } = yield* ApiServer
    const abort = new AbortController()
    yield* Effect.addFinalizer(() => Effect.sync(() => abort.abort()))
    const response = yield* Effect.promise(() =>
      fetch(`${url}${route}`, { headers: { authorization: `Bearer ${TOKEN}`, accept: "text/event-stream" }, signal: abort.signal })
    )
    const reader = response.body!.getReader()
    const decoder = new TextDecoder()
    let text = ""
    /** Read until `check(text)` holds, at most ~5 s. */
    const until = (check: (text: string) => boolean) =>
      Effect.promise(async () => {
        const deadline = Date.now() + 5000
        while (!check(text)) {
          if (Date.now() > deadline) throw new Error(`stream never matched; got:\n${text}`)
          const chunk = await Promise.race([
            reader.read(),
            new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 200))
          ])
          if (chunk?.value !== undefined) text += decoder.decode(chunk.value, { stream: true })
          if (chunk?.done === true) throw new Error(`stream ended; got:\n${text}`)
        }
        return text
      })
    return { status: response.status, contentType: response.headers.get("content-type"), until, close: () => abort.abort() }
  })

/** The JSON payloads of the `data:` lines of an SSE text. */
const payloads = (text: string): Array<Record<string, unknown>> =>
  text.split("\n\n").filter((m) => m.startsWith("data: ")).map((m) => JSON.parse(m.slice(6)) as Record<string, unknown>)

const spec = { project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas: 1 }

const withApi = <A, E>(test: Effect.Effect<A, E, ApiServer | Orchestrator | EventLog | Scope.Scope>) =>
  Effect.provide(test, workloadApi())

describe("GET /api/v1/events/recent", () => {
  it.scopedLive("needs the token", () =>
    withApi(Effect.gen(function*() {
      expect((yield* call("GET", "/api/v1/events/recent", undefined, null)).status).toBe(401)
      expect((yield* call("GET", "/api/v1/events", undefined, null)).status).toBe(401)
    })))

  it.scopedLive("answers the recent history oldest first, at most ?limit, with deployment and pod events", () =>
    withApi(Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const { decodeSpec } = yield* Effect.promise(() => import("../../src/domain/DeploymentSpec.js"))
      const decoded = decodeSpec(spec)
      if (decoded._tag === "Left") throw new Error(decoded.left.message)
      yield* orchestrator.deploy(decoded.right)
      yield* orchestrator.scale("shop", "api", 2)

      const all = yield* call("GET", "/api/v1/events/recent")
      expect(all.status).toBe(200)
      const events = (all.body as { events: Array<Record<string, string>> }).events
      const lines = events.map((e) => `${e.kind} ${e.name} ${e.action}`)
      expect(lines).toContain("deployment shop/api created")
      expect(lines).toContain("pod api-0 scheduled")
      expect(lines.indexOf("deployment shop/api created")).toBeLessThan(lines.indexOf("deployment shop/api scaled"))
      expect(events[0]).toEqual({
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        kind: expect.any(String),
        name: expect.any(String),
        action: expect.any(String),
        message: expect.any(String)
      })

      const last = yield* call("GET", "/api/v1/events/recent?limit=1")
      expect((last.body as { events: Array<unknown> }).events).toEqual([events[events.length - 1]])
      const bad = yield* call("GET", "/api/v1/events/recent?limit=-3")
      expect(bad.status).toBe(422)
      expect(bad.body).toEqual({ error: expect.stringContaining("limit") })
    })))
})

describe("GET /api/v1/events (SSE)", () => {
  it.scopedLive("replays ?history=N, then streams each new event as `data: {json}`", () =>
    withApi(Effect.gen(function*() {
      const log = yield* EventLog
      for (let i = 0; i < 5; i++) yield* log.record({ kind: "node", name: `n${i}`, action: "joined", message: "hello" })
      const stream = yield* openStream("/api/v1/events?history=2")
      expect(stream.status).toBe(200)
      expect(stream.contentType).toMatch(/^text\/event-stream/)
      const replayed = yield* stream.until((t) => payloads(t).length >= 2)
      expect(payloads(replayed).map((p) => p.name)).toEqual(["n3", "n4"])

      yield* log.record({ kind: "pod", name: "web-0", action: "restarted", message: "exited with code 1; restart 2 in 2s" })
      const live = yield* stream.until((t) => payloads(t).length >= 3)
      expect(payloads(live)[2]).toMatchObject({ kind: "pod", name: "web-0", action: "restarted" })
      // a comment first (it flushes the headers), then one `data:` line per event, each ended by a blank line
      expect(live).toMatch(/^: connected\n\ndata: \{.*\}\n\ndata: \{.*\}\n\ndata: \{.*\}\n\n$/)
    })))

  it.scopedLive("without ?history it starts from now", () =>
    withApi(Effect.gen(function*() {
      const log = yield* EventLog
      yield* log.record({ kind: "node", name: "old", action: "joined", message: "" })
      // once the headers arrived the client is subscribed: nothing recorded after them is lost
      const stream = yield* openStream("/api/v1/events")
      yield* log.record({ kind: "node", name: "new", action: "joined", message: "" })
      const text = yield* stream.until((t) => payloads(t).length >= 1)
      expect(payloads(text).map((p) => p.name)).toEqual(["new"])
    })))

  it.scopedLive("?history that is not a count is a 422", () =>
    withApi(Effect.gen(function*() {
      const answer = yield* call("GET", "/api/v1/events?history=lots")
      expect(answer.status).toBe(422)
    })))
})

/** The API with its own event log whose live subscriptions are counted, and a small subscriber buffer. */
const countedApi = (open: Ref.Ref<number>) => {
  const countedLog = Layer.effect(EventLog, Effect.gen(function*() {
    const inner = yield* EventLogLive.make({ subscriberBuffer: 4 })
    return EventLog.of({
      ...inner,
      subscribe: Effect.zipRight(
        Effect.acquireRelease(Ref.update(open, (n) => n + 1), () => Ref.update(open, (n) => n - 1)),
        inner.subscribe
      )
    })
  }))
  const seeded = Layer.effectDiscard(Effect.gen(function*() {
    yield* (yield* ApiTokens).ensureDefault(Option.some(Redacted.make(TOKEN)))
    yield* join(MASTER, "Master")
  }))
  return ApiServerHttp.layer.pipe(
    Layer.provideMerge(countedLog),
    Layer.provide(ApiTlsFiles.layerPlainHttp),
    Layer.provide(HostInfoOs.layer),
    Layer.provideMerge(seeded),
    Layer.provideMerge(Layer.mergeAll(TokenVaultSql.layer, ApiTokensSql.layer)),
    Layer.provideMerge(masterOn(":memory:", "1 hour"))
  )
}

describe("GET /api/v1/events: slow and departing clients", () => {
  it.scopedLive("a client that went away releases its subscription", () =>
    Effect.gen(function*() {
      const open = yield* Ref.make(0)
      yield* Effect.gen(function*() {
        const log = yield* EventLog
        const stream = yield* openStream("/api/v1/events")
        yield* log.record({ kind: "node", name: "a", action: "joined", message: "" })
        yield* stream.until((t) => payloads(t).length >= 1)
        expect(yield* Ref.get(open)).toBe(1)
        stream.close()
        for (let i = 0; i < 100 && (yield* Ref.get(open)) > 0; i++) yield* Effect.sleep("50 millis")
        expect(yield* Ref.get(open)).toBe(0)
      }).pipe(Effect.provide(countedApi(open)))
    }))

  it.scopedLive("a client that does not read is told `missed N events`, then gets the newest ones", () =>
    Effect.gen(function*() {
      const open = yield* Ref.make(0)
      yield* Effect.gen(function*() {
        const log = yield* EventLog
        const stream = yield* openStream("/api/v1/events")
        expect(yield* Ref.get(open)).toBe(1)
        // a burst recorded in one go (no yield to the response writer): the buffer of 4 overflows
        yield* Effect.forEach(
          Array.from({ length: 30 }, (_, i) => i),
          (i) => log.record({ kind: "pod", name: `p-${i}`, action: "started", message: "" }),
          { discard: true }
        )
        const text = yield* stream.until((t) => payloads(t).some((p) => p.name === "p-29"))
        const got = payloads(text)
        expect(got[0]).toEqual({ warning: "missed 26 events" })
        expect(got.slice(1).map((p) => p.name)).toEqual(["p-26", "p-27", "p-28", "p-29"])
      }).pipe(Effect.provide(countedApi(open)))
    }))
})

describe("POST /api/v1/projects/{p}/deployments/{d}/restart", () => {
  it.scopedLive("answers the deployment and replaces its pod; 404 unknown, 409 stopped", () =>
    withApi(Effect.gen(function*() {
      const { decodeSpec } = yield* Effect.promise(() => import("../../src/domain/DeploymentSpec.js"))
      const decoded = decodeSpec(spec)
      if (decoded._tag === "Left") throw new Error(decoded.left.message)
      const orchestrator = yield* Orchestrator
      yield* orchestrator.deploy(decoded.right)
      const before = (yield* orchestrator.pods()).map((p) => p.id)

      const answer = yield* call("POST", "/api/v1/projects/shop/deployments/api/restart")
      expect(answer.status).toBe(200)
      expect(answer.body).toMatchObject({ project: "shop", name: "api", replicas: 1 })
      const after = (yield* orchestrator.pods()).filter((p) => p.status !== "stopping").map((p) => p.id)
      expect(after.some((id) => !before.includes(id))).toBe(true)
      const recent = (yield* call("GET", "/api/v1/events/recent")).body as { events: Array<Record<string, string>> }
      expect(recent.events.map((e) => `${e.kind} ${e.name} ${e.action}`)).toContain("deployment shop/api restarted")

      const missing = yield* call("POST", "/api/v1/projects/shop/deployments/nope/restart")
      expect(missing.status).toBe(404)
      expect(missing.body).toEqual({ error: "deployment 'nope' not found in project 'shop'" })

      yield* orchestrator.stop("shop", "api")
      const stopped = yield* call("POST", "/api/v1/projects/shop/deployments/api/restart")
      expect(stopped.status).toBe(409)
      expect(stopped.body).toEqual({ error: expect.stringContaining("runs no pods to restart") })
    })))
})
