// The master's cluster TLS material in --data-dir: grpc-ca.pem / grpc-ca-key.pem (made once, reused
// forever: workers pin its fingerprint) and grpc-server.pem / grpc-server-key.pem (re-issued from the
// same CA when the wanted SANs change or it nears expiry). Key files are 0600; every write is atomic.
import { Clock, Effect, Layer, Redacted } from "effect"
import { X509Certificate } from "node:crypto"
import * as os from "node:os"
import * as path from "node:path"
import { isWildcardHost } from "../../domain/ApiTlsPolicy.js"
import { ClusterTls } from "../../services/security/ClusterTls.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { writeFileAtomic } from "./AtomicFile.js"
import { caFingerprint, canonicalCertPem, CLUSTER_CA_FILE } from "./ClusterCa.js"
import { keepPrivate, readIfPresent } from "./PemFiles.js"
import { ensurePrivateDir } from "../state/DataDir.js"
import {
  type CertifiedKey,
  classifySans,
  generateCa,
  issueServerCertificate,
  serverCertificateProblem,
  type SubjectAltNames
} from "./X509.js"

export const CLUSTER_CA_KEY_FILE = "grpc-ca-key.pem"
export const CLUSTER_SERVER_FILE = "grpc-server.pem"
export const CLUSTER_SERVER_KEY_FILE = "grpc-server-key.pem"

/** An --advertise-addr may carry a port ("10.0.1.1:6444"); a SAN is only the host. */
const hostOnly = (address: string) => {
  const bracketed = /^\[(.*)\](?::\d+)?$/.exec(address)
  if (bracketed) return bracketed[1]!
  return (address.match(/:/g) ?? []).length === 1 ? address.replace(/:\d+$/, "") : address
}

/** localhost, 127.0.0.1, the bind host unless a wildcard, --advertise-addr and the hostname. */
export const clusterSans = (host: string, advertiseAddr: ReadonlyArray<string>, hostname = os.hostname()): SubjectAltNames =>
  classifySans([
    "localhost",
    "127.0.0.1",
    ...(isWildcardHost(host) ? [] : [host]),
    ...advertiseAddr.map(hostOnly),
    hostname
  ])

/** The CA in `dir`, or a new one (written) when it is missing or unreadable. */
const loadOrCreateCa = (dir: string) =>
  Effect.gen(function*() {
    const caFile = path.join(dir, CLUSTER_CA_FILE)
    const keyFile = path.join(dir, CLUSTER_CA_KEY_FILE)
    const certPem = readIfPresent(caFile)
    const keyPem = readIfPresent(keyFile)
    if (certPem !== undefined && keyPem !== undefined) {
      const usable = yield* Effect.try(() => new X509Certificate(certPem).ca).pipe(Effect.orElseSucceed(() => false))
      if (usable) {
        // tighten a key file someone loosened
        keepPrivate(keyFile)
        return { ca: { certPem: canonicalCertPem(certPem), keyPem }, created: false }
      }
    }
    if (certPem !== undefined || keyPem !== undefined) {
      yield* Effect.logWarning(
        `cluster CA in ${dir} is incomplete or unreadable: generating a new one (workers must be given the new fingerprint)`
      )
    }
    const ca = yield* generateCa("Helyos cluster CA")
    // key first: a crash in between leaves no CA certificate without its key
    writeFileAtomic(keyFile, ca.keyPem, 0o600)
    writeFileAtomic(caFile, ca.certPem, 0o644)
    return { ca, created: true }
  })

/** Load (or make) the CA and a server certificate for `sans` in `dir`. */
export const loadOrCreateClusterTls = (dir: string, sans: SubjectAltNames) =>
  Effect.gen(function*() {
    ensurePrivateDir(dir)
    const { ca, created } = yield* loadOrCreateCa(dir)
    const serverFile = path.join(dir, CLUSTER_SERVER_FILE)
    const serverKeyFile = path.join(dir, CLUSTER_SERVER_KEY_FILE)
    const now = yield* Clock.currentTimeMillis
    const existing = readIfPresent(serverFile)
    const existingKey = readIfPresent(serverKeyFile)
    let server: CertifiedKey
    if (
      !created && existing !== undefined && existingKey !== undefined &&
      serverCertificateProblem(ca, { certPem: existing, keyPem: existingKey }, sans, now) === undefined
    ) {
      server = { certPem: existing, keyPem: existingKey }
    } else {
      server = yield* issueServerCertificate(ca, "helyos-master", sans)
      writeFileAtomic(serverKeyFile, server.keyPem, 0o600)
      writeFileAtomic(serverFile, server.certPem, 0o644)
      if (existing !== undefined) {
        yield* Effect.logInfo(`cluster server certificate re-issued from the same CA (SANs: ${[...sans.dns, ...sans.ips].join(", ")})`)
      }
    }
    return ClusterTls.of({
      caPem: ca.certPem,
      fingerprint: caFingerprint(ca.certPem),
      serverChainPem: server.certPem.trimEnd() + "\n" + ca.certPem,
      serverKeyPem: Redacted.make(server.keyPem)
    })
  })

/** ClusterTls from the master's --data-dir, for its bind host and --advertise-addr. */
export const layer = Layer.effect(
  ClusterTls,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const advertise = config.advertiseAddr._tag === "Some" ? [config.advertiseAddr.value] : []
    return yield* loadOrCreateClusterTls(config.dataDir, clusterSans(config.host, advertise))
  })
)

/** ClusterTls kept in `dir` for these SANs (tests: a temp dir; the daemon uses layer). */
export const layerWith = (dir: string, sans: SubjectAltNames = clusterSans("127.0.0.1", [])) =>
  Layer.effect(ClusterTls, loadOrCreateClusterTls(dir, sans))
