// The `helyos` CLI as a user runs it (the built bin/helyos, a real process) against a real ApiServer
// on 127.0.0.1: its output, its one-line errors on stderr and its exit codes. Needs `npm run build`.
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { seedLocalContext } from "../../src/programs/cli/ConfigFile.js"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { apiOn, evictions, TOKEN, WRONG } from "../support/harness/ApiHarness.js"
import { runCli } from "../support/process/Processes.js"

/** A config path nobody wrote: the CLI must not read the real ~/.helyos/config.toml in tests. */
const noConfig = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "helyos-cli-")), "config.toml")

/** Run `helyos args…` with only the given environment for Helyos (no env token/server unless given). */
const helyos = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    runCli(args, { HELYOS_SERVER: "", HELYOS_API_TOKEN: "", HELYOS_CONFIG: noConfig(), NO_COLOR: "1", ...env })
  )

/** env pointing the CLI at the test server with the right token. */
const connected = Effect.map(ApiServer, ({ url }) => ({ HELYOS_SERVER: url, HELYOS_API_TOKEN: TOKEN }))

const onMaster = <A, E>(test: Effect.Effect<A, E, ApiServer | NodeRegistry | Scope.Scope>) =>
  Effect.provide(test, apiOn("master"))

/** A port nothing listens on. */
const closedPort = Effect.promise(() =>
  new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })
)

describe("helyos nodes", () => {
  it.scopedLive("prints a table with the documented columns, gauges, pod counts and heartbeat ages", () =>
    onMaster(Effect.gen(function*() {
      const result = yield* helyos(["nodes"], yield* connected)
      expect(result.code).toBe(0)
      expect(result.stderr).toBe("")
      const [header, ...rows] = result.stdout.trimEnd().split("\n")
      expect(header).toMatch(/^NAME\s+ROLE\s+STATUS\s+CPU\s+MEM\s+PODS\s+HEARTBEAT$/)
      expect(rows).toHaveLength(3)
      // 1 of 4 cores and 2 of 8 GiB in use: 25% each, 3 of 10 cells filled (rounded)
      expect(rows[0]).toMatch(/^master\s+Master\s+Ready\s+███░░░░░░░\s+25%\s+███░░░░░░░\s+25%\s+0\s+-$/)
      expect(rows[1]).toMatch(/^w1\s+Worker\s+Ready\s+███░░░░░░░\s+25%\s+███░░░░░░░\s+25%\s+3\s+\d+s ago$/)
      expect(rows[2]).toMatch(/^w2\s+Worker\s+Ready\s.*\s0\s+\d+s ago$/)
    })))

  it.scopedLive("--json prints exactly the API's array of node objects", () =>
    onMaster(Effect.gen(function*() {
      const env = yield* connected
      const result = yield* helyos(["nodes", "--json"], env)
      expect(result.code).toBe(0)
      const api = yield* Effect.promise(() =>
        fetch(`${env.HELYOS_SERVER}/api/v1/nodes`, { headers: { authorization: `Bearer ${TOKEN}` } }).then((r) => r.json())
      )
      expect(JSON.parse(result.stdout)).toEqual(api)
      expect((JSON.parse(result.stdout) as Array<{ name: string }>).map((n) => n.name)).toEqual(["master", "w1", "w2"])
    })))

  it.scopedLive("--server and --token work before and after the command, and beat the environment", () =>
    onMaster(Effect.gen(function*() {
      const { url } = yield* ApiServer
      const wrongEnv = { HELYOS_SERVER: "http://127.0.0.1:1", HELYOS_API_TOKEN: WRONG }
      const before = yield* helyos(["--server", url, "--token", TOKEN, "nodes", "--json"], wrongEnv)
      const after = yield* helyos(["nodes", "--json", "--server", url, "--token", TOKEN], wrongEnv)
      expect([before.code, before.stderr]).toEqual([0, ""])
      expect([after.code, after.stderr]).toEqual([0, ""])
      expect(JSON.parse(after.stdout)).toEqual(JSON.parse(before.stdout))
    })))

  it.scopedLive("with no flags and no environment, the seeded 'local' context is used", () =>
    onMaster(Effect.gen(function*() {
      const { url } = yield* ApiServer
      const config = noConfig()
      seedLocalContext({ path: config, server: url, token: TOKEN })
      const result = yield* helyos(["nodes", "--json"], { HELYOS_CONFIG: config })
      expect([result.code, result.stderr]).toEqual([0, ""])
      expect(JSON.parse(result.stdout)).toHaveLength(3)
      const unknown = yield* helyos(["--context", "staging", "nodes"], { HELYOS_CONFIG: config })
      expect([unknown.code, unknown.stderr]).toEqual([1, "error: no context named 'staging'\n"])
    })))
})

