// The CLI config file: what helyosd seeds, how saves protect the old file, and how a command
// picks its server and token (flag > env > context > default).
import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TOML from "smol-toml"
import {
  type CliConfig,
  DEFAULT_SERVER,
  parseConfig,
  readConfig,
  resolveConnection,
  resolveContext,
  seedLocalContext,
  writeConfig
} from "../../src/layers/CliConfigFile.js"

const TOKEN = `nxa-api_${"1".repeat(64)}`
const OTHER = `nxa-api_${"2".repeat(64)}`

const tempConfig = () => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "helyos-cfg-")), "nested", "config.toml")
const modeOf = (file: string) => fs.statSync(file).mode & 0o777
const tomlOf = (file: string) => TOML.parse(fs.readFileSync(file, "utf8"))

const PROD = `current-context = "prod"

[context.prod]
server = "https://prod.example:6443"
token = "${OTHER}"
project = "web"
# a comment the CLI will not keep
custom-key = "dropped"

[context.staging]
server = "https://staging.example:6443"
`

const config = (text: string): CliConfig => Either.getOrThrow(parseConfig(text)).config

describe("seedLocalContext", () => {
  it("creates the file (and its directory) with a current 'local' context, mode 0600", () => {
    const file = tempConfig()
    seedLocalContext({ path: file, server: "http://127.0.0.1:6443", token: TOKEN })
    expect(modeOf(file)).toBe(0o600)
    expect(tomlOf(file)).toEqual({
      "current-context": "local",
      context: { local: { server: "http://127.0.0.1:6443", token: TOKEN } }
    })
    expect(fs.readFileSync(file, "utf8")).toMatch(/^# Helyos CLI configuration/)
    expect(fs.existsSync(`${file}.bak`)).toBe(false)
  })

  it("keeps the other contexts, makes 'local' current, and saves the previous file as .bak (0600)", () => {
    const file = tempConfig()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, PROD, { mode: 0o644 })
    seedLocalContext({ path: file, server: "http://127.0.0.1:7000", token: TOKEN })
    const doc = tomlOf(file)
    expect(doc["current-context"]).toBe("local")
    expect(doc.context).toEqual({
      prod: { server: "https://prod.example:6443", token: OTHER, project: "web" },
      staging: { server: "https://staging.example:6443" },
      local: { server: "http://127.0.0.1:7000", token: TOKEN }
    })
    expect(modeOf(file)).toBe(0o600)
    expect(fs.readFileSync(`${file}.bak`, "utf8")).toBe(PROD)
    expect(modeOf(`${file}.bak`)).toBe(0o600)
    // the temp file was renamed, not left behind
    expect(fs.readdirSync(path.dirname(file)).sort()).toEqual(["config.toml", "config.toml.bak"])
  })

  it("updates an existing 'local' context in place, keeping its other keys", () => {
    const file = tempConfig()
    seedLocalContext({ path: file, server: "http://127.0.0.1:6443", token: OTHER })
    const withProject = config(fs.readFileSync(file, "utf8"))
    writeConfig(file, {
      ...withProject,
      contexts: new Map([["local", { ...withProject.contexts.get("local")!, project: "web" }]])
    })
    seedLocalContext({ path: file, server: "http://127.0.0.1:6443", token: TOKEN })
    expect(tomlOf(file).context).toEqual({ local: { server: "http://127.0.0.1:6443", token: TOKEN, project: "web" } })
  })

  it("refuses to overwrite a file that is not TOML, and leaves it untouched", () => {
    const file = tempConfig()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, "this is = = not toml")
    expect(() => seedLocalContext({ path: file, server: DEFAULT_SERVER, token: TOKEN })).toThrow(/not valid TOML/)
    expect(fs.readFileSync(file, "utf8")).toBe("this is = = not toml")
  })
})

