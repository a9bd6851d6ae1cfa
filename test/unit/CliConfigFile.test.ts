// The CLI config file: what helyosd seeds, how saves protect the old file, and how a command
// picks its server and token (flag > env > context > default).
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as TOML from "smol-toml"
import {
  type CliConfig,
  contextNameFor,
  contextNameProblem,
  DEFAULT_SERVER,
  encodeCa,
  normalizeServer,
  parseConfig,
  resolveConnection,
  tlsMode
} from "../../src/domain/CliContext.js"
import { pemFingerprint as caFingerprint, pemFingerprint } from "../../src/domain/Fingerprint.js"
import { loadConfigForUpdate, readConfig, resolveContext, seedLocalContext, writeConfig } from "../../src/programs/cli/ConfigFile.js"
import { generateCa } from "../../src/layers/security/X509.js"

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
custom-key = "kept"

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
      prod: { server: "https://prod.example:6443", token: OTHER, project: "web", "custom-key": "kept" },
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
    expect(result.warnings).toEqual(["context 'broken' is ignored: it needs a string 'server' (and known keys of the right type)"])
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

describe("rewriting keeps what the CLI does not understand", () => {
  const CUSTOM = `# my settings
current-context = "prod"
colour = "always"

[context.prod]
server = "https://prod.example:6443"
token = "${OTHER}"
alias = "p"
labels = { team = "web", tier = 1 }

[context.typo]
srever = "https://typo.example:6443"

[plugins.audit]
enabled = true
paths = ["/a", "/b"]
`

  it("unknown top-level keys, sections, per-context keys and invalid contexts survive a save", () => {
    const file = tempConfig()
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, CUSTOM)
    const read = Either.getOrThrow(loadConfigForUpdate(file))
    const contexts = new Map(read.contexts)
    contexts.set("prod", { ...contexts.get("prod")!, project: "api" })
    contexts.set("new", { server: "http://new:1" })
    writeConfig(file, { ...read, contexts, currentContext: Option.some("new") })
    expect(tomlOf(file)).toEqual({
      "current-context": "new",
      colour: "always",
      context: {
        prod: { server: "https://prod.example:6443", token: OTHER, project: "api", alias: "p", labels: { team: "web", tier: 1 } },
        typo: { srever: "https://typo.example:6443" },
        new: { server: "http://new:1" }
      },
      plugins: { audit: { enabled: true, paths: ["/a", "/b"] } }
    })
    expect(fs.readFileSync(file, "utf8")).toMatch(/^# Helyos CLI configuration/)
    expect(fs.readFileSync(`${file}.bak`, "utf8")).toBe(CUSTOM)
    expect([modeOf(file), modeOf(`${file}.bak`)]).toEqual([0o600, 0o600])
  })

  it("a removed known key is gone, an unknown one stays (logout drops the token, keeps the rest)", () => {
    const read = config(CUSTOM)
    const { token: _token, ...prod } = read.contexts.get("prod")!
    const text = (() => {
      const contexts = new Map(read.contexts)
      contexts.set("prod", prod)
      const file = tempConfig()
      writeConfig(file, { ...read, contexts })
      return fs.readFileSync(file, "utf8")
    })()
    expect(text).not.toContain(OTHER)
    expect(text).toContain('alias = "p"')
  })

  it("the legacy flat file is rewritten as context 'default', keeping its unknown keys at the top", () => {
    const legacy = config(`server = "http://old:6443"\ntoken = "${TOKEN}"\neditor = "vim"\n`)
    const file = tempConfig()
    writeConfig(file, legacy)
    expect(tomlOf(file)).toEqual({ editor: "vim", context: { default: { server: "http://old:6443", token: TOKEN } } })
  })

  it("an update refuses a file that is not TOML (saving would lose it); a missing file is empty", () => {
    const file = tempConfig()
    expect(loadConfigForUpdate(file)).toEqual(Either.right({ currentContext: Option.none(), contexts: new Map() }))
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, "[[[")
    expect(Either.isLeft(loadConfigForUpdate(file))).toBe(true)
  })
})

