// e2e: a real helyosd serving its REST API over HTTPS on 127.0.0.1 (--tls on), as a user meets it:
// the login hint, /api/v1/ca, requests with and without the pinned CA, a restart with the same CA;
// and the cleartext / flag refusals, which exit 1 before anything is opened.
import { createHash, X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { classifySans, generateCa, issueServerCertificate } from "../../src/layers/security/X509.js"
import { apiToken, freePort, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"

interface Answer {
  readonly status: number
  readonly body: unknown
}

/** An HTTPS GET like `curl --cacert` (ca given), `curl -k` (insecure) or plain `curl` (system roots). */
const get = (url: string, options: { ca?: string; insecure?: boolean; token?: string } = {}) =>
  new Promise<Answer>((resolve, reject) => {
    const request = https.get(url, {
      agent: false,
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      rejectUnauthorized: options.insecure !== true,
      headers: options.token === undefined ? {} : { authorization: `Bearer ${options.token}` }
    }, (response) => {
      let text = ""
      response.on("data", (chunk: Buffer) => (text += chunk.toString()))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) }))
    })
    request.on("error", reject)
  })

const errorCode = (promise: Promise<unknown>) => promise.then(() => "succeeded", (e: NodeJS.ErrnoException) => e.code ?? e.message)

// the documented rule: SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` prints it
const sha256Colons = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex").match(/../g)!.join(":")

const FINGERPRINT = /^INFO helyos login https:\/\/127\.0\.0\.1:(\d+) --ca-fingerprint ((?:[0-9a-f]{2}:){31}[0-9a-f]{2})$/

