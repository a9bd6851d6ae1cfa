// `helyos login`, `logout` and `context` as a user runs them (the built bin/helyos, a real process)
// against small HTTPS servers on 127.0.0.1 with certificates from tls/X509: pinning by fingerprint,
// by file and never silently, and every later command verifying the server against the pinned CA.
// Needs `npx tsc -p tsconfig.build.json`.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type { AddressInfo } from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import * as TOML from "smol-toml"
import { pemFingerprint } from "../../src/domain/Fingerprint.js"
import { type CertifiedKey, classifySans, generateCa, issueServerCertificate } from "../../src/layers/security/X509.js"
import { runHelyos } from "../support/process/CliInput.js"

const TOKEN = `nxa-api_${"a".repeat(64)}`
const WRONG = `nxa-api_${"b".repeat(64)}`

interface FakeDaemon {
  readonly url: string
  /** every request's path, in order */
  readonly seen: Array<string>
  close(): Promise<void>
}

/**
 * A stand-in helyosd: /api/v1/ca serves `served` (404 when absent), whoami accepts TOKEN only,
 * /api/v1/projects answers []. Its certificate is signed by `signer`.
 */
const fakeDaemon = async (options: {
  readonly signer?: CertifiedKey
  readonly served?: CertifiedKey
  readonly plain?: boolean
  readonly sans?: ReadonlyArray<string>
}) => {
  const seen: Array<string> = []
  const handler: http.RequestListener = (req, res) => {
    seen.push(req.url ?? "")
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" })
      res.end(JSON.stringify(body))
    }
    if (req.url === "/api/v1/ca") {
      return options.served === undefined
        ? json(404, { error: "no self-signed CA (TLS off or BYO cert)" })
        : json(200, { pem: options.served.certPem, sha256: pemFingerprint(options.served.certPem) })
    }
    if (req.headers.authorization !== `Bearer ${TOKEN}`) return json(401, { error: "invalid or missing API token" })
    if (req.url === "/api/v1/whoami") {
      return json(200, { name: "alice", scope: "admin", created_at: "2026-01-01T00:00:00Z", expires_at: null, last_used_at: null })
    }
    if (req.url === "/api/v1/projects") return json(200, [])
    json(404, { error: "not found" })
  }
  let server: http.Server
  if (options.plain === true) {
    server = http.createServer(handler)
  } else {
    const leaf = await Effect.runPromise(
      issueServerCertificate(options.signer!, "helyosd", classifySans(options.sans ?? ["localhost", "127.0.0.1"]))
    )
    server = https.createServer({ cert: leaf.certPem, key: leaf.keyPem }, handler)
  }
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `${options.plain === true ? "http" : "https"}://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve()))
  } satisfies FakeDaemon
}

const helyos = runHelyos

/** Each test runs several CLI processes (seconds each on a loaded machine): never fail on speed. */
const MANY_PROCESSES = 180_000

const freshConfig = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "helyos-login-")), "config.toml")
const tomlOf = (file: string) => TOML.parse(fs.readFileSync(file, "utf8")) as { "current-context"?: string; context: Record<string, Record<string, unknown>> }

let ca: CertifiedKey
let otherCa: CertifiedKey
/** HTTPS signed by `ca`, serving `ca` */
let daemon: FakeDaemon
/** HTTPS signed by `otherCa`, serving `otherCa` */
let stranger: FakeDaemon
/** serves `ca` at /api/v1/ca but presents a certificate from `otherCa` (someone in the middle) */
let impostor: FakeDaemon
/** HTTPS signed by `ca`, with no /api/v1/ca (a brought certificate) */
let byo: FakeDaemon
let plain: FakeDaemon
/** signed by `ca`, serving it, but its certificate names only localhost */
let localhostOnly: FakeDaemon

beforeAll(async () => {
  ca = await Effect.runPromise(generateCa("helyos test CA"))
  otherCa = await Effect.runPromise(generateCa("another CA"))
  daemon = await fakeDaemon({ signer: ca, served: ca })
  stranger = await fakeDaemon({ signer: otherCa, served: otherCa })
  impostor = await fakeDaemon({ signer: otherCa, served: ca })
  byo = await fakeDaemon({ signer: ca })
  plain = await fakeDaemon({ plain: true })
  localhostOnly = await fakeDaemon({ signer: ca, served: ca, sans: ["localhost"] })
})

afterAll(async () => {
  await Promise.all([daemon, stranger, impostor, byo, plain, localhostOnly].filter((d) => d !== undefined).map((d) => d.close()))
})

const fingerprint = () => pemFingerprint(ca.certPem)

describe("helyos login: trust is never given silently", () => {
  it("without a terminal and without a pin it refuses (fail-closed), writes nothing and never sends the token", async () => {
    const config = freshConfig()
    const before = daemon.seen.length
    const result = await helyos(config, ["login", daemon.url, "--token", TOKEN])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: refusing to trust the CA of https:\/\/127\.0\.0\.1:\d+ without confirmation \(not a terminal\): pass --ca-fingerprint/)
    expect(result.stderr.trim().split("\n")).toHaveLength(1)
    expect(fs.existsSync(config)).toBe(false)
    expect(daemon.seen.slice(before)).toEqual(["/api/v1/ca"])
  }, MANY_PROCESSES)

  it("a --ca-fingerprint that does not match aborts with the documented message and writes nothing", async () => {
    const config = freshConfig()
    const expected = pemFingerprint(otherCa.certPem)
    const result = await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", expected])
    expect(result.code).toBe(1)
    expect(result.stderr).toBe(
      [
        "error: CA fingerprint mismatch — aborting (possible MITM)",
        `  expected: ${expected}`,
        `  got:      ${fingerprint()}`,
        ""
      ].join("\n")
    )
    expect(fs.existsSync(config)).toBe(false)
  }, MANY_PROCESSES)

  it("a server whose certificate does not chain to the CA it serves is refused at whoami, nothing written", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", impostor.url, "--token", TOKEN, "--ca-fingerprint", fingerprint()])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: TLS verification of https:\/\/127\.0\.0\.1:\d+ failed: /)
    expect(fs.existsSync(config)).toBe(false)
    expect(impostor.seen).not.toContain("/api/v1/whoami")
  }, MANY_PROCESSES)

  it("a certificate from the pinned CA that does not name the dialled address says which name is missing", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", localhostOnly.url, "--token", TOKEN, "--ca-fingerprint", fingerprint()])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(
      /^error: TLS verification of https:\/\/127\.0\.0\.1:\d+ failed: its certificate does not name 127\.0\.0\.1 — dial a name it has, or restart helyosd with --tls-san 127\.0\.0\.1\n$/
    )
    expect(fs.existsSync(config)).toBe(false)
    // by a name it has, the same pin works
    const byName = await helyos(config, ["login", localhostOnly.url.replace("127.0.0.1", "localhost"), "--token", TOKEN, "--ca-fingerprint", fingerprint()])
    expect([byName.code, byName.stderr]).toEqual([0, ""])
  }, MANY_PROCESSES)

  it("a rejected token is reported as such and nothing is written", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", daemon.url, "--token", WRONG, "--ca-fingerprint", fingerprint()])
    expect([result.code, result.stderr]).toEqual([1, `error: token rejected by ${daemon.url}\n`])
    expect(fs.existsSync(config)).toBe(false)
  }, MANY_PROCESSES)

  it("a malformed --ca-fingerprint is refused before any request", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", "abc"])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: --ca-fingerprint 'abc' is not a SHA-256 fingerprint/)
  }, MANY_PROCESSES)
})

describe("helyos login: pinning, then every command verifies against the pin", () => {
  it("the right fingerprint (any spelling) pins the CA, stores the context and makes it current", async () => {
    const config = freshConfig()
    const spelled = `SHA256:${fingerprint().replace(/:/g, "").toUpperCase()}`
    const result = await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", spelled, "--project", "web"])
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(result.stdout).toBe(`Logged in to ${daemon.url} as alice (scope admin): context '127-0-0-1', now the current context\n`)
    const doc = tomlOf(config)
    expect(doc["current-context"]).toBe("127-0-0-1")
    expect(doc.context["127-0-0-1"]).toEqual({
      server: daemon.url,
      token: TOKEN,
      "token-name": "alice",
      project: "web",
      ca: Buffer.from(ca.certPem).toString("base64"),
      "ca-sha256": fingerprint()
    })
    expect(fs.statSync(config).mode & 0o777).toBe(0o600)

    // a later command goes through the pinned CA with the stored token
    const projects = await helyos(config, ["project", "list", "--json"])
    expect([projects.code, projects.stderr, JSON.parse(projects.stdout)]).toEqual([0, "", []])

    // the same pin against a server with another CA: one readable line, exit 1
    const other = await helyos(config, ["--server", stranger.url, "project", "list"])
    expect(other.code).toBe(1)
    expect(other.stderr).toMatch(
      /^error: TLS verification of https:\/\/127\.0\.0\.1:\d+ failed: .+ — its certificate does not chain to the CA pinned in context '127-0-0-1'/
    )
    expect(other.stderr.trim().split("\n")).toHaveLength(1)
  }, MANY_PROCESSES)

  it("--ca-file pins the file without fetching /api/v1/ca; --token-stdin reads the token from one line", async () => {
    const config = freshConfig()
    const caFile = path.join(path.dirname(config), "ca.pem")
    fs.writeFileSync(caFile, ca.certPem)
    const before = daemon.seen.length
    const result = await helyos(config, ["login", daemon.url, "--token-stdin", "--ca-file", caFile, "--name", "prod"], {
      stdin: `${TOKEN}\n`
    })
    expect([result.code, result.stderr]).toEqual([0, ""])
    expect(daemon.seen.slice(before)).toEqual(["/api/v1/whoami"])
    expect(tomlOf(config).context.prod).toMatchObject({ token: TOKEN, "ca-sha256": fingerprint() })
  }, MANY_PROCESSES)

  it("--ca-file with a CA that did not sign the server's certificate fails and writes nothing", async () => {
    const config = freshConfig()
    const caFile = path.join(path.dirname(config), "other.pem")
    fs.writeFileSync(caFile, otherCa.certPem)
    const result = await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-file", caFile])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/^error: TLS verification of .* failed: /)
    expect(fs.existsSync(config)).toBe(false)
  }, MANY_PROCESSES)

  it("the token may come from $HELYOS_API_TOKEN; without any token and no terminal login says how to give one", async () => {
    const config = freshConfig()
    const none = await helyos(config, ["login", daemon.url, "--ca-fingerprint", fingerprint()])
    expect(none.code).toBe(1)
    expect(none.stderr).toMatch(/^error: no token: pass --token, --token-stdin or set HELYOS_API_TOKEN/)
    const env = await helyos(config, ["login", daemon.url, "--ca-fingerprint", fingerprint()], { env: { HELYOS_API_TOKEN: TOKEN } })
    expect([env.code, env.stderr]).toEqual([0, ""])
  }, MANY_PROCESSES)

  it("--insecure-skip-tls-verify stores insecure = true and warns, then and on every command", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", stranger.url, "--token", TOKEN, "--insecure-skip-tls-verify", "--name", "lab"])
    expect(result.code).toBe(0)
    expect(result.stderr).toMatch(/^warning: --insecure-skip-tls-verify: .* encrypted but not authenticated\n$/)
    expect(tomlOf(config).context.lab).toMatchObject({ insecure: true })
    expect(tomlOf(config).context.lab).not.toHaveProperty("ca")
    const projects = await helyos(config, ["project", "list"])
    expect(projects.code).toBe(0)
    expect(projects.stderr).toMatch(/^warning: TLS verification is off \(context 'lab': insecure = true\)/)
  }, MANY_PROCESSES)

  it("a server without a self-signed CA is checked against the system roots (which do not know this CA)", async () => {
    const config = freshConfig()
    const result = await helyos(config, ["login", byo.url, "--token", TOKEN])
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("serves no self-signed CA: verifying it against the system roots")
    expect(result.stderr).toMatch(/error: TLS verification of .* failed: .* pin its CA with: helyos login/)
    expect(fs.existsSync(config)).toBe(false)
    // its private CA can be given as a file
    const caFile = path.join(path.dirname(config), "ca.pem")
    fs.writeFileSync(caFile, ca.certPem)
    const pinned = await helyos(config, ["login", byo.url, "--token", TOKEN, "--ca-file", caFile])
    expect([pinned.code, pinned.stderr]).toEqual([0, ""])
  }, MANY_PROCESSES)

  it("plain http:// needs no pin; logging in again to the same server refreshes its context, another gets -2", async () => {
    const config = freshConfig()
    const first = await helyos(config, ["login", plain.url, "--token", TOKEN])
    expect([first.code, first.stderr]).toEqual([0, ""])
    const again = await helyos(config, ["login", plain.url, "--token", TOKEN, "--no-set-current"])
    expect(again.code).toBe(0)
    const third = await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", fingerprint(), "--no-set-current"])
    expect(third.stdout).toContain("context '127-0-0-1-2'")
    const doc = tomlOf(config)
    expect(Object.keys(doc.context)).toEqual(["127-0-0-1", "127-0-0-1-2"])
    expect(doc["current-context"]).toBe("127-0-0-1")
    const ls = await helyos(config, ["context", "ls"])
    expect(ls.stdout.split("\n").slice(1, 3)).toEqual([
      `* 127-0-0-1    ${plain.url.padEnd(daemon.url.length)}  -        http`,
      `  127-0-0-1-2  ${daemon.url}  -        pinned`
    ])
  }, MANY_PROCESSES)
})

describe("helyos logout and context commands", () => {
  it("logout removes the token but keeps the server and the pinned CA; later requests go unauthenticated", async () => {
    const config = freshConfig()
    await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", fingerprint(), "--name", "prod"])
    const out = await helyos(config, ["logout"])
    expect([out.code, out.stdout]).toEqual([0, "Logged out of context 'prod': token removed, server and pinned CA kept\n"])
    expect(tomlOf(config).context.prod).toEqual({
      server: daemon.url,
      ca: Buffer.from(ca.certPem).toString("base64"),
      "ca-sha256": fingerprint()
    })
    expect(fs.readFileSync(`${config}.bak`, "utf8")).toContain(TOKEN)
    const projects = await helyos(config, ["project", "list"])
    expect(projects.code).toBe(1)
    expect(projects.stderr).toContain("no token")
  }, MANY_PROCESSES)

  it("--context NAME picks a context for one command, before or after the command; an unknown name fails", async () => {
    const config = freshConfig()
    await helyos(config, ["login", daemon.url, "--token", TOKEN, "--ca-fingerprint", fingerprint(), "--name", "prod"])
    await helyos(config, ["context", "set", "dead", "--server", "http://127.0.0.1:1"])
    await helyos(config, ["context", "use", "dead"])
    const before = await helyos(config, ["--context", "prod", "project", "list", "--json"])
    const after = await helyos(config, ["project", "list", "--json", "--context", "prod"])
    expect([before.code, before.stderr, after.code, after.stderr]).toEqual([0, "", 0, ""])
    const unknown = await helyos(config, ["project", "list", "--context", "nope"])
    expect([unknown.code, unknown.stderr]).toEqual([1, "error: no context named 'nope'\n"])
    const current = await helyos(config, ["context", "current"])
    expect(current.stdout).toBe("dead  http://127.0.0.1:1\n")
  }, MANY_PROCESSES)

  it("use, rename, set and rm round-trip through the file, keeping keys the CLI does not know", async () => {
    const config = freshConfig()
    fs.writeFileSync(
      config,
      `current-context = "a"\ncolour = "always"\n\n[context.a]\nserver = "https://a.example:6443"\nnote = "mine"\n\n[plugins.x]\nenabled = true\n`
    )
    const steps = [
      ["context", "set", "b", "--server", "b.example", "--project", "web"],
      ["context", "use", "b"],
      ["context", "rename", "a", "alpha"],
      ["context", "set", "b", "--project", ""],
      ["context", "rm", "b"]
    ]
    for (const step of steps) {
      const result = await helyos(config, step)
      expect([step, result.code, result.stderr]).toEqual([step, 0, ""])
    }
    expect(tomlOf(config)).toEqual({
      colour: "always",
      context: { alpha: { server: "https://a.example:6443", note: "mine" } },
      plugins: { x: { enabled: true } }
    })
    const missing = await helyos(config, ["context", "use", "b"])
    expect([missing.code, missing.stderr]).toEqual([1, "error: no context named 'b' (see helyos context ls)\n"])
    const clash = await helyos(config, ["context", "set", "c", "--server", "http://c:1"])
    expect(clash.code).toBe(0)
    const taken = await helyos(config, ["context", "rename", "alpha", "c"])
    expect([taken.code, taken.stderr]).toEqual([1, "error: a context named 'c' already exists\n"])
  }, MANY_PROCESSES)
})
