// e2e fuzz: a few thousand malformed requests from a seeded PRNG against a real helyosd on 127.0.0.1 —
// random methods and paths (../, %00, overlong), invalid JSON/YAML to /api/v1/deploy and the other
// POST routes, wrong content types, huge headers and bodies, missing or garbage bearer tokens, raw
// bytes that are not HTTP. The daemon must never answer 5xx, must stay alive and keep answering /health.
import * as net from "node:net"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { apiToken, freePort, helyosdBin, type Proc, spawnProc, tempDir } from "../support/process/Processes.js"

/** Fixed, so a finding reproduces; FUZZ_SEED=<n> explores other inputs. */
const SEED = Number(process.env.FUZZ_SEED ?? 0x5eed_4e1f)
const REQUESTS = 3_000
const CONCURRENCY = 12
/** SSE and followed logs never end by themselves: after this, the fuzzer hangs up. */
const STREAM_WAIT_MS = 1_500
/** Anything else must answer well within this (a hung non-streaming request is a finding). */
const ANSWER_WAIT_MS = 30_000

let daemon: Proc
let port: number
const token = apiToken()

beforeAll(async () => {
  const dataDir = tempDir("helyos-fuzz-")
  port = await freePort()
  daemon = spawnProc(helyosdBin, [
    "--host", "127.0.0.1", "--port", String(port), "--data-dir", path.join(dataDir, "data"), "--node-name", "fuzz-host"
  ], { HELYOS_API_TOKEN: token, HELYOS_CONFIG: path.join(dataDir, "cli-config.toml") })
  await daemon.waitFor(/listening on http/, 30_000)
}, 60_000)

afterAll(async () => {
  await daemon?.kill("SIGTERM")
})

// ---- a small seeded PRNG (mulberry32) and helpers ------------------------------------------------

const prng = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}
const random = prng(SEED)
const int = (n: number) => Math.floor(random() * n)
const pick = <A>(items: ReadonlyArray<A>): A => items[int(items.length)]!
const chance = (p: number) => random() < p
const randomString = (max: number, alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_./%:?&=#\\\"'{}[] \u00e9\u4e16\u0000\uffff") =>
  Array.from({ length: int(max + 1) }, () => alphabet[int(alphabet.length)]).join("")

// ---- what to send ------------------------------------------------------------------------------

const ROUTES: ReadonlyArray<readonly [string, string]> = [
  ["GET", "/health"], ["GET", "/metrics"], ["GET", "/api/v1/version"], ["GET", "/api/v1/ca"],
  ["GET", "/api/v1/whoami"], ["GET", "/api/v1/tokens"], ["POST", "/api/v1/tokens"], ["DELETE", "/api/v1/tokens/:name"],
  ["GET", "/api/v1/projects"], ["POST", "/api/v1/projects"], ["POST", "/api/v1/projects/:project/suspend"],
  ["POST", "/api/v1/projects/:project/resume"], ["DELETE", "/api/v1/projects/:project"],
  ["POST", "/api/v1/deploy"], ["GET", "/api/v1/deployments"], ["GET", "/api/v1/pods"],
  ["POST", "/api/v1/projects/:project/deployments/:name/scale"], ["POST", "/api/v1/projects/:project/deployments/:name/stop"],
  ["POST", "/api/v1/projects/:project/deployments/:name/restart"], ["DELETE", "/api/v1/projects/:project/deployments/:name"],
  ["GET", "/api/v1/projects/:project/deployments/:name/logs"],
  ["GET", "/api/v1/projects/:project/secrets"], ["POST", "/api/v1/projects/:project/secrets/:name"],
  ["DELETE", "/api/v1/projects/:project/secrets/:name"],
  ["GET", "/api/v1/nodes"], ["GET", "/api/v1/nodes/stats"], ["POST", "/api/v1/nodes/:name/drain"],
  ["POST", "/api/v1/nodes/:name/undrain"], ["DELETE", "/api/v1/nodes/:name"],
  ["GET", "/api/v1/cluster/token"], ["POST", "/api/v1/cluster/token/rotate"], ["POST", "/api/v1/cluster/init"],
  ["GET", "/api/v1/cluster/scheduler"], ["POST", "/api/v1/cluster/scheduler"],
  ["GET", "/api/v1/status"], ["GET", "/api/v1/events"], ["GET", "/api/v1/events/recent"], ["GET", "/api/v1/routes"]
]

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "FOO", "get", "P0ST"]

const SEGMENTS = [
  "default", "web", "api", "x", "..", ".", "%2e%2e", "..%2f..%2f", "%00", "a%00b", "%ff%fe", "%", "%zz", "~", "-",
  "legacy-default-not", "UPPER", "a".repeat(300), "\u00e9t\u00e9", "%E4%B8%96", "null", "undefined", "0", "-1", "1e309",
  "..\\..\\windows", "%252e%252e", ";", "$(id)", "' OR '1'='1"
]

