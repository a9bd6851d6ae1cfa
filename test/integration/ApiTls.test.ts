// The REST API's TLS material on a real data dir and a real HTTPS listener on 127.0.0.1 (port 0):
// files and permissions, SANs as a TLS client reads them, a stable CA across restarts, re-issue from
// the same CA when SANs change, /api/v1/ca against the served chain, and a brought certificate.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted, TestClock } from "effect"
import { createHash, X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as https from "node:https"
import * as os from "node:os"
import * as path from "node:path"
import * as tls from "node:tls"
import { apiTlsPaths, broughtMaterial, selfSignedMaterial } from "../../src/layers/security/ApiTlsFiles.js"
import { classifySans, generateCa, issueServerCertificate } from "../../src/layers/security/X509.js"
import { ApiServer } from "../../src/services/api/ApiServer.js"
import { ApiTls } from "../../src/services/security/ApiTls.js"
import { type ApiTlsSettings, DaemonConfig, defaults } from "../../src/services/DaemonConfig.js"
import { apiOn } from "../support/harness/ApiHarness.js"
import * as ApiTlsFiles from "../../src/layers/security/ApiTlsFiles.js"

const tempDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "helyos-apitls-"))

const modeOf = (file: string) => fs.statSync(file).mode & 0o777

/** The SANs a TLS client sees, in node's own words ("DNS:localhost", "IP Address:127.0.0.1"). */
const sanEntries = (pem: string) => new X509Certificate(pem).subjectAltName!.split(", ").sort()

// the documented rule: SHA-256 of the certificate (DER), as `openssl x509 -fingerprint -sha256` prints it
const sha256Colons = (pem: string) => createHash("sha256").update(new X509Certificate(pem).raw).digest("hex").match(/../g)!.join(":")

const material = (dir: string, names: ReadonlyArray<string>) => Effect.runPromise(selfSignedMaterial(dir, names))

const BASE_NAMES = ["localhost", "127.0.0.1", "::1"]

/** GET over HTTPS trusting only `ca` (none: the system roots). */
const httpsGet = (url: string, options: https.RequestOptions = {}) =>
  new Promise<{ status: number; body: unknown }>((resolve, reject) => {
    const request = https.get(url, { ...options, agent: false }, (response) => {
      let text = ""
      response.on("data", (chunk: Buffer) => (text += chunk.toString()))
      response.on("end", () => resolve({ status: response.statusCode ?? 0, body: text === "" ? undefined : JSON.parse(text) }))
    })
    request.on("error", reject)
  })

/** A TLS handshake against the listener: what the client verified and the chain it was shown. */
const handshake = (port: number, ca: string | undefined, servername: string) =>
  new Promise<{ authorized: boolean; error: string | undefined; issuer: string | undefined }>((resolve) => {
    const socket = tls.connect({ host: "127.0.0.1", port, servername, ...(ca === undefined ? {} : { ca }) })
    socket.once("secureConnect", () => {
      const peer = socket.getPeerCertificate(true)
      resolve({ authorized: socket.authorized, error: undefined, issuer: String(peer.issuerCertificate?.subject?.CN) })
      socket.destroy()
    })
    socket.once("error", (error: NodeJS.ErrnoException) => resolve({ authorized: false, error: error.code, issuer: undefined }))
  })

const daemonConfig = (dataDir: string, host: string, apiTls: Partial<ApiTlsSettings>, advertiseAddr?: string) =>
  DaemonConfig.layer({
    host,
    port: 0,
    grpcPort: 0,
    advertiseAddr: Option.fromNullable(advertiseAddr),
    dataDir,
    nodeName: "n1",
    apiTls: { ...defaults.apiTls, ...apiTls },
    cliConfigPath: path.join(dataDir, "unused.toml")
  })

