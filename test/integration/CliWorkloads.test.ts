// `helyos deploy`, pods, deployments, scale, stop, rm, logs, project and cluster config as a user
// runs them (the built bin/helyos) against a real API over the real orchestrator. Needs `npm run build`.
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { LocalHost } from "../support/harness/OrchestratorHarness.js"
import { runCli } from "../support/process/Processes.js"
import { TOKEN, workloadApi } from "../support/harness/WorkloadApiHarness.js"

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), "helyos-cli-wl-"))

/** Run `helyos args…` with only the given environment for Helyos (never the real config file). */
const helyos = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.promise(() =>
    runCli(args, {
      HELYOS_SERVER: "",
      HELYOS_API_TOKEN: "",
      HELYOS_CONFIG: path.join(tmp(), "config.toml"),
      NO_COLOR: "1",
      ...env
    })
  )

const connected = Effect.map(ApiServer, ({ url }) => ({ HELYOS_SERVER: url, HELYOS_API_TOKEN: TOKEN }))

/** A spec file with `body` (YAML). */
const specFile = (body: string) => {
  const file = path.join(tmp(), "app.yaml")
  fs.writeFileSync(file, body)
  return file
}

const valid = (replicas = 2) => specFile(`project: shop\ndeployment:\n  name: api\nimage: nginx:1\nreplicas: ${replicas}\n`)

const withApi = <A, E>(test: Effect.Effect<A, E, ApiServer | Orchestrator | LocalHost | Scope.Scope>) =>
  Effect.provide(test, workloadApi())

const deployAndWait = (env: Record<string, string>, replicas = 2) =>
  Effect.flatMap(helyos(["deploy", valid(replicas)], env), (result) => {
    expect(result.code).toBe(0)
    return Effect.succeed(result)
  })

describe("helyos deploy", () => {
  it.scopedLive("an invalid spec prints each problem, exits 1 and sends nothing", () =>
    withApi(Effect.gen(function*() {
      const file = specFile("project: shop\ndeployment:\n  name: api\nimage: nginx:1\nresources:\n  cpu: 0.5\n  memory: 512mb\nreplicas: 0\n")
      const result = yield* helyos(["deploy", file], yield* connected)
      expect(result.code).toBe(1)
      expect(result.stdout).toBe("")
      const lines = result.stderr.trimEnd().split("\n")
      expect(lines.length).toBeGreaterThanOrEqual(2)
      expect(lines.every((line) => line.startsWith(`error: ${file}: `))).toBe(true)
      expect(result.stderr).toContain(`resources.memory: "512mb" is not a size like 512m, 1g, 256k`)
      expect(result.stderr).toContain("replicas:")
      expect(yield* (yield* Orchestrator).deployments()).toEqual([])
    })))

  it.scopedLive("an invalid spec fails before any connection is tried (no server needed)", () =>
    Effect.gen(function*() {
      const file = specFile("project: shop\nimage: nginx:1\n")
      const result = yield* helyos(["deploy", file], { HELYOS_SERVER: "http://127.0.0.1:1", HELYOS_API_TOKEN: TOKEN })
      expect(result.code).toBe(1)
      expect(result.stderr).toMatch(/^error: .*app\.yaml: deployment/)
      expect(result.stderr).not.toMatch(/cannot reach/)
    }))

  it.scopedLive("a valid spec is applied and watched until every pod runs", () =>
    withApi(Effect.gen(function*() {
      const result = yield* deployAndWait(yield* connected)
      const lines = result.stdout.trimEnd().split("\n")
      expect(lines[0]).toBe("deployment shop/api accepted (nginx:1, 2 replica(s))")
      expect(lines[lines.length - 1]).toBe("deployment shop/api: 2/2 pods running")
      const progress = lines.slice(1, -1)
      expect(progress.every((line) => /^\d\/2 pods running…$/.test(line))).toBe(true)
      // a line only when the count changes
      expect(new Set(progress).size).toBe(progress.length)
    })))

  it.scopedLive("--json prints {status, deployment, pods} at the end", () =>
    withApi(Effect.gen(function*() {
      const result = yield* helyos(["deploy", valid(1), "--json"], yield* connected)
      expect(result.code).toBe(0)
      const out = JSON.parse(result.stdout) as { status: string; deployment: { name: string }; pods: Array<{ name: string; status: string }> }
      expect(out.status).toBe("running")
      expect(out.deployment.name).toBe("api")
      expect(out.pods.map((p) => [p.name, p.status])).toEqual([["api-0", "running"]])
    })))

  it.scopedLive("a failing pod ends the wait with exit 1 and its message", () =>
    withApi(Effect.gen(function*() {
      yield* (yield* LocalHost).setStatus("failed", "exec: nginx not found")
      const result = yield* helyos(["deploy", valid(1)], yield* connected)
      expect(result.code).toBe(1)
      expect(result.stderr).toBe("error: pod api-0 is failed: exec: nginx not found\n")
    })))

  it.scopedLive("pods that never come up time out with the count reached", () =>
    withApi(Effect.gen(function*() {
      yield* (yield* LocalHost).setStatus("pending")
      const result = yield* helyos(["deploy", valid(1), "--timeout", "1"], yield* connected)
      expect(result.code).toBe(1)
      expect(result.stdout).toContain("0/1 pods running…")
      expect(result.stderr).toBe("error: timed out after 1s: 0/1 pods running\n")
    })))
})