const segment = () => chance(0.3) ? encodeURIComponent(randomString(12)) : pick(SEGMENTS)

/** A route of the API with random parameters, or a made-up path; sometimes a garbage query. */
const randomPath = (template: string): string => {
  let p = chance(0.85)
    ? template.replace(/:[a-z]+/g, segment)
    : "/" + Array.from({ length: 1 + int(6) }, segment).join("/")
  if (chance(0.1)) p = p.replace(/\//g, () => pick(["/", "//", "/./", "/../", "/%2f"]))
  if (chance(0.05)) p = "/api/v1/" + "../".repeat(1 + int(5)) + "etc/passwd"
  if (chance(0.02)) p = "/" + "x".repeat(4_000 + int(8_000))
  if (chance(0.25)) {
    p += "?" + Array.from({ length: 1 + int(4) }, () =>
      `${pick(["tail", "follow", "project", "pod", "limit", "force", "since", segment()])}=${pick(["-1", "true", "maybe", "%00", "1e999", "", segment()])}`
    ).join("&")
  }
  return p
}

const SPEC_KEYS = ["name", "project", "image", "replicas", "ports", "env", "secrets", "resources", "healthcheck",
  "restart", "command", "labels", "volumes", "cpu", "memory", "interval", "timeout", "retries", "path", "port"]

/** Random JSON-ish values; never a string under `image`, so no body is ever a deployable spec. */
const randomValue = (depth: number, key?: string): unknown => {
  const kinds = depth > 3 ? 5 : 7
  switch (int(kinds)) {
    case 0: return null
    case 1: return pick([0, -1, 1, 1.5, 1e308, -0, 2 ** 53 + 1, 65_536, 99_999_999])
    case 2: return chance(0.5)
    case 3: return key === "image" ? 42 : pick(["", "web", "0s", "10s", "512m", "1g", "always", "\u0000", "x".repeat(2_000), randomString(20)])
    case 4: return key === "image" ? [] : randomString(30)
    case 5: return Array.from({ length: int(5) }, () => randomValue(depth + 1))
    default: {
      const object: Record<string, unknown> = {}
      for (let i = int(6); i > 0; i--) {
        const k = chance(0.8) ? pick(SPEC_KEYS) : randomString(8)
        object[k] = randomValue(depth + 1, k)
      }
      return object
    }
  }
}

const brokenJson = () =>
  pick([
    "{", "}", "[", "{\"name\":", "{\"name\": \"x\",}", "nul", "NaN", "{'a': 1}", "\"unterminated", "{\"a\":1}{\"b\":2}",
    "[".repeat(5_000) + "]".repeat(5_000), "{\"a\":".repeat(2_000) + "1" + "}".repeat(2_000), "\u0000\u0001\u0002", "1e99999",
    JSON.stringify(randomValue(0)).slice(0, int(40))
  ])

const yamlBody = () =>
  pick([
    "name: web\nimage: [unclosed\n", "name: web\nreplicas: many\n", "---\n- a\n- b\n", "a: &anchor\n  b: *anchor\n",
    "name: web\nimage: 42\nports: [\"80:80\"]\n", "%YAML 9.9\n---\n", "? complex key\n: value\n", "\t- bad indent\n",
    "name: web\n  image: x\n bad: indent\n", "!!binary garbage\n", "x: !!python/object:os.system 'id'\n",
    `${"a: &a [".repeat(20)}${"]".repeat(20)}\n`
  ])

const CONTENT_TYPES = [
  "application/json", "application/json", "application/yaml", "text/yaml", "text/plain", "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=xyz", "multipart/form-data", "application/octet-stream", "application/json; charset=utf-16",
  "garbage", "", "*/*", "application/json, text/html"
]

/** The bearer header: the valid token (from 127.0.0.1) or something wrong (from elsewhere, see below). */
const authHeader = (): { readonly header: string | null; readonly valid: boolean } => {
  if (chance(0.55)) return { header: `Bearer ${token}`, valid: true }
  const wrong = pick([
    null, "Bearer", "Bearer ", `Bearer ${apiToken()}`, `Bearer ${token.toUpperCase()}`, `Bearer ${token}x`,
    `Bearer ${token.slice(0, 12)}`, `Basic ${Buffer.from("admin:admin").toString("base64")}`, `bearer ${token.slice(1)}`,
    `Bearer ${"A".repeat(8_000)}`, `Bearer nxa_${"0".repeat(64)}`, `Bearer ${randomString(40)}`
  ])
  return { header: wrong === null ? null : wrong.replace(/[\r\n\u0000]/g, ""), valid: false }
}

interface Shot {
  readonly label: string
  readonly bytes: Buffer
  /** source address on the loopback network */
  readonly from: string
  /** may legitimately end without an answer (node closes the socket on bytes that are not HTTP) */
  readonly mayClose: boolean
  readonly streaming: boolean
}

/** Failed bearer attempts come from 127.0.0.2–254, so the brute-force throttle never slows the valid token. */
const otherAddress = () => `127.0.0.${2 + int(253)}`

const httpShot = (method: string, target: string, headers: ReadonlyArray<string>, body: Buffer, valid: boolean, label: string): Shot => {
  const head = [`${method} ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, "Connection: close", ...headers]
  if (!headers.some((h) => /^transfer-encoding:/i.test(h))) head.push(`Content-Length: ${body.length}`)
  return {
    label: `${label}: ${method} ${target.slice(0, 120)} [${headers.filter((h) => /^content-/i.test(h)).join("; ")}] ${
      JSON.stringify(body.subarray(0, 60).toString("latin1"))
    }`,
    bytes: Buffer.concat([Buffer.from(head.join("\r\n") + "\r\n\r\n", "latin1"), body]),
    from: valid ? "127.0.0.1" : otherAddress(),
    mayClose: false,
    streaming: /\/(events|logs)(\?|$)/.test(target) || /\/events\b/.test(target)
  }
}

const nextShot = (): Shot => {
  const kind = int(100)
  const auth = authHeader()
  const authLines = auth.header === null ? [] : [`Authorization: ${auth.header}`]
  if (kind < 30) {
    // deploy: invalid JSON / YAML / structured nonsense, any content type
    const body = pick([() => JSON.stringify(randomValue(0)), brokenJson, yamlBody, () => randomString(200)])()
    return httpShot("POST", "/api/v1/deploy", [...authLines, `Content-Type: ${pick(CONTENT_TYPES)}`], Buffer.from(body), auth.valid, "deploy")
  }
  if (kind < 75) {
    // any route, method usually its own, random body
    const [own, template] = pick(ROUTES)
    const method = chance(0.7) ? own : pick(METHODS)
    const body = chance(0.5) ? Buffer.from(pick([() => JSON.stringify(randomValue(0)), brokenJson, yamlBody])()) : Buffer.alloc(0)
    const type = body.length > 0 || chance(0.3) ? [`Content-Type: ${pick(CONTENT_TYPES)}`] : []
    // never revoke the fuzzer's own token (legacy-default): everything after would be a 401
    const target = randomPath(template).replace(/\/api\/v1\/tokens\/legacy-default(?=$|\?)/, "/api/v1/tokens/x")
    return httpShot(method, target, [...authLines, ...type], body, auth.valid, "route")
  }
  if (kind < 85) {
    // strange paths on every method
    return httpShot(pick(METHODS), randomPath(pick(ROUTES)[1]), authLines, Buffer.alloc(0), auth.valid, "path")
  }
  if (kind < 90) {
    // huge headers: node answers 431 beyond 16 KB
    const size = pick([8_000, 17_000, 64_000])
    const headers = [...authLines, `X-Filler: ${"h".repeat(size)}`, ...Array.from({ length: int(200) }, (_, i) => `X-H${i}: ${i}`)]
    return { ...httpShot("GET", "/api/v1/nodes", headers, Buffer.alloc(0), auth.valid, "huge-headers"), mayClose: true }
  }
  if (kind < 94) {
    // huge bodies, valid-looking JSON or not
    const size = pick([256 * 1024, 2 * 1024 * 1024, 8 * 1024 * 1024])
    const body = chance(0.5)
      ? Buffer.from(JSON.stringify({ name: "web", image: 7, env: { X: "v".repeat(size) } }))
      : Buffer.alloc(size, "{")
    const route = pick(["/api/v1/deploy", "/api/v1/tokens", "/api/v1/projects", "/api/v1/projects/default/secrets/big"])
    return { ...httpShot("POST", route, [...authLines, "Content-Type: application/json"], body, auth.valid, "huge-body"), mayClose: true }
  }
  if (kind < 97) {
    // framing lies: wrong lengths, chunked garbage, conflicting headers
    const variant = int(4)
    const headers = variant === 0
      ? [...authLines, "Transfer-Encoding: chunked", "Content-Type: application/json"]
      : variant === 1
      ? [...authLines, "Content-Length: 5", "Content-Length: 7"]
      : variant === 2
      ? [...authLines, "Transfer-Encoding: chunked", "Content-Length: 3"]
      : [...authLines, "Content-Type: application/json", "Content-Encoding: gzip"]
    const body = Buffer.from(variant === 0 ? "zz\r\n{}\r\n0\r\n\r\n" : "{\"name\":\"x\"}")
    return { ...httpShot("POST", "/api/v1/tokens", headers, body, auth.valid, "framing"), mayClose: true }
  }
  // bytes that are not HTTP at all
  const raw = pick([
    "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "\u0000\u0001\u0002\r\n\r\n", "GET /health HTTP/1.1\r\nHost\r\n\r\n",
    `GET /api/v1/nodes HTTP/1.1\r\nAuthorization: Bearer ${token}\r\nX: a\rb\r\n\r\n`, "POST /api/v1/deploy HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
    "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" // the start of a TLS ClientHello
  ])
  return { label: `raw: ${JSON.stringify(raw.slice(0, 40))}`, bytes: Buffer.from(raw, "latin1"), from: otherAddress(), mayClose: true, streaming: false }
}

// ---- sending -------------------------------------------------------------------------------------

type Outcome = { readonly status: number } | { readonly closed: true } | { readonly timedOut: true }

/** Send raw bytes on a fresh connection; the status line of the answer, or how it ended without one. */
const send = (shot: Shot): Promise<Outcome> =>
  new Promise((resolve) => {
    let received = ""
    let settled = false
    const socket = net.connect({ host: "127.0.0.1", port, localAddress: shot.from })
    const finish = (outcome: Outcome) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      socket.destroy()
      resolve(outcome)
    }
    const statusOf = () => {
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received)
      return match === null ? undefined : Number(match[1])
    }
    const timer = setTimeout(() => {
      const status = statusOf()
      finish(status === undefined ? { timedOut: true } : { status })
    }, shot.streaming ? STREAM_WAIT_MS : ANSWER_WAIT_MS)
    socket.setNoDelay(true)
    socket.on("data", (chunk: Buffer) => {
      received += chunk.toString("latin1")
      // once the status line is in, a streaming answer has told us all we need
      if (shot.streaming && statusOf() !== undefined) finish({ status: statusOf()! })
    })
    socket.on("error", () => {
      const status = statusOf()
      finish(status === undefined ? { closed: true } : { status })
    })
    socket.on("close", () => {
      const status = statusOf()
      finish(status === undefined ? { closed: true } : { status })
    })
    socket.on("connect", () => socket.write(shot.bytes, () => undefined))
  })

const health = async () => {
  const response = await fetch(`http://127.0.0.1:${port}/health`)
  return { status: response.status, body: await response.json() as unknown }
}

describe("REST API fuzz (real helyosd)", () => {
  it(`${REQUESTS} malformed requests (seed ${SEED.toString(16)}): no 5xx, no hang, the daemon stays up`, async () => {
    const shots = Array.from({ length: REQUESTS }, nextShot)
    const findings: Array<string> = []
    const statuses = new Map<number | string, number>()
    let next = 0
    const worker = async () => {
      while (next < shots.length) {
        const shot = shots[next++]!
        const outcome = await send(shot)
        const key = "status" in outcome ? outcome.status : "closed" in outcome ? "closed" : "timeout"
        statuses.set(key, (statuses.get(key) ?? 0) + 1)
        if ("status" in outcome && outcome.status >= 500) findings.push(`${outcome.status} for ${shot.label}`)
        if ("closed" in outcome && !shot.mayClose) findings.push(`no answer (connection closed) for ${shot.label}`)
        if ("timedOut" in outcome && !shot.streaming) findings.push(`no answer within ${ANSWER_WAIT_MS} ms for ${shot.label}`)
      }
    }
    await Promise.all(Array.from({ length: CONCURRENCY }, worker))

    const summary = [...statuses.entries()].sort(([a], [b]) => String(a).localeCompare(String(b)))
    console.log(`fuzz outcomes: ${summary.map(([k, n]) => `${k}×${n}`).join(" ")}`)
    expect(findings.slice(0, 20)).toEqual([])
    // the run reached the handlers, not only the guard: decoding failures and authorised answers too
    expect(statuses.get(422) ?? 0).toBeGreaterThan(50)
    expect(statuses.get(200) ?? 0).toBeGreaterThan(50)
    expect(statuses.get(401) ?? 0).toBeGreaterThan(50)

    expect(daemon.child.exitCode).toBeNull()
    expect(daemon.child.signalCode).toBeNull()
    expect(await health()).toEqual({ status: 200, body: { status: "ok" } })
    // and the valid token still works (nothing the fuzzer sent revoked or throttled it)
    const nodes = await fetch(`http://127.0.0.1:${port}/api/v1/nodes`, { headers: { authorization: `Bearer ${token}` } })
    expect(nodes.status).toBe(200)
  }, 300_000)
})
