// e2e: secrets as a user meets them — a real single-node helyosd on the real Docker engine, the real
// CLI. The value reaches the container's environment and nothing else: not the API's answers, not
// the daemon's (debug) log, not the database files.
import { execFileSync, spawn } from "node:child_process"
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import {
  apiToken,
  type CliResult,
  eventually,
  freePort,
  helyosBin,
  helyosdBin,
  type Proc,
  runCli,
  spawnProc,
  tempDir
} from "../support/process/Processes.js"

const project = `sec${process.pid}`
const nodeName = `secrets-e2e-${process.pid}`
const VALUE = `s3cret-${process.pid}-value`
const FROM_FLAG = `flag-${process.pid}-value`
let image: string
let daemon: Proc
let dataDir: string
let env: Record<string, string>
let port: number

const startDaemon = async () => {
  daemon = spawnProc(helyosdBin, [
    "--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--node-name", nodeName, "--log-level", "debug"
  ], env)
  await daemon.waitFor(/listening on http/, 30_000)
}

/** `helyos args…` with `input` on stdin (a pipe, not a terminal). */
const cliWithStdin = (args: ReadonlyArray<string>, input: string | Buffer): Promise<CliResult> =>
  new Promise((resolve) => {
    const child = spawn(process.execPath, [helyosBin, ...args], { env: { ...process.env, ...env }, stdio: ["pipe", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()))
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()))
    child.on("exit", (code) => resolve({ code: code ?? 1, stdout, stderr }))
    child.stdin.end(input)
  })

const helyos = (args: ReadonlyArray<string>) => runCli(args, env)

const specFile = (name: string, secrets: ReadonlyArray<string>) => {
  const file = path.join(dataDir, `${name}.yaml`)
  writeFileSync(file, [
    `project: ${project}`,
    `deployment:`,
    `  name: ${name}`,
    `image: ${image}`,
    `command: ["sleep", "3600"]`,
    `env:`,
    `  DB_PASSWORD: from-env`,
    `  MODE: plain`,
    `secrets: ${JSON.stringify(secrets)}`
  ].join("\n"))
  return file
}

const containerOf = (deployment: string) =>
  execFileSync("docker", ["ps", "-q", "--filter", `label=helyos.project=${project}`, "--filter", `label=helyos.deployment=${deployment}`])
    .toString().trim().split("\n").filter((l) => l !== "")

const databaseBytes = () =>
  Buffer.concat(readdirSync(dataDir).filter((f) => f.startsWith("helyos.db")).map((f) => readFileSync(path.join(dataDir, f))))

beforeAll(async () => {
  image = await ensureBusyboxImage()
  dataDir = tempDir("helyos-e2e-secrets-")
  port = await freePort()
  env = {
    HELYOS_SERVER: `http://127.0.0.1:${port}`,
    HELYOS_API_TOKEN: apiToken(),
    HELYOS_CONFIG: path.join(dataDir, "cli-config.toml"),
    NO_COLOR: "1"
  }
  await startDaemon()
}, 60_000)

afterAll(async () => {
  await daemon?.kill("SIGKILL")
  removeProjectLeftovers(project)
})