describe("helyos pods, deployments, scale, stop, rm, logs", () => {
  it.scopedLive("pods and deployments print the documented columns; --json prints the API's array", () =>
    withApi(Effect.gen(function*() {
      const env = yield* connected
      yield* deployAndWait(env)
      const podsOut = yield* helyos(["pods", "-p", "shop"], env)
      const [header, ...rows] = podsOut.stdout.trimEnd().split("\n")
      expect(header).toMatch(/^NAME\s+PROJECT\s+NODE\s+STATUS\s+RESTARTS\s+LAST EXIT\s+IP\s+AGE$/)
      expect(rows).toHaveLength(2)
      expect(rows[0]).toMatch(/^api-\d\s+shop\s+master\s+Running\s+0\s+-\s+10\.0\.0\.2\s+\d+s$/)
      const deploymentsOut = yield* helyos(["deployments"], env)
      const [dHeader, dRow] = deploymentsOut.stdout.trimEnd().split("\n")
      expect(dHeader).toMatch(/^NAME\s+PROJECT\s+STATUS\s+REPLICAS\s+IMAGE\s+AGE$/)
      expect(dRow).toMatch(/^api\s+shop\s+Running\s+2\/2\s+nginx:1\s+\d+s$/)
      const json = JSON.parse((yield* helyos(["pods", "--json"], env)).stdout) as Array<{ deployment_name: string }>
      expect(json.map((p) => p.deployment_name)).toEqual(["api", "api"])
      expect((yield* helyos(["pods", "-p", "other"], env)).stdout).toBe("No pods.\n")
    })))

  it.scopedLive("scale, stop and rm act on the project given with -p (default: default)", () =>
    withApi(Effect.gen(function*() {
      const env = yield* connected
      yield* deployAndWait(env)
      const missing = yield* helyos(["scale", "api", "3"], env)
      expect([missing.code, missing.stderr]).toEqual([1, "error: deployment 'api' not found in project 'default'\n"])
      const scaled = yield* helyos(["scale", "api", "3", "-p", "shop"], env)
      expect([scaled.code, scaled.stdout]).toEqual([0, "deployment shop/api scaled to 3 replica(s)\n"])
      const stopped = yield* helyos(["stop", "api", "-p", "shop"], env)
      expect(stopped.code).toBe(0)
      expect(stopped.stdout).toMatch(/^deployment shop\/api stopped/)
      const refused = yield* helyos(["rm", "api", "-p", "shop"], env)
      expect(refused.code).toBe(1)
      expect(refused.stderr).toMatch(/pass -y/)
      expect(yield* (yield* Orchestrator).deployments("shop")).toHaveLength(1)
      const removed = yield* helyos(["rm", "api", "-p", "shop", "-y"], env)
      expect([removed.code, removed.stdout]).toEqual([0, "deployment shop/api removed\n"])
      expect(yield* (yield* Orchestrator).deployments("shop")).toEqual([])
    })))

  it.scopedLive("without -p a command uses the active context's project; -p still wins", () =>
    withApi(Effect.gen(function*() {
      const { url } = yield* ApiServer
      yield* deployAndWait(yield* connected)
      const config = path.join(tmp(), "config.toml")
      fs.writeFileSync(config, `current-context = "work"\n\n[context.work]\nserver = "${url}"\ntoken = "${TOKEN}"\nproject = "shop"\n`, { mode: 0o600 })
      const env = { HELYOS_CONFIG: config }
      const scaled = yield* helyos(["scale", "api", "3"], env)
      expect([scaled.code, scaled.stdout]).toEqual([0, "deployment shop/api scaled to 3 replica(s)\n"])
      const elsewhere = yield* helyos(["scale", "api", "1", "-p", "default"], env)
      expect([elsewhere.code, elsewhere.stderr]).toEqual([1, "error: deployment 'api' not found in project 'default'\n"])
    })))

  it.scopedLive("logs prints `<pod> <line>`; an unknown deployment is a one-line error", () =>
    withApi(Effect.gen(function*() {
      const env = yield* connected
      yield* deployAndWait(env, 1)
      const out = yield* helyos(["logs", "api", "-p", "shop", "--tail", "5"], env)
      expect(out.code).toBe(0)
      expect(out.stdout).toMatch(/^api-0 local [0-9a-f-]{6} line 1\napi-0 line 2\n$/)
      const missing = yield* helyos(["logs", "nope", "-p", "shop"], env)
      expect([missing.code, missing.stderr]).toEqual([1, "error: deployment 'nope' not found in project 'shop'\n"])
    })))
})