describe("reading the config", () => {
  it("a missing file is no contexts and no warning", () => {
    expect(readConfig(tempConfig())).toEqual({ config: { currentContext: Option.none(), contexts: new Map() }, warnings: [] })
  })

  it("an invalid file reads as no contexts, with one warning naming the file", () => {
    const file = tempConfig()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, "[[[")
    const { config: read, warnings } = readConfig(file)
    expect(read.contexts.size).toBe(0)
    expect(warnings).toHaveLength(1)
    expect(warnings[0]).toContain(file)
  })

  it("a context without a server is skipped with a warning; the others are read", () => {
    const result = Either.getOrThrow(parseConfig(`[context.broken]\nproject = "x"\n\n[context.ok]\nserver = "http://a:1"\n`))
    expect([...result.config.contexts.keys()]).toEqual(["ok"])
    expect(result.warnings).toEqual(["context 'broken' is ignored: it needs a string 'server'"])
  })

  it("the legacy flat format is one context named 'default'", () => {
    const legacy = config(`server = "http://old:6443"\ntoken = "${TOKEN}"\n`)
    expect([...legacy.contexts.keys()]).toEqual(["default"])
    expect(Redacted.value(legacy.contexts.get("default")!.token!)).toBe(TOKEN)
  })

  it("tokens are held Redacted: printing a context never shows the secret", () => {
    const prod = config(PROD).contexts.get("prod")!
    expect(String(prod.token)).not.toContain(OTHER)
    expect(JSON.stringify(prod)).not.toContain(OTHER)
  })
})

describe("resolving server and token (flag > env > context > default)", () => {
  const prod = config(PROD)
  const flagToken = Redacted.make(`nxa-api_${"f".repeat(64)}`)
  const resolve = (flags: Parameters<typeof resolveConnection>[1], env: NodeJS.ProcessEnv = {}, from = prod) =>
    Either.getOrThrow(resolveConnection(from, flags, env))
  const token = (r: ReturnType<typeof resolve>) => Option.map(r.token, Redacted.value)

  it("the flag wins over the environment and the context", () => {
    const r = resolve({ server: "http://flag:1", token: flagToken }, { HELYOS_SERVER: "http://env:1", HELYOS_API_TOKEN: TOKEN })
    expect(r.server).toBe("http://flag:1")
    expect(token(r)).toEqual(Option.some(Redacted.value(flagToken)))
  })

  it("the environment wins over the context", () => {
    const r = resolve({}, { HELYOS_SERVER: "http://env:1", HELYOS_API_TOKEN: TOKEN })
    expect([r.server, token(r)]).toEqual(["http://env:1", Option.some(TOKEN)])
  })

  it("the active context supplies what flags and environment leave out, each value on its own", () => {
    const r = resolve({ server: "http://flag:1" })
    expect([r.server, token(r), r.context, r.project]).toEqual([
      "http://flag:1",
      Option.some(OTHER),
      Option.some("prod"),
      Option.some("web")
    ])
  })

  it("with nothing configured: the default server and no token", () => {
    const r = resolve({}, {}, config(""))
    expect([r.server, r.token, r.context]).toEqual([DEFAULT_SERVER, Option.none(), Option.none()])
    expect(DEFAULT_SERVER).toBe("http://127.0.0.1:6443")
  })

  it("empty flags and variables count as absent", () => {
    const r = resolve({ server: "" }, { HELYOS_SERVER: "", HELYOS_API_TOKEN: " " })
    expect([r.server, token(r)]).toEqual(["https://prod.example:6443", Option.some(OTHER)])
  })

  it("--context picks a context for one command; an unknown name is an error", () => {
    expect(resolve({ context: "staging" }).server).toBe("https://staging.example:6443")
    expect(resolveConnection(prod, { context: "nope" }, {})).toEqual(Either.left("no context named 'nope'"))
  })

  it("without current-context, a single context is used; with several, none is", () => {
    const single = config(`[context.only]\nserver = "http://only:1"\n`)
    expect(resolve({}, {}, single).server).toBe("http://only:1")
    const several = config(`[context.a]\nserver = "http://a:1"\n[context.b]\nserver = "http://b:1"\n`)
    expect(resolve({}, {}, several).server).toBe(DEFAULT_SERVER)
    const dangling = config(`current-context = "gone"\n[context.a]\nserver = "http://a:1"\n[context.b]\nserver = "http://b:1"\n`)
    expect(resolve({}, {}, dangling).context).toEqual(Option.none())
  })

  it("resolveContext reads HELYOS_CONFIG, so a seeded daemon is found with no flags at all", () => {
    const file = tempConfig()
    seedLocalContext({ path: file, server: "http://127.0.0.1:7443", token: TOKEN })
    const { connection, warnings } = resolveContext({ flags: {}, env: { HELYOS_CONFIG: file } })
    const r = Either.getOrThrow(connection)
    expect(warnings).toEqual([])
    expect([r.server, token(r), r.context]).toEqual(["http://127.0.0.1:7443", Option.some(TOKEN), Option.some("local")])
  })
})