describe("secrets on a single node (real daemon, real Docker, real CLI)", () => {
  it("the daemon created master.key: 32 bytes, mode 0600", () => {
    const stat = statSync(path.join(dataDir, "master.key"))
    expect(stat.size).toBe(32)
    expect(stat.mode & 0o777).toBe(0o600)
  })

  it("secret set from stdin and from --value (warned); list shows names only", async () => {
    expect((await helyos(["project", "create", project])).code).toBe(0)
    const piped = await cliWithStdin(["secret", "set", "DB_PASSWORD", "-p", project], `${VALUE}  \n`)
    expect(piped.code, piped.stderr).toBe(0)
    expect(piped.stdout).toContain(`secret 'DB_PASSWORD' set in project '${project}'`)
    const flagged = await helyos(["secret", "set", "API_KEY", "-p", project, "--value", FROM_FLAG])
    expect(flagged.code, flagged.stderr).toBe(0)
    expect(flagged.stderr).toContain("warning: --value leaves the secret in your shell history")
    const json = await helyos(["secret", "list", "-p", project, "--json"])
    expect(JSON.parse(json.stdout)).toEqual({ project, secrets: ["API_KEY", "DB_PASSWORD"] })
    const table = await helyos(["secret", "list", "-p", project])
    expect(table.stdout).toContain("2 total")
    expect(table.stdout).toMatch(/DB_PASSWORD\s+sec/)
    for (const out of [json.stdout, table.stdout]) expect(out).not.toContain(VALUE)
  }, 60_000)

  it("bad input is one readable line and exit 1: invalid UTF-8, a bad name, no -p", async () => {
    const bytes = await cliWithStdin(["secret", "set", "BINARY", "-p", project], Buffer.from([0x61, 0xff, 0x0a]))
    expect(bytes.code).toBe(1)
    expect(bytes.stderr).toContain("error: secret contains invalid UTF-8")
    const name = await helyos(["secret", "set", "DB-PASSWORD", "-p", project, "--value", "x"])
    expect(name.code).toBe(1)
    expect(name.stderr).toContain("invalid secret name 'DB-PASSWORD'")
    expect((await helyos(["secret", "list"])).code).not.toBe(0)
  }, 60_000)

  it("a deploy naming a missing secret fails, naming it, and starts nothing", async () => {
    const result = await helyos(["deploy", specFile("broken", ["DB_PASSWORD", "MISSING_ONE"])])
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toBe(`error: secret 'MISSING_ONE' not found in project '${project}'`)
    const deployments = JSON.parse((await helyos(["deployments", "-p", project, "--json"])).stdout) as Array<unknown>
    expect(deployments).toEqual([])
    expect(containerOf("broken")).toEqual([])
  }, 60_000)

  it("deployed: the container's environment has the value (over env); API answers, logs and the database do not", async () => {
    const deployed = await helyos(["deploy", specFile("app", ["DB_PASSWORD", "API_KEY"]), "--timeout", "60"])
    expect(deployed.code, deployed.stderr).toBe(0)
    const [id] = await eventually(() => {
      const ids = containerOf("app")
      expect(ids).toHaveLength(1)
      return ids
    }, 20_000)
    const inspected = JSON.parse(execFileSync("docker", ["inspect", id!]).toString()) as Array<{ Config: { Env: Array<string> } }>
    expect(inspected[0]!.Config.Env).toEqual(expect.arrayContaining([`DB_PASSWORD=${VALUE}`, `API_KEY=${FROM_FLAG}`, "MODE=plain"]))
    expect(inspected[0]!.Config.Env).not.toContain("DB_PASSWORD=from-env")
    const inside = execFileSync("docker", ["exec", id!, "/bin/busybox", "env"]).toString()
    expect(inside).toContain(`DB_PASSWORD=${VALUE}`)

    const answers = await Promise.all([
      helyos(["deployments", "-p", project, "--json"]),
      helyos(["pods", "-p", project, "--json"]),
      helyos(["deployments"]),
      helyos(["pods"])
    ])
    for (const answer of answers) {
      expect(answer.code).toBe(0)
      expect(answer.stdout).not.toContain(VALUE)
      expect(answer.stdout).not.toContain(FROM_FLAG)
    }
    expect(answers[0]!.stdout).toContain("DB_PASSWORD")
    // the daemon logged at debug level all along: requests, placements, assignments
    expect(daemon.output()).toContain("POST /api/v1/projects")
    expect(daemon.output()).not.toContain(VALUE)
    expect(daemon.output()).not.toContain(FROM_FLAG)
    const db = databaseBytes()
    expect(db.length).toBeGreaterThan(0)
    expect(db.includes(Buffer.from(VALUE))).toBe(false)
    expect(db.includes(Buffer.from(FROM_FLAG))).toBe(false)
  }, 90_000)

  it("secret rm: gone from the list; the running container keeps its environment, a new pod fails", async () => {
    const [before] = containerOf("app")
    const removed = await helyos(["secret", "rm", "API_KEY", "-p", project])
    expect(removed.code, removed.stderr).toBe(0)
    expect(JSON.parse((await helyos(["secret", "list", "-p", project, "--json"])).stdout)).toEqual({ project, secrets: ["DB_PASSWORD"] })
    const again = await helyos(["secret", "rm", "API_KEY", "-p", project])
    expect(again.code).toBe(1)
    expect(again.stderr).toContain(`error: secret 'API_KEY' not found in project '${project}'`)
    // a second replica needs the removed secret: it fails naming it instead of starting without it
    expect((await helyos(["scale", "app", "2", "-p", project])).code).toBe(0)
    await eventually(async () => {
      const list = JSON.parse((await helyos(["pods", "-p", project, "--json"])).stdout) as Array<{ name: string; status: string; message?: string }>
      expect(list.find((p) => p.name === "app-1")).toMatchObject({
        status: "failed",
        message: `secret 'API_KEY' not found in project '${project}'`
      })
    }, 20_000)
    // ... while the first one's container runs on, with its value
    expect(containerOf("app")).toEqual([before])
    expect(execFileSync("docker", ["exec", before!, "/bin/busybox", "env"]).toString()).toContain(`API_KEY=${FROM_FLAG}`)
    expect((await helyos(["rm", "app", "-p", project, "-y"])).code).toBe(0)
  }, 60_000)

  it("after a restart the daemon reuses master.key: a new pod still gets the value", async () => {
    const key = readFileSync(path.join(dataDir, "master.key"))
    await daemon.kill("SIGTERM")
    await startDaemon()
    expect(readFileSync(path.join(dataDir, "master.key")).equals(key)).toBe(true)
    const deployed = await helyos(["deploy", specFile("after", ["DB_PASSWORD"]), "--timeout", "60"])
    expect(deployed.code, deployed.stderr).toBe(0)
    const [id] = await eventually(() => {
      const ids = containerOf("after")
      expect(ids).toHaveLength(1)
      return ids
    }, 20_000)
    expect(execFileSync("docker", ["exec", id!, "/bin/busybox", "env"]).toString()).toContain(`DB_PASSWORD=${VALUE}`)
    expect(daemon.output()).not.toContain(VALUE)
    expect((await helyos(["rm", "after", "-p", project, "-y"])).code).toBe(0)
  }, 120_000)

  it("a master.key of the wrong size stops a daemon at start, with a clear line", async () => {
    const dir = tempDir("helyos-e2e-badkey-")
    writeFileSync(path.join(dir, "master.key"), Buffer.alloc(7), { mode: 0o600 })
    const proc = spawnProc(helyosdBin, [
      "--host", "127.0.0.1", "--port", String(await freePort()), "--data-dir", dir, "--node-name", `${nodeName}-bad`
    ], { HELYOS_API_TOKEN: apiToken() })
    expect(await proc.exited).toBe(1)
    expect(proc.output()).toContain(`error: master key ${path.join(dir, "master.key")}: expected 32 bytes, got 7`)
    expect(statSync(path.join(dir, "master.key")).size).toBe(7)
  }, 30_000)
})