describe("seedLocalContext for an HTTPS daemon", () => {
  const ca = { pem: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", sha256: "ab:cd" }

  it("pins the daemon's CA in 'local'; a later seed without a CA drops the old pin and keeps the project", () => {
    const file = tempConfig()
    seedLocalContext({ path: file, server: "https://127.0.0.1:6443", token: TOKEN, ca })
    expect(tomlOf(file).context).toEqual({
      local: { server: "https://127.0.0.1:6443", token: TOKEN, ca: encodeCa(ca.pem), "ca-sha256": "ab:cd" }
    })
    const read = config(fs.readFileSync(file, "utf8"))
    writeConfig(file, { ...read, contexts: new Map([["local", { ...read.contexts.get("local")!, project: "web" }]]) })
    seedLocalContext({ path: file, server: "http://127.0.0.1:6443", token: TOKEN })
    expect(tomlOf(file).context).toEqual({ local: { server: "http://127.0.0.1:6443", token: TOKEN, project: "web" } })
  })
})

describe("server URLs and context names", () => {
  it("a bare host gets https:// and :6443; explicit schemes and ports are kept", () => {
    expect(normalizeServer("cluster.example.com")).toEqual(Either.right("https://cluster.example.com:6443"))
    expect(normalizeServer("cluster.example.com:7443")).toEqual(Either.right("https://cluster.example.com:7443"))
    expect(normalizeServer("http://127.0.0.1")).toEqual(Either.right("http://127.0.0.1:6443"))
    expect(normalizeServer("https://h:443/")).toEqual(Either.right("https://h"))
    expect(normalizeServer("[::1]:9000")).toEqual(Either.right("https://[::1]:9000"))
    expect(normalizeServer(" HTTPS://Host.Example ")).toEqual(Either.right("https://host.example:6443"))
  })

  it("paths, queries, credentials and other schemes are refused", () => {
    for (const bad of ["https://h/api", "h?x=1", "https://u:p@h", "ftp://h", "", "https://"]) {
      expect([bad, Either.isLeft(normalizeServer(bad))]).toEqual([bad, true])
    }
  })

  it("the context name comes from the host, with -2, -3 on collision; the same server reuses its context", () => {
    const none = new Map()
    expect(contextNameFor("https://helyos.acme.internal:6443", none)).toBe("helyos-acme-internal")
    expect(contextNameFor("https://[::1]:6443", none)).toBe("1")
    expect(contextNameFor("https://127.0.0.1:6443", none)).toBe("127-0-0-1")
    const taken = new Map([
      ["helyos-acme-internal", { server: "https://helyos.acme.internal:7000" }],
      ["helyos-acme-internal-2", { server: "https://helyos.acme.internal:7001" }]
    ])
    expect(contextNameFor("https://helyos.acme.internal:6443", taken)).toBe("helyos-acme-internal-3")
    expect(contextNameFor("https://helyos.acme.internal:7001", taken)).toBe("helyos-acme-internal-2")
  })

  it("context names are TOML- and shell-friendly", () => {
    expect(contextNameProblem("prod-eu.1")).toBeUndefined()
    expect(contextNameProblem("-x")).toBeDefined()
    expect(contextNameProblem("a b")).toBeDefined()
    expect(contextNameProblem("x".repeat(64))).toBeDefined()
  })

  it("tls mode: http, insecure, pinned or system", () => {
    expect(tlsMode({ server: "http://a:1", ca: "x" })).toBe("http")
    expect(tlsMode({ server: "https://a:1", insecure: true, ca: "x" })).toBe("insecure")
    expect(tlsMode({ server: "https://a:1", ca: "x" })).toBe("pinned")
    expect(tlsMode({ server: "https://a:1" })).toBe("system")
  })
})

describe("TLS trust comes from the active context only", () => {
  const pinned = config(`current-context = "prod"
[context.prod]
server = "https://prod.example:6443"
ca = "${encodeCa("PEM")}"
ca-sha256 = "ab"
[context.lab]
server = "https://lab:6443"
insecure = true
`)

  it("the pinned CA applies even when --server or HELYOS_SERVER picks the URL; insecure and system otherwise", () => {
    const r = Either.getOrThrow(resolveConnection(pinned, { server: "https://elsewhere:1" }, { HELYOS_SERVER: "https://env:1" }))
    expect(r.trust).toEqual({ _tag: "Pinned", pem: "PEM", sha256: Option.some("ab") })
    expect(Either.getOrThrow(resolveConnection(pinned, { context: "lab" }, {})).trust).toEqual({ _tag: "Insecure" })
    expect(Either.getOrThrow(resolveConnection(config(""), {}, {})).trust).toEqual({ _tag: "System" })
  })

  it.effect("the CLI's CA fingerprint is the daemon's (SHA-256 of the certificate, colon hex)", () =>
    Effect.gen(function*() {
      const ca = yield* generateCa("fingerprint test")
      expect(caFingerprint(ca.certPem)).toBe(pemFingerprint(ca.certPem))
      expect(caFingerprint(ca.certPem)).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
    }))
})