describe("self-signed API TLS material", () => {
  it.live("the first HTTPS start writes CA and server files, keys 0600, with the expected SANs", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const files = apiTlsPaths(dir)
      const served = await material(dir, [...BASE_NAMES, "api.example.test", "10.1.2.3", "node-1"])
      expect(modeOf(files.caKey)).toBe(0o600)
      expect(modeOf(files.serverKey)).toBe(0o600)
      expect(modeOf(files.ca) & 0o022).toBe(0)
      expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([])
      const ca = new X509Certificate(fs.readFileSync(files.ca))
      const server = new X509Certificate(fs.readFileSync(files.server))
      expect(ca.ca).toBe(true)
      expect(server.ca).toBe(false)
      expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true)
      expect(sanEntries(fs.readFileSync(files.server, "utf8"))).toEqual([
        "DNS:api.example.test",
        "DNS:localhost",
        "DNS:node-1",
        "IP Address:0:0:0:0:0:0:0:1",
        "IP Address:10.1.2.3",
        "IP Address:127.0.0.1"
      ])
      // what /api/v1/ca hands out: the CA file's bytes and their SHA-256, lowercase with colons
      const caPem = fs.readFileSync(files.ca, "utf8")
      expect(Option.getOrThrow(served.ca)).toEqual({ pem: caPem, sha256: sha256Colons(caPem) })
      expect(Option.getOrThrow(served.ca).sha256).toMatch(/^([0-9a-f]{2}:){31}[0-9a-f]{2}$/)
      expect(served.scheme).toBe("https")
    }))

  it.live("a restart reuses the CA and the server certificate (the pinned fingerprint is stable)", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const first = await material(dir, [...BASE_NAMES, "node-1"])
      const serverBefore = fs.readFileSync(apiTlsPaths(dir).server, "utf8")
      const second = await material(dir, [...BASE_NAMES, "node-1"])
      expect(Option.getOrThrow(second.ca)).toEqual(Option.getOrThrow(first.ca))
      expect(fs.readFileSync(apiTlsPaths(dir).server, "utf8")).toBe(serverBefore)
    }))

  it.live("a new --tls-san re-issues the server certificate from the same CA", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const files = apiTlsPaths(dir)
      const first = await material(dir, [...BASE_NAMES, "node-1"])
      const serverBefore = fs.readFileSync(files.server, "utf8")
      const keyBefore = fs.readFileSync(files.serverKey, "utf8")
      const second = await material(dir, [...BASE_NAMES, "node-1", "new.example.test", "2001:db8::7"])
      expect(Option.getOrThrow(second.ca).sha256).toBe(Option.getOrThrow(first.ca).sha256)
      const serverAfter = fs.readFileSync(files.server, "utf8")
      expect(serverAfter).not.toBe(serverBefore)
      expect(fs.readFileSync(files.serverKey, "utf8")).not.toBe(keyBefore)
      expect(modeOf(files.serverKey)).toBe(0o600)
      expect(sanEntries(serverAfter)).toEqual(expect.arrayContaining([
        "DNS:new.example.test", "IP Address:2001:DB8:0:0:0:0:0:7", "DNS:node-1", "DNS:localhost"
      ]))
      const ca = new X509Certificate(fs.readFileSync(files.ca))
      expect(new X509Certificate(serverAfter).verify(ca.publicKey)).toBe(true)
      // the same names again: nothing is re-issued
      await material(dir, [...BASE_NAMES, "node-1", "new.example.test", "2001:db8::7"])
      expect(fs.readFileSync(files.server, "utf8")).toBe(serverAfter)
    }))

  it.effect("a server certificate within 30 days of expiry is re-issued at start-up from the same CA", () =>
    Effect.gen(function*() {
      const dir = tempDir()
      const files = apiTlsPaths(dir)
      yield* TestClock.setTime(Date.now())
      const first = yield* selfSignedMaterial(dir, BASE_NAMES)
      const before = fs.readFileSync(files.server, "utf8")
      yield* TestClock.adjust("690 days")
      yield* selfSignedMaterial(dir, BASE_NAMES)
      expect(fs.readFileSync(files.server, "utf8")).toBe(before)
      yield* TestClock.adjust("15 days")
      const renewed = yield* selfSignedMaterial(dir, BASE_NAMES)
      expect(fs.readFileSync(files.server, "utf8")).not.toBe(before)
      expect(Option.getOrThrow(renewed.ca).sha256).toBe(Option.getOrThrow(first.ca).sha256)
    }))

  it.live("a damaged server certificate is re-issued; a loose key file is tightened to 0600", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const files = apiTlsPaths(dir)
      const first = await material(dir, BASE_NAMES)
      fs.writeFileSync(files.server, "garbage")
      fs.chmodSync(files.caKey, 0o644)
      const second = await material(dir, BASE_NAMES)
      expect(Option.getOrThrow(second.ca).sha256).toBe(Option.getOrThrow(first.ca).sha256)
      expect(new X509Certificate(fs.readFileSync(files.server)).verify(new X509Certificate(fs.readFileSync(files.ca)).publicKey)).toBe(true)
      expect(modeOf(files.caKey)).toBe(0o600)
    }))

  it.live("a missing CA key or a corrupt CA is an error naming the file, never a silent new CA", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const files = apiTlsPaths(dir)
      await material(dir, BASE_NAMES)
      const caPem = fs.readFileSync(files.ca, "utf8")
      fs.rmSync(files.caKey)
      const failure = () => Effect.runPromise(Effect.flip(selfSignedMaterial(dir, BASE_NAMES)))
      expect((await failure()).message).toMatch(new RegExp(`^${files.caKey} is missing, so the CA in ${files.ca} cannot sign`))
      fs.writeFileSync(files.caKey, "not a key")
      expect((await failure()).message).toMatch(new RegExp(`^${files.caKey} is not a valid PEM private key`))
      expect(fs.readFileSync(files.ca, "utf8")).toBe(caPem)
    }))
})