describe("helyos project and cluster config", () => {
  it.scopedLive("project create, list, suspend, resume and delete (-y; refused without it)", () =>
    withApi(Effect.gen(function*() {
      const env = yield* connected
      expect((yield* helyos(["project", "create", "web"], env)).stdout).toBe("project 'web' created\n")
      const again = yield* helyos(["project", "create", "web"], env)
      expect([again.code, again.stderr]).toEqual([1, "error: project 'web' already exists\n"])
      const [header, row] = (yield* helyos(["project", "list"], env)).stdout.trimEnd().split("\n")
      expect(header).toMatch(/^NAME\s+STATUS\s+AGE$/)
      expect(row).toMatch(/^web\s+active\s+\d+s$/)
      expect((yield* helyos(["project", "suspend", "web"], env)).code).toBe(0)
      const listed = JSON.parse((yield* helyos(["project", "list", "--json"], env)).stdout) as Array<{ status: string }>
      expect(listed.map((p) => p.status)).toEqual(["suspended"])
      expect((yield* helyos(["project", "resume", "web"], env)).code).toBe(0)
      expect((yield* helyos(["project", "delete", "web"], env)).stderr).toMatch(/pass -y/)
      expect((yield* helyos(["project", "delete", "web", "-y"], env)).stdout).toBe("project 'web' deleted\n")
    })))

  it.scopedLive("cluster config get-scheduler prints the documented format; set changes it or explains why not", () =>
    withApi(Effect.gen(function*() {
      const env = yield* connected
      expect((yield* helyos(["cluster", "config", "get-scheduler"], env)).stdout).toBe(
        "Scheduler configuration:\n  Strategy: spread\n  Weights:\n    cpu:     0.35\n    memory:  0.35\n    load:    0.15\n    failure: 0.15\n"
      )
      const binpack = yield* helyos(["cluster", "config", "set", "scheduler", "binpack"], env)
      expect(binpack.stdout).toContain("  Strategy: binpack\n")
      expect(binpack.stdout).toContain("    cpu:     -0.30\n")
      const custom = yield* helyos(["cluster", "config", "set", "scheduler.weights.cpu", "0.5"], env)
      expect(custom.stdout).toContain("  Strategy: custom\n")
      expect(custom.stdout).toContain("    cpu:     0.50\n")
      const bad = yield* helyos(["cluster", "config", "set", "scheduler", "roundrobin"], env)
      expect(bad.code).toBe(1)
      expect(bad.stderr).toBe("error: invalid value 'roundrobin' for scheduler: expected spread or binpack\n")
    })))
})
