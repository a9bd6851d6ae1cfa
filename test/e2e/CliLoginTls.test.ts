// e2e: the remote-access guide as a user types it — a real `helyosd --tls on` on 127.0.0.1, its
// logged `helyos login … --ca-fingerprint …` line, and the real CLI pinning its CA (or refusing to).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import * as TOML from "smol-toml"
import { runHelyos } from "../support/process/CliInput.js"
import { apiToken, freePort, helyosdBin, type Proc, spawnProc, tempDir } from "../support/process/Processes.js"

const token = apiToken()
let daemon: Proc
let dataDir: string
/** the config helyosd seeds for the CLI on its own machine */
let localConfig: string
let loginLine: string

/** `helyos args…` with only this config, stdin piped or /dev/null. */
const helyos = (config: string, args: ReadonlyArray<string>, stdin?: string) =>
  runHelyos(config, args, stdin === undefined ? {} : { stdin })

beforeAll(async () => {
  dataDir = tempDir("helyos-login-e2e-")
  localConfig = path.join(dataDir, "local-cli.toml")
  const port = await freePort()
  const grpcPort = await freePort()
  daemon = spawnProc(helyosdBin, [
    "--mode", "single", "--host", "127.0.0.1", "--port", String(port), "--grpc-port", String(grpcPort),
    "--tls", "on", "--data-dir", path.join(dataDir, "data"), "--node-name", "login-e2e"
  ], { HELYOS_API_TOKEN: token, HELYOS_CONFIG: localConfig })
  loginLine = await daemon.waitFor(/helyos login https:\/\/\S+ --ca-fingerprint \S+/, 30_000)
}, 60_000)

afterAll(async () => {
  await daemon?.kill("SIGTERM")
})

const printed = () => {
  const match = /helyos login (https:\/\/\S+) --ca-fingerprint (\S+)/.exec(loginLine)!
  return { server: match[1]!, fingerprint: match[2]! }
}

describe("helyos login against a real helyosd --tls on", () => {
  it("the daemon's own context pins its CA: the local CLI works over HTTPS with no flags", async () => {
    const doc = TOML.parse(fs.readFileSync(localConfig, "utf8")) as { context: { local: Record<string, unknown> } }
    expect(doc.context.local.server).toBe(printed().server)
    expect(doc.context.local["ca-sha256"]).toBe(printed().fingerprint)
    const projects = await helyos(localConfig, ["project", "list", "--json"])
    expect([projects.code, projects.stderr]).toEqual([0, ""])
    expect(Array.isArray(JSON.parse(projects.stdout))).toBe(true)
  }, 120_000)

  it("the logged command, with the token on stdin, pins the CA and later commands use the new context", async () => {
    const { fingerprint, server } = printed()
    const config = path.join(tempDir("helyos-login-e2e-cli-"), "config.toml")
    const login = await helyos(config, ["login", server, "--ca-fingerprint", fingerprint, "--token-stdin", "--name", "prod"], `${token}\n`)
    expect([login.code, login.stderr]).toEqual([0, ""])
    expect(login.stdout).toMatch(new RegExp(`^Logged in to ${server.replace(/\./g, "\\.")} as \\S+ .*context 'prod', now the current context\\n$`))
    expect(fs.statSync(config).mode & 0o777).toBe(0o600)
    const projects = await helyos(config, ["project", "list", "--json"])
    expect([projects.code, projects.stderr]).toEqual([0, ""])
    const ls = await helyos(config, ["context", "ls"])
    expect(ls.stdout).toMatch(/^\* prod\s+https:\/\/127\.0\.0\.1:\d+\s+-\s+pinned$/m)
  }, 120_000)

  it("non-interactively without a pin it refuses; a wrong fingerprint aborts; neither writes a file", async () => {
    const { server } = printed()
    const dir = tempDir("helyos-login-e2e-cli-")
    const config = path.join(dir, "config.toml")
    const tofu = await helyos(config, ["login", server, "--token", token])
    expect(tofu.code).toBe(1)
    expect(tofu.stderr).toMatch(/^error: refusing to trust the CA of https:\/\/127\.0\.0\.1:\d+ without confirmation \(not a terminal\)/)
    const wrong = `sha256:${"0".repeat(64)}`
    const mismatch = await helyos(config, ["login", server, "--token", token, "--ca-fingerprint", wrong])
    expect(mismatch.code).toBe(1)
    expect(mismatch.stderr.split("\n").slice(0, 3)).toEqual([
      "error: CA fingerprint mismatch — aborting (possible MITM)",
      `  expected: ${Array(32).fill("00").join(":")}`,
      `  got:      ${printed().fingerprint}`
    ])
    expect(fs.readdirSync(dir)).toEqual([])
  }, 120_000)
})