describe("HTTPS listener and GET /api/v1/ca", () => {
  const selfSignedApi = (dir: string) => apiOn("single", undefined, Layer.effect(ApiTls, selfSignedMaterial(dir, BASE_NAMES)))

  it.scopedLive("/api/v1/ca's fingerprint is the SHA-256 of its certificate, and that CA verifies the served chain", () =>
    Effect.gen(function*() {
      const { port, url } = yield* ApiServer
      expect(url).toBe(`https://127.0.0.1:${port}`)
      const fetched = yield* Effect.promise(() => httpsGet(`${url}/api/v1/ca`, { rejectUnauthorized: false }))
      expect(fetched.status).toBe(200)
      const { pem, sha256 } = fetched.body as { pem: string; sha256: string }
      expect(sha256).toBe(sha256Colons(pem))
      const pinned = yield* Effect.promise(() => handshake(port, pem, "localhost"))
      expect(pinned).toMatchObject({ authorized: true, issuer: "Helyos API CA" })
      const byIp = yield* Effect.promise(() => httpsGet(`${url}/health`, { ca: pem }))
      expect(byIp).toEqual({ status: 200, body: { status: "ok" } })
      // without the CA (system roots only) the chain does not verify; a name outside the SANs fails too
      const unpinned = yield* Effect.promise(() => httpsGet(`${url}/health`).then(() => "ok", (e: NodeJS.ErrnoException) => e.code))
      expect(unpinned).toMatch(/CERT|SIGNED|ISSUER/)
      const otherName = yield* Effect.promise(() => httpsGet(`https://127.0.0.1:${port}/health`, { ca: pem, servername: "evil.example" })
        .then(() => "ok", (e: NodeJS.ErrnoException) => e.code))
      expect(otherName).toBe("ERR_TLS_CERT_ALTNAME_INVALID")
    }).pipe(Effect.provide(selfSignedApi(tempDir()))))

  it.scopedLive("plain HTTP: /api/v1/ca answers 404 with the documented body", () =>
    Effect.gen(function*() {
      const { url } = yield* ApiServer
      expect(url.startsWith("http://")).toBe(true)
      const response = yield* Effect.promise(() => fetch(`${url}/api/v1/ca`))
      expect(response.status).toBe(404)
      expect(yield* Effect.promise(() => response.json())).toEqual({ error: "no self-signed CA (TLS off or BYO cert)" })
    }).pipe(Effect.provide(apiOn("single"))))
})