describe("helyos node drain | undrain | rm", () => {
  it.scopedLive("rm of a Ready node prints the API's message as one line on stderr and exits 1", () =>
    onMaster(Effect.gen(function*() {
      const result = yield* helyos(["node", "rm", "w1"], yield* connected)
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: "error: node 'w1' must be drained before removal (status: Ready)\n"
      })
    })))

  it.scopedLive("drain, undrain, drain again and rm: each succeeds and the worker is evicted", () =>
    onMaster(Effect.gen(function*() {
      const env = yield* connected
      const id = (yield* (yield* NodeRegistry).findByName("w2")).id
      evictions.length = 0
      const drained = yield* helyos(["node", "drain", "w2"], env)
      expect([drained.code, drained.stdout]).toEqual([0, "node 'w2' drained (status: Draining): no new pods will be placed on it\n"])
      const undrained = yield* helyos(["node", "undrain", "w2"], env)
      expect([undrained.code, undrained.stdout]).toEqual([0, "node 'w2' undrained (status: Ready)\n"])
      expect((yield* helyos(["node", "drain", "w2"], env)).code).toBe(0)
      const removed = yield* helyos(["node", "rm", "w2"], env)
      expect([removed.code, removed.stdout, removed.stderr]).toEqual([0, "node 'w2' removed\n", ""])
      expect(evictions).toEqual([{ id, reason: "removed by an operator" }])
    })))

  it.scopedLive("rm --force removes a Ready node; an unknown node is a one-line 404 message", () =>
    onMaster(Effect.gen(function*() {
      const env = yield* connected
      expect((yield* helyos(["node", "rm", "w1", "--force"], env)).code).toBe(0)
      expect(yield* helyos(["node", "rm", "w1"], env)).toMatchObject({ code: 1, stderr: "error: node 'w1' not found\n" })
    })))
})

describe("helyos cluster token", () => {
  it.scopedLive("show exits 1 with the daemon's explanation", () =>
    onMaster(Effect.gen(function*() {
      const result = yield* helyos(["cluster", "token", "show"], yield* connected)
      expect(result.code).toBe(1)
      expect(result.stderr.split("\n")).toEqual([
        "error: the join token is shown only once, at creation. Use 'helyos cluster token rotate' (POST /api/v1/cluster/token/rotate) to generate a new one.",
        ""
      ])
    })))

  it.scopedLive("rotate prints the new token and the join command", () =>
    onMaster(Effect.gen(function*() {
      const result = yield* helyos(["cluster", "token", "rotate"], yield* connected)
      expect(result.code).toBe(0)
      const token = /nxa_[0-9a-f]{64}/.exec(result.stdout)?.[0]
      expect(token).toBeDefined()
      expect(result.stdout).toMatch(
        new RegExp(`helyosd --mode worker --join 127\\.0\\.0\\.1:\\d+ --token ${token} --ca-fingerprint sha256:[0-9a-f]{64}`)
      )
    })))
})

describe("helyos when things go wrong", () => {
  it.live("an unreachable daemon is one line naming the server, exit 1", () =>
    Effect.gen(function*() {
      const server = `http://127.0.0.1:${yield* closedPort}`
      const result = yield* helyos(["nodes"], { HELYOS_SERVER: server })
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: `error: cannot reach helyosd at ${server} — is it running? Start it with: helyosd\n`
      })
    }))

  it.scopedLive("a wrong token reads the API's 401 message; no token at all adds a hint", () =>
    onMaster(Effect.gen(function*() {
      const { url } = yield* ApiServer
      const wrong = yield* helyos(["nodes"], { HELYOS_SERVER: url, HELYOS_API_TOKEN: WRONG })
      expect([wrong.code, wrong.stderr]).toEqual([1, "error: missing or invalid bearer token\n"])
      const none = yield* helyos(["nodes"], { HELYOS_SERVER: url })
      expect([none.code, none.stderr]).toEqual([
        1,
        "error: missing or invalid bearer token (no token: pass --token or set HELYOS_API_TOKEN)\n"
      ])
    })))

  it.live("a malformed server URL is refused before any request", () =>
    Effect.gen(function*() {
      const result = yield* helyos(["nodes", "--server", "not a url"])
      expect([result.code, result.stderr]).toEqual([1, "error: invalid server URL 'not a url': expected http(s)://host:port\n"])
    }))

  it.live("a usage error is one line naming the option and the closest real one, exit 1, nothing sent", () =>
    Effect.gen(function*() {
      const server = `http://127.0.0.1:${yield* closedPort}`
      const result = yield* helyos(["nodes", "--jsno"], { HELYOS_SERVER: server })
      expect(result).toEqual({
        code: 1,
        stdout: "",
        stderr: "error: unknown option '--jsno' for 'helyos nodes' (did you mean '--json'?); see 'helyos nodes --help'\n"
      })
    }))
})
