// Bearer-check benchmark: what an authenticated request costs with N API tokens in the table.
// 1. in process: ApiTokens.authenticate (SHA-256 + prefix lookup + constant-time compare) per call,
//    for a valid token, a wrong token and a malformed one;
// 2. over HTTP: a real helyosd on 127.0.0.1 whose database holds N tokens, GET /api/v1/whoami
//    (bearer-protected) against GET /health (public) with keep-alive connections: requests/s.
// Prints figures only, no assertions. Run with: npm run build && node dist/bench/auth.js
import * as SqlClient from "@effect/sql/SqlClient"
import { spawn } from "node:child_process"
import { createHash, randomBytes, randomUUID } from "node:crypto"
import { mkdirSync, mkdtempSync, rmSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { Effect, Layer, Option, Redacted } from "effect"
import { lookupPrefix } from "../src/domain/ApiToken.js"
import * as ApiTokensSql from "../src/layers/security/ApiTokensSql.js"
import { ApiTokens } from "../src/services/security/ApiTokens.js"
import * as Database from "../src/layers/state/Database.js"

// the daemon built alongside this file (dist/src/programs/helyosd.js for dist/bench/auth.js)
const daemon = path.resolve(import.meta.dirname, "../src/programs/helyosd.js")
const sizes = (process.env.BENCH_SIZES ?? "1,100,10000").split(",").map(Number)
const verifyCalls = Number(process.env.BENCH_VERIFY_CALLS ?? 20_000)
const windowMs = Number(process.env.BENCH_WINDOW_MS ?? 2_000)
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16)

const newToken = () => `nxa-api_${randomBytes(32).toString("hex")}`
const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex")

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

/** A migrated database file holding `count` named tokens (inserted in one transaction) plus legacy-default = `admin`. */
const seedDatabase = (file: string, count: number, admin: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const now = Date.now()
    yield* sql.withTransaction(Effect.forEach(Array.from({ length: count }, (_, i) => i), (i) => {
      const token = newToken()
      return sql`INSERT INTO api_tokens ${
        sql.insert({
          id: randomUUID(), name: `bench-${i}`, prefix: lookupPrefix(token), hash: sha256Hex(token), scope: "read",
          createdAtMs: now, expiresAtMs: null, lastUsedAtMs: null, revokedAtMs: null
        })
      }`
    }, { discard: true }))
    yield* Effect.flatMap(ApiTokens, (tokens) => tokens.ensureDefault(Option.some(Redacted.make(admin))))
  }).pipe(Effect.scoped, Effect.provide(ApiTokensSql.layer.pipe(Layer.provideMerge(Database.layerWith(file)))))

/** ns per authenticate() call for valid, wrong and malformed tokens, on the seeded file. */
const verifyCost = (file: string, admin: string) =>
  Effect.gen(function*() {
    const tokens = yield* ApiTokens
    const wrong = `${admin.slice(0, 12)}${"0".repeat(60)}` // same prefix bucket, wrong secret
    const measure = (token: string) =>
      Effect.gen(function*() {
        const started = performance.now()
        for (let i = 0; i < verifyCalls; i++) yield* Effect.either(tokens.authenticate(token))
        return ((performance.now() - started) * 1e6) / verifyCalls
      })
    return { valid: yield* measure(admin), wrong: yield* measure(wrong), malformed: yield* measure("nxa-api_short") }
  }).pipe(Effect.scoped, Effect.provide(ApiTokensSql.layer.pipe(Layer.provideMerge(Database.layerWith(file)))))

/** Keep-alive GETs for `windowMs`: requests/s and how many did not answer 200. */
const load = async (port: number, route: string, token: string | undefined) => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency })
  const deadline = performance.now() + windowMs
  let done = 0
  let failed = 0
  const one = () =>
    new Promise<void>((resolve) => {
      const request = http.get({
        host: "127.0.0.1", port, path: route, agent,
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` }
      }, (response) => {
        if (response.statusCode !== 200) failed++
        response.resume()
        response.on("end", () => resolve())
      })
      request.on("error", () => {
        failed++
        resolve()
      })
    })
  const started = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (performance.now() < deadline) {
      await one()
      done++
    }
  }))
  agent.destroy()
  return { perSecond: done / ((performance.now() - started) / 1000), failed }
}

const startDaemon = async (dataDir: string, admin: string) => {
  const port = await freePort()
  const child = spawn(process.execPath, [
    daemon, "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--node-name", "bench", "--log-level", "warn"
  ], { env: { ...process.env, HELYOS_API_TOKEN: admin, HELYOS_CONFIG: path.join(dataDir, "cli.toml") }, stdio: ["ignore", "ignore", "inherit"] })
  for (let i = 0; i < 300; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.ok, () => false)
    if (up) return { port, stop: () => new Promise<void>((resolve) => (child.once("exit", () => resolve()), child.kill("SIGTERM"))) }
    await new Promise((r) => setTimeout(r, 100))
  }
  child.kill("SIGKILL")
  throw new Error("helyosd did not start")
}

const main = async () => {
  console.log(`bearer check: ${verifyCalls} authenticate() calls per case; HTTP: ${concurrency} keep-alive connections for ${windowMs} ms`)
  console.log("tokens   verify valid   verify wrong   verify malformed   whoami req/s   health req/s   auth share")
  for (const size of sizes) {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), "helyos-bench-auth-"))
    try {
      const file = path.join(dataDir, "helyos.db")
      mkdirSync(dataDir, { recursive: true })
      const admin = newToken()
      await Effect.runPromise(seedDatabase(file, size, admin))
      const cost = await Effect.runPromise(verifyCost(file, admin))
      const server = await startDaemon(dataDir, admin)
      await load(server.port, "/health", undefined) // warm-up
      const whoami = await load(server.port, "/api/v1/whoami", admin)
      const health = await load(server.port, "/health", undefined)
      await server.stop()
      const share = 1 - whoami.perSecond / health.perSecond
      console.log(
        [
          String(size).padStart(6),
          `${(cost.valid / 1000).toFixed(2)} µs`.padStart(14),
          `${(cost.wrong / 1000).toFixed(2)} µs`.padStart(14),
          `${(cost.malformed / 1000).toFixed(2)} µs`.padStart(18),
          `${whoami.perSecond.toFixed(0)}${whoami.failed > 0 ? ` (${whoami.failed} failed)` : ""}`.padStart(14),
          health.perSecond.toFixed(0).padStart(14),
          `${(share * 100).toFixed(0)}%`.padStart(12)
        ].join(" ")
      )
    } finally {
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})
