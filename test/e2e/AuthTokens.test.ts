// e2e: the API-token guide as a user types it — a real helyosd and the real `helyos` CLI on 127.0.0.1:
// whoami, auth token create/ls/revoke, a read token refused on mutations, a revoked token refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Master, startMaster } from "../support/process/Cluster.js"
import { runCli } from "../support/process/Processes.js"

let master: Master

beforeAll(async () => {
  master = await startMaster()
}, 60_000)

afterAll(async () => {
  await master?.proc.kill("SIGTERM")
})

/** `helyos args…` against the master, as the token's holder. */
const helyos = (args: ReadonlyArray<string>, token = master.env.HELYOS_API_TOKEN!) =>
  runCli(args, { ...master.env, HELYOS_API_TOKEN: token, NO_COLOR: "1" })

const TOKEN_LINE = /^ {2}(nxa-api_[0-9a-f]{64})$/m

/** Each test runs several CLI processes: allow for a busy machine (no test fails on speed). */
const CLI_TEST_TIMEOUT = 180_000

describe("helyos auth token / whoami (real processes)", () => {
  it("whoami names the daemon's own token: legacy-default, admin", async () => {
    const result = await helyos(["whoami"])
    expect(result.code).toBe(0)
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines.slice(0, 2)).toEqual(["name:  legacy-default", "scope: admin"])
    expect(lines.slice(2).every((l) => /^last used: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(l))).toBe(true)
  }, CLI_TEST_TIMEOUT)

  it("create prints the token once with the login hint; the token works at once, with its scope and expiry", async () => {
    const created = await helyos(["auth", "token", "create", "ci-runner", "--scope", "read", "--ttl", "30d"])
    expect(created.code, created.stderr).toBe(0)
    const token = TOKEN_LINE.exec(created.stdout)?.[1]
    expect(token).toBeDefined()
    const lines = created.stdout.trimEnd().split("\n")
    expect(lines[0]).toBe("✓ Created API token 'ci-runner'")
    expect(lines[2]).toBe("Token (shown once — save it now):")
    expect(lines[5]).toBe("Use it from another machine with:")
    expect(lines[6]).toBe(`  helyos login ${master.env.HELYOS_SERVER} --token ${token}`)

    const me = await helyos(["whoami"], token!)
    expect(me.code).toBe(0)
    expect(me.stdout).toMatch(/^name: {2}ci-runner\nscope: read\nexpires: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\n/)
    const json = await helyos(["whoami", "--json"], token!)
    const expires = Date.parse((JSON.parse(json.stdout) as { expires_at: string }).expires_at)
    expect(expires - Date.now()).toBeGreaterThan(29 * 86_400_000)

    // a read token lists, but may not mint
    expect((await helyos(["auth", "token", "ls"], token!)).code).toBe(0)
    const refused = await helyos(["auth", "token", "create", "escalate"], token!)
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim()).toBe("error: token 'ci-runner' has read scope; this request needs admin")
  }, CLI_TEST_TIMEOUT)

  it("ls shows the documented columns, and --json the metadata without any secret", async () => {
    const table = await helyos(["auth", "token", "ls"])
    expect(table.code).toBe(0)
    const [header, ...rows] = table.stdout.trimEnd().split("\n")
    expect(header).toMatch(/^NAME\s+SCOPE\s+EXPIRES\s+LAST USED\s+REVOKED$/)
    expect(rows.find((r) => r.startsWith("legacy-default"))).toMatch(/^legacy-default\s+admin\s+never\s+\S+\s+no$/)
    expect(rows.find((r) => r.startsWith("ci-runner"))).toMatch(/^ci-runner\s+read\s+\S+Z\s+\S+\s+no$/)
    const json = await helyos(["auth", "token", "list", "--json"])
    const tokens = JSON.parse(json.stdout) as Array<Record<string, unknown>>
    expect(tokens.map((t) => t.name)).toEqual(["legacy-default", "ci-runner"])
    expect(json.stdout).not.toMatch(/nxa-api_/)
  }, CLI_TEST_TIMEOUT)

  it("revoke refuses the token at once; revoking again says so; the name can be reused", async () => {
    const created = await helyos(["auth", "token", "create", "temp"])
    const token = TOKEN_LINE.exec(created.stdout)![1]!
    expect((await helyos(["whoami"], token)).code).toBe(0)
    const revoked = await helyos(["auth", "token", "revoke", "temp"])
    expect(revoked.code).toBe(0)
    expect(revoked.stdout.trim()).toBe("API token 'temp' revoked")
    const refused = await helyos(["whoami"], token)
    expect(refused.code).toBe(1)
    expect(refused.stderr.trim()).toBe("error: missing or invalid bearer token")
    const again = await helyos(["auth", "token", "revoke", "temp"])
    expect(again.code).toBe(1)
    expect(again.stderr.trim()).toBe("error: no active API token named 'temp'")
    const reused = await helyos(["auth", "token", "create", "temp", "--json"])
    expect(reused.code).toBe(0)
    expect(JSON.parse(reused.stdout)).toMatchObject({ name: "temp", scope: "admin", expires_at: null })
    const ls = await helyos(["auth", "token", "ls"])
    expect(ls.stdout.split("\n").filter((r) => r.startsWith("temp")).map((r) => r.trim().split(/\s+/).at(-1))).toEqual(["yes", "no"])
  }, CLI_TEST_TIMEOUT)

  it("bad input is one readable line and exit code 1", async () => {
    const badTtl = await helyos(["auth", "token", "create", "x", "--ttl", "soon"])
    expect(badTtl.code).not.toBe(0)
    expect(badTtl.stdout + badTtl.stderr).toMatch(/"soon" is not a duration/)
    const badName = await helyos(["auth", "token", "create", "Not_A_Name"])
    expect(badName.code).toBe(1)
    expect(badName.stderr).toMatch(/^error: invalid name 'Not_A_Name': /)
    const taken = await helyos(["auth", "token", "create", "ci-runner"])
    expect(taken.code).toBe(1)
    expect(taken.stderr.trim()).toBe("error: an active API token named 'ci-runner' already exists (revoke it first)")
  }, CLI_TEST_TIMEOUT)
})