describe("helyosd --tls on (real process on 127.0.0.1)", () => {
  const dataDir = tempDir("helyos-e2e-tls-")
  const token = apiToken()
  const env = { HELYOS_API_TOKEN: token, HELYOS_CONFIG: path.join(dataDir, "cli-config.toml") }
  let port = 0
  let daemon: Proc
  const start = () =>
    spawnProc(helyosdBin, ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--node-name", "tls-e2e", "--tls", "on"], env)

  beforeAll(async () => {
    port = await freePort()
    daemon = start()
    await daemon.waitFor(/listening on https:/)
    await daemon.waitFor(/helyos login https:/)
  }, 30_000)

  afterAll(async () => {
    await daemon?.kill("SIGTERM")
  })

  it("logs the listener as https and the exact login command with the CA fingerprint", () => {
    const lines = daemon.output().split("\n")
    expect(lines).toContain(`INFO helyosd single listening on https://127.0.0.1:${port}`)
    const hint = lines.find((l) => FINGERPRINT.test(l))!
    expect(hint).toBeDefined()
    const [, hintPort, fingerprint] = FINGERPRINT.exec(hint)!
    expect(Number(hintPort)).toBe(port)
    expect(fingerprint).toBe(sha256Colons(fs.readFileSync(path.join(dataDir, "http-ca.pem"), "utf8")))
  })

  it("/api/v1/ca (fetched like curl -k) matches the logged fingerprint, and that CA verifies the server", async () => {
    const ca = await get(`https://127.0.0.1:${port}/api/v1/ca`, { insecure: true })
    expect(ca.status).toBe(200)
    const { pem, sha256 } = ca.body as { pem: string; sha256: string }
    expect(sha256).toBe(sha256Colons(pem))
    expect(daemon.output()).toContain(`--ca-fingerprint ${sha256}`)
    const nodes = await get(`https://127.0.0.1:${port}/api/v1/nodes`, { ca: pem, token })
    expect(nodes.status).toBe(200)
    expect((nodes.body as ReadonlyArray<{ name: string }>).map((n) => n.name)).toContain("tls-e2e")
    expect(await get(`https://localhost:${port}/health`, { ca: pem })).toEqual({ status: 200, body: { status: "ok" } })
  })

  it("without the pinned CA the certificate does not verify; plain HTTP gets no API", async () => {
    expect(await errorCode(get(`https://127.0.0.1:${port}/health`))).toMatch(/SELF_SIGNED|UNABLE_TO|CERT/)
    const plain = await fetch(`http://127.0.0.1:${port}/health`).then((r) => r.status, (e: Error) => e.message)
    expect(plain).not.toBe(200)
  })

  it("the seeded local CLI context pins the CA, so `helyos nodes` works without flags", async () => {
    const config = fs.readFileSync(env.HELYOS_CONFIG, "utf8")
    const ca = fs.readFileSync(path.join(dataDir, "http-ca.pem"), "utf8")
    expect(config).toContain(`https://127.0.0.1:${port}`)
    expect(config).toContain(sha256Colons(ca))
    const result = await runCli(["nodes", "--json"], { HELYOS_CONFIG: env.HELYOS_CONFIG, HELYOS_API_TOKEN: "", HELYOS_SERVER: "" })
    expect(result.stderr).toBe("")
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toEqual(expect.arrayContaining([expect.objectContaining({ name: "tls-e2e" })]))
  })

  it("a restart on the same data dir keeps the CA fingerprint", async () => {
    const before = sha256Colons(fs.readFileSync(path.join(dataDir, "http-ca.pem"), "utf8"))
    await daemon.kill("SIGTERM")
    daemon = start()
    const hint = await daemon.waitFor(/helyos login https:/)
    expect(hint).toBe(`INFO helyos login https://127.0.0.1:${port} --ca-fingerprint ${before}`)
    expect(daemon.output()).not.toMatch(/generated the API CA|issued the API server certificate/)
  }, 30_000)
})

describe("switching a daemon from HTTP to HTTPS", () => {
  it("the local CLI context follows (https URL, CA pinned) though the token is only stored as a hash", async () => {
    const dataDir = tempDir("helyos-e2e-switch-")
    const port = await freePort()
    const cliConfig = path.join(dataDir, "cli-config.toml")
    const args = ["--port", String(port), "--data-dir", dataDir, "--node-name", "switch-e2e"]
    const cliEnv = { HELYOS_CONFIG: cliConfig, HELYOS_API_TOKEN: "", HELYOS_SERVER: "" }
    let daemon = spawnProc(helyosdBin, args, { HELYOS_CONFIG: cliConfig })
    try {
      await daemon.waitFor(/listening on http:/, 30_000)
      expect(daemon.output()).toMatch(/HELYOS_API_TOKEN=nxa-api_/)
      expect((await runCli(["nodes", "--json"], cliEnv)).code).toBe(0)
      await daemon.kill("SIGTERM")
      daemon = spawnProc(helyosdBin, [...args, "--tls", "on"], { HELYOS_CONFIG: cliConfig })
      await daemon.waitFor(/listening on https:/, 30_000)
      expect(daemon.output()).toContain(`CLI context 'local' now points at https://127.0.0.1:${port}`)
      const result = await runCli(["nodes", "--json"], cliEnv)
      expect(result.stderr).toBe("")
      expect(result.code).toBe(0)
      expect(fs.readFileSync(cliConfig, "utf8")).toContain(sha256Colons(fs.readFileSync(path.join(dataDir, "http-ca.pem"), "utf8")))
    } finally {
      await daemon.kill("SIGTERM")
    }
  }, 60_000)
})

describe("helyosd --tls-cert/--tls-key (a brought certificate)", () => {
  it("serves the given chain, hands out no CA (404) and hints a login without a fingerprint", async () => {
    const dir = tempDir("helyos-e2e-byo-")
    const ca = await Effect.runPromise(generateCa("Corp Root"))
    const leaf = await Effect.runPromise(issueServerCertificate(ca, "api.corp", classifySans(["localhost", "127.0.0.1"])))
    fs.writeFileSync(path.join(dir, "fullchain.pem"), leaf.certPem + ca.certPem)
    fs.writeFileSync(path.join(dir, "privkey.pem"), leaf.keyPem, { mode: 0o600 })
    const dataDir = path.join(dir, "data")
    const port = await freePort()
    const daemon = spawnProc(helyosdBin, [
      "--port", String(port), "--data-dir", dataDir, "--node-name", "byo-e2e", "--tls", "on",
      "--tls-cert", path.join(dir, "fullchain.pem"), "--tls-key", path.join(dir, "privkey.pem")
    ], { HELYOS_API_TOKEN: apiToken(), HELYOS_CONFIG: path.join(dir, "cli-config.toml") })
    try {
      await daemon.waitFor(/listening on https:/, 30_000)
      expect(await daemon.waitFor(/helyos login/)).toBe(`INFO helyos login https://127.0.0.1:${port}`)
      expect(await get(`https://127.0.0.1:${port}/api/v1/ca`, { ca: ca.certPem }))
        .toEqual({ status: 404, body: { error: "no self-signed CA (TLS off or BYO cert)" } })
      expect(fs.readdirSync(dataDir).filter((f) => f.startsWith("http-"))).toEqual([])
    } finally {
      await daemon.kill("SIGTERM")
    }
  }, 40_000)
})

describe("helyosd refuses before opening anything", () => {
  const refused = async (args: ReadonlyArray<string>) => {
    const dataDir = tempDir("helyos-e2e-refuse-")
    const proc = spawnProc(helyosdBin, ["--port", String(await freePort()), "--data-dir", dataDir, ...args], {
      HELYOS_CONFIG: path.join(dataDir, "cli-config.toml")
    })
    const code = await proc.exited
    return { code, output: proc.output(), files: fs.readdirSync(dataDir) }
  }

  it("plain HTTP on 0.0.0.0: exits 1 with the documented two lines, creating nothing", async () => {
    const result = await refused(["--host", "0.0.0.0", "--tls", "off"])
    expect(result.code).toBe(1)
    expect(result.output).toContain(
      "refusing to serve a non-loopback address (0.0.0.0) over plain HTTP;\n" +
        "use --tls on, or pass BOTH --tls off and --insecure-http"
    )
    expect(result.output).not.toMatch(/listening on/)
    expect(result.files).toEqual([])
  }, 30_000)

  it("--tls off --insecure-http on 0.0.0.0 without a configured token: exits 1 asking for one", async () => {
    const result = await refused(["--host", "0.0.0.0", "--tls", "off", "--insecure-http"])
    expect(result.code).toBe(1)
    expect(result.output).toContain(
      "refusing to expose a non-loopback address with no API token configured;\n" +
        "set --api-token / HELYOS_API_TOKEN first"
    )
    expect(result.files).toEqual([])
  }, 30_000)

  it("--tls-cert without --tls-key, and --tls off with a certificate, are refused", async () => {
    const noKey = await refused(["--tls", "on", "--tls-cert", "/nonexistent/cert.pem"])
    expect(noKey.code).toBe(1)
    expect(noKey.output).toContain("error: --tls-cert needs --tls-key")
    const contradiction = await refused(["--tls", "off", "--tls-cert", "/x/c.pem", "--tls-key", "/x/k.pem"])
    expect(contradiction.code).toBe(1)
    expect(contradiction.output).toContain("error: --tls off contradicts --tls-cert/--tls-key")
  }, 30_000)

  it("an unreadable --tls-cert is named in a one-line error, exit 1, nothing listens", async () => {
    const result = await refused(["--tls", "on", "--tls-cert", "/nonexistent/cert.pem", "--tls-key", "/nonexistent/key.pem"])
    expect(result.code).toBe(1)
    const errors = result.output.split("\n").filter((l) => l.startsWith("error:"))
    expect(errors).toEqual(["error: --tls-cert /nonexistent/cert.pem: cannot read it (ENOENT)"])
    expect(result.output).not.toMatch(/listening on/)
  }, 30_000)
})