describe("brought certificate (--tls-cert/--tls-key)", () => {
  /** A private CA and a certificate for localhost written as user files; the cert file holds the chain. */
  const userCertificate = async () => {
    const dir = tempDir()
    const ca = await Effect.runPromise(generateCa("Corp Root"))
    const leaf = await Effect.runPromise(issueServerCertificate(ca, "api.corp", classifySans(["localhost", "127.0.0.1"])))
    const certFile = path.join(dir, "fullchain.pem")
    const keyFile = path.join(dir, "privkey.pem")
    fs.writeFileSync(certFile, leaf.certPem + ca.certPem)
    fs.writeFileSync(keyFile, leaf.keyPem, { mode: 0o600 })
    return { dir, ca, certFile, keyFile }
  }

  it.scopedLive("is served as given and /api/v1/ca answers 404; nothing is written to the data dir", () =>
    Effect.gen(function*() {
      const user = yield* Effect.promise(userCertificate)
      const dataDir = tempDir()
      const tlsLayer = ApiTlsFiles.layer.pipe(
        Layer.provide(daemonConfig(dataDir, "127.0.0.1", { mode: "on", certFile: Option.some(user.certFile), keyFile: Option.some(user.keyFile) })))
      yield* Effect.gen(function*() {
        const { port, url } = yield* ApiServer
        const shown = yield* Effect.promise(() => handshake(port, user.ca.certPem, "localhost"))
        expect(shown).toMatchObject({ authorized: true, issuer: "Corp Root" })
        const ca = yield* Effect.promise(() => httpsGet(`${url}/api/v1/ca`, { ca: user.ca.certPem }))
        expect(ca).toEqual({ status: 404, body: { error: "no self-signed CA (TLS off or BYO cert)" } })
      }).pipe(Effect.provide(apiOn("single", undefined, tlsLayer)))
      expect(fs.readdirSync(dataDir)).toEqual([])
    }))

  it.live("a key that does not match, an unreadable file or a non-PEM file is an error naming the file", () =>
    Effect.promise(async () => {
      const user = await userCertificate()
      const other = await userCertificate()
      const message = async (effect: ReturnType<typeof broughtMaterial>) => (await Effect.runPromise(Effect.flip(effect))).message
      expect(await message(broughtMaterial(user.certFile, other.keyFile)))
        .toBe(`--tls-key ${other.keyFile} does not match the certificate in --tls-cert ${user.certFile}`)
      expect(await message(broughtMaterial(path.join(user.dir, "nope.pem"), user.keyFile)))
        .toBe(`--tls-cert ${path.join(user.dir, "nope.pem")}: cannot read it (ENOENT)`)
      const junk = path.join(user.dir, "junk.pem")
      fs.writeFileSync(junk, "hello")
      expect(await message(broughtMaterial(junk, user.keyFile))).toMatch(new RegExp(`^--tls-cert ${junk} is not a valid PEM certificate`))
      expect(await message(broughtMaterial(user.certFile, junk))).toMatch(new RegExp(`^--tls-key ${junk} is not a valid unencrypted PEM private key`))
    }))
})

describe("resolution from the daemon config", () => {
  const resolve = (dataDir: string, host: string, apiTls: Partial<ApiTlsSettings>, advertiseAddr?: string) =>
    Effect.runPromise(Effect.provide(ApiTls, ApiTlsFiles.layer.pipe(Layer.provide(daemonConfig(dataDir, host, apiTls, advertiseAddr)))))

  it.live("loopback under auto is plain HTTP and writes nothing", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const resolved = await resolve(dir, "127.0.0.1", {})
      expect(resolved.scheme).toBe("http")
      expect(Option.isNone(resolved.certificate) && Option.isNone(resolved.ca)).toBe(true)
      expect(fs.readdirSync(dir)).toEqual([])
    }))

  it.live("--tls on names the bind host, --advertise-addr, each --tls-san and the hostname", () =>
    Effect.promise(async () => {
      const dir = tempDir()
      const resolved = await resolve(dir, "127.0.0.2", { mode: "on", sans: ["extra.example.test"] }, "203.0.113.7")
      expect(resolved.scheme).toBe("https")
      const entries = sanEntries(fs.readFileSync(apiTlsPaths(dir).server, "utf8"))
      const hostname = os.hostname().toLowerCase()
      expect(entries).toEqual(expect.arrayContaining([
        "DNS:localhost", "IP Address:127.0.0.1", "IP Address:127.0.0.2", "IP Address:203.0.113.7",
        "DNS:extra.example.test", ...(/^[a-z0-9.-]+$/.test(hostname) ? [`DNS:${hostname}`] : [])
      ]))
      const key = Redacted.value(Option.getOrThrow(resolved.certificate).keyPem)
      expect(key).toBe(fs.readFileSync(apiTlsPaths(dir).serverKey, "utf8"))
    }))
})
