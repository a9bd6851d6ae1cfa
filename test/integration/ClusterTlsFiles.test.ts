// The master's cluster TLS material on a real data dir: what is written (and with which modes), what
// the server certificate names, reuse across restarts, and re-issuing from the same CA.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { X509Certificate } from "node:crypto"
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { pemFingerprint } from "../../src/domain/Fingerprint.js"
import { caFingerprint, CLUSTER_CA_FILE } from "../../src/layers/security/ClusterCa.js"
import {
  CLUSTER_CA_KEY_FILE,
  CLUSTER_SERVER_FILE,
  CLUSTER_SERVER_KEY_FILE,
  clusterSans,
  loadOrCreateClusterTls
} from "../../src/layers/security/ClusterTlsFiles.js"
import { sansOf } from "../../src/layers/security/X509.js"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(path.join(os.tmpdir(), "helyos-cluster-tls-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

const read = (dir: string, file: string) => readFileSync(path.join(dir, file), "utf8")
const modeOf = (dir: string, file: string) => statSync(path.join(dir, file)).mode & 0o777

describe("ClusterTlsFiles", () => {
  it.scoped("first start writes the CA and a server certificate signed by it; keys are 0600", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const tls = yield* loadOrCreateClusterTls(dir, clusterSans("10.0.1.1", ["203.0.113.7:6444", "master.example"], "host-a"))
      expect(readdirSync(dir).sort()).toEqual([CLUSTER_CA_KEY_FILE, CLUSTER_CA_FILE, CLUSTER_SERVER_KEY_FILE, CLUSTER_SERVER_FILE].sort())
      expect(modeOf(dir, CLUSTER_CA_KEY_FILE)).toBe(0o600)
      expect(modeOf(dir, CLUSTER_SERVER_KEY_FILE)).toBe(0o600)

      const ca = new X509Certificate(read(dir, CLUSTER_CA_FILE))
      const server = new X509Certificate(read(dir, CLUSTER_SERVER_FILE))
      expect(ca.ca).toBe(true)
      expect(server.ca).toBe(false)
      expect(server.checkIssued(ca) && server.verify(ca.publicKey)).toBe(true)
      expect(sansOf(server.toString())).toEqual({
        dns: ["host-a", "localhost", "master.example"],
        ips: ["10.0.1.1", "127.0.0.1", "203.0.113.7"]
      })
      // what the gRPC server presents: its certificate, then the CA
      expect(tls.serverChainPem).toBe(read(dir, CLUSTER_SERVER_FILE).trimEnd() + "\n" + read(dir, CLUSTER_CA_FILE))
      expect(Redacted.value(tls.serverKeyPem)).toBe(read(dir, CLUSTER_SERVER_KEY_FILE))
      // the fingerprint workers pin: the SHA-256 of the CA PEM, as printed in the join command
      expect(tls.fingerprint).toBe(`sha256:${pemFingerprint(read(dir, CLUSTER_CA_FILE)).replace(/:/g, "")}`)
      expect(String(tls.serverKeyPem)).toBe("<redacted>")
    }))

  it.scoped("a wildcard bind host is not a SAN", () =>
    Effect.sync(() => {
      expect(clusterSans("0.0.0.0", [], "h")).toEqual({ dns: ["h", "localhost"], ips: ["127.0.0.1"] })
      expect(clusterSans("::", ["[2001:db8::1]:6444"], "h")).toEqual({ dns: ["h", "localhost"], ips: ["127.0.0.1", "2001:db8::1"] })
    }))

  it.scoped("a restart reuses everything: same CA, same fingerprint, same server certificate", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sans = clusterSans("127.0.0.1", [], "host-a")
      const first = yield* loadOrCreateClusterTls(dir, sans)
      const files = () => readdirSync(dir).sort().map((f) => read(dir, f))
      const before = files()
      const second = yield* loadOrCreateClusterTls(dir, sans)
      expect(second.fingerprint).toBe(first.fingerprint)
      expect(second.serverChainPem).toBe(first.serverChainPem)
      expect(files()).toEqual(before)
    }))

  it.scoped("new SANs re-issue the server certificate from the same CA: pinned workers keep working", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const first = yield* loadOrCreateClusterTls(dir, clusterSans("127.0.0.1", [], "host-a"))
      const caBefore = read(dir, CLUSTER_CA_FILE)
      const serverBefore = read(dir, CLUSTER_SERVER_FILE)
      const second = yield* loadOrCreateClusterTls(dir, clusterSans("127.0.0.1", ["10.9.9.9"], "host-a"))
      expect(read(dir, CLUSTER_CA_FILE)).toBe(caBefore)
      expect(second.fingerprint).toBe(first.fingerprint)
      const server = read(dir, CLUSTER_SERVER_FILE)
      expect(server).not.toBe(serverBefore)
      expect(sansOf(server).ips).toContain("10.9.9.9")
      expect(new X509Certificate(server).checkIssued(new X509Certificate(caBefore))).toBe(true)
      expect(modeOf(dir, CLUSTER_SERVER_KEY_FILE)).toBe(0o600)
    }))

  it.scoped("a loosened key file is tightened back to 0600; a CA PEM with CRLF line ends keeps its fingerprint", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const sans = clusterSans("127.0.0.1", [], "host-a")
      const first = yield* loadOrCreateClusterTls(dir, sans)
      const caFile = path.join(dir, CLUSTER_CA_FILE)
      writeFileSync(caFile, read(dir, CLUSTER_CA_FILE).replace(/\n/g, "\r\n"))
      chmodSync(path.join(dir, CLUSTER_CA_KEY_FILE), 0o644)
      const second = yield* loadOrCreateClusterTls(dir, sans)
      expect(second.fingerprint).toBe(first.fingerprint)
      expect(caFingerprint(readFileSync(caFile, "utf8"))).toBe(first.fingerprint)
      expect(modeOf(dir, CLUSTER_CA_KEY_FILE)).toBe(0o600)
    }))
})
