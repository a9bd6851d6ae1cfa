// The REST API's TLS material: a brought certificate (--tls-cert/--tls-key), or a self-signed CA and a
// server certificate kept in --data-dir (http-ca.pem, http-ca-key.pem, http-server.pem,
// http-server-key.pem). The CA is made once and reused, so the fingerprint clients pinned stays valid;
// the server certificate is re-issued from it whenever the wanted SANs (or its validity) change.
import { Clock, Effect, Layer, Option, Redacted } from "effect"
import { createPrivateKey, X509Certificate } from "node:crypto"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { apiScheme, wantedSans } from "../../domain/ApiTlsPolicy.js"
import { pemFingerprint } from "../../domain/Fingerprint.js"
import { ApiTls, ApiTlsMaterialError, plainHttp } from "../../services/security/ApiTls.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { writeFileAtomic } from "./AtomicFile.js"
import { keepPrivate, readIfPresent } from "./PemFiles.js"
import { ensurePrivateDir } from "../state/DataDir.js"
import {
  type CertifiedKey,
  classifySans,
  generateCa,
  issueServerCertificate,
  serverCertificateProblem
} from "./X509.js"

/** Where the self-signed material lives in the data dir. */
export const apiTlsPaths = (dataDir: string) => ({
  ca: path.join(dataDir, "http-ca.pem"),
  caKey: path.join(dataDir, "http-ca-key.pem"),
  server: path.join(dataDir, "http-server.pem"),
  serverKey: path.join(dataDir, "http-server-key.pem")
})

const fail = (message: string) => new ApiTlsMaterialError({ message })

const reason = (error: unknown) =>
  error instanceof Error ? ("code" in error && typeof error.code === "string" ? error.code : error.message) : String(error)

/** The file's text, or none when it does not exist. */
const readOptional = (file: string) =>
  Effect.try({
    try: () => Option.fromNullable(readIfPresent(file)),
    catch: (error) => fail(`cannot read ${file}: ${reason(error)}`)
  })

const readRequired = (flag: string, file: string) =>
  Effect.try({ try: () => fs.readFileSync(file, "utf8"), catch: (error) => fail(`${flag} ${file}: cannot read it (${reason(error)})`) })

/** Write through a temp file and a rename, so a crash never leaves half a key behind. */
const writeAtomically = (file: string, content: string, mode: number) =>
  Effect.try({
    try: () => writeFileAtomic(file, content, mode),
    catch: (error) => fail(`cannot write ${file}: ${reason(error)}`)
  })

/** Key files are private; an older or hand-copied one with looser permissions is tightened. */
const keepKeyPrivate = (file: string) =>
  Effect.try({
    try: () => keepPrivate(file),
    catch: (error) => fail(`cannot restrict the permissions of ${file}: ${reason(error)}`)
  })

const parseCertificate = (pem: string) => Effect.try({ try: () => new X509Certificate(pem), catch: (e) => e })
const parseKey = (pem: string) => Effect.try({ try: () => createPrivateKey(pem), catch: (e) => e })

/** The CA on disk, checked; none when neither file exists yet. A broken CA is an error, never silently replaced. */
const loadCa = (files: ReturnType<typeof apiTlsPaths>) =>
  Effect.gen(function*() {
    const certPem = yield* readOptional(files.ca)
    const keyPem = yield* readOptional(files.caKey)
    if (Option.isNone(certPem) && Option.isNone(keyPem)) return Option.none<CertifiedKey>()
    const replace = `delete both CA files to create a new CA (clients must then re-pin)`
    if (Option.isNone(keyPem)) return yield* fail(`${files.caKey} is missing, so the CA in ${files.ca} cannot sign; restore it, or ${replace}`)
    if (Option.isNone(certPem)) return yield* fail(`${files.ca} is missing next to ${files.caKey}; restore it, or ${replace}`)
    const cert = yield* parseCertificate(certPem.value).pipe(
      Effect.mapError((e) => fail(`${files.ca} is not a valid PEM certificate (${reason(e)})`)))
    const key = yield* parseKey(keyPem.value).pipe(
      Effect.mapError((e) => fail(`${files.caKey} is not a valid PEM private key (${reason(e)})`)))
    if (!cert.ca) return yield* fail(`${files.ca} is not a CA certificate; ${replace}`)
    if (!cert.checkPrivateKey(key)) return yield* fail(`${files.caKey} does not belong to the CA in ${files.ca}; ${replace}`)
    yield* keepKeyPrivate(files.caKey)
    return Option.some<CertifiedKey>({ certPem: certPem.value, keyPem: keyPem.value })
  })

/**
 * The self-signed material for these names: made on first use, reused afterwards, the server
 * certificate re-issued from the same CA when it no longer fits.
 */
export const selfSignedMaterial = (dataDir: string, names: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const files = apiTlsPaths(dataDir)
    yield* Effect.try({
      try: () => ensurePrivateDir(dataDir),
      catch: (error) => fail(`cannot create the data dir ${dataDir}: ${reason(error)}`)
    })
    const existingCa = yield* loadCa(files)
    const ca = yield* Option.match(existingCa, {
      onSome: Effect.succeed,
      onNone: () =>
        Effect.gen(function*() {
          const made = yield* generateCa("Helyos API CA")
          // key first: a CA certificate on disk must always have its key beside it
          yield* writeAtomically(files.caKey, made.keyPem, 0o600)
          yield* writeAtomically(files.ca, made.certPem, 0o644)
          yield* Effect.logInfo(`generated the API CA ${files.ca} (sha256 ${pemFingerprint(made.certPem)})`)
          return made
        })
    })
    const sans = classifySans(names)
    const serverCert = yield* readOptional(files.server)
    const serverKey = yield* readOptional(files.serverKey)
    const onDisk = Option.all({ certPem: serverCert, keyPem: serverKey })
    const problem = serverCertificateProblem(ca, Option.getOrUndefined(onDisk), sans, yield* Clock.currentTimeMillis)
    const server = problem === undefined && Option.isSome(onDisk)
      ? onDisk.value
      : yield* Effect.gen(function*() {
        const issued = yield* issueServerCertificate(ca, "helyosd", sans)
        yield* writeAtomically(files.serverKey, issued.keyPem, 0o600)
        yield* writeAtomically(files.server, issued.certPem, 0o644)
        const listed = [...sans.dns, ...sans.ips].join(", ")
        yield* Option.isSome(onDisk)
          ? Effect.logInfo(`re-issued the API server certificate from the same CA (${problem}); SANs: ${listed}`)
          : Effect.logInfo(`issued the API server certificate ${files.server}; SANs: ${listed}`)
        return issued
      })
    yield* keepKeyPrivate(files.serverKey)
    return ApiTls.of({
      scheme: "https",
      certificate: Option.some({ chainPem: server.certPem + ca.certPem, keyPem: Redacted.make(server.keyPem) }),
      ca: Option.some({ pem: ca.certPem, sha256: pemFingerprint(ca.certPem) })
    })
  })

/** --tls-cert/--tls-key served as given (the cert file may hold the chain); no CA is handed out. */
export const broughtMaterial = (certFile: string, keyFile: string) =>
  Effect.gen(function*() {
    const chainPem = yield* readRequired("--tls-cert", certFile)
    const keyPem = yield* readRequired("--tls-key", keyFile)
    const leaf = yield* parseCertificate(chainPem).pipe(
      Effect.mapError((e) => fail(`--tls-cert ${certFile} is not a valid PEM certificate (${reason(e)})`)))
    const key = yield* parseKey(keyPem).pipe(
      Effect.mapError((e) => fail(`--tls-key ${keyFile} is not a valid unencrypted PEM private key (${reason(e)})`)))
    if (!leaf.checkPrivateKey(key)) {
      return yield* fail(`--tls-key ${keyFile} does not match the certificate in --tls-cert ${certFile}`)
    }
    if (Date.parse(leaf.validTo) < (yield* Clock.currentTimeMillis)) {
      yield* Effect.logWarning(`--tls-cert ${certFile} expired on ${leaf.validTo}; clients will refuse it`)
    }
    return ApiTls.of({
      scheme: "https",
      certificate: Option.some({ chainPem, keyPem: Redacted.make(keyPem) }),
      ca: Option.none()
    })
  })

/** Container bridges come and go with networks; naming them would re-issue the certificate for nothing. */
const CONTAINER_BRIDGE = /^(docker\d*|br-|veth|cni|flannel|cali|virbr)/

/** This host's IPv4 and global IPv6 addresses (link-local ones need a zone, which no certificate names). */
const externalAddresses = (): ReadonlyArray<string> =>
  Object.entries(os.networkInterfaces()).flatMap(([name, list]) =>
    CONTAINER_BRIDGE.test(name)
      ? []
      : (list ?? []).filter((a) => !a.internal && !a.address.toLowerCase().startsWith("fe80:")).map((a) => a.address))

/** ApiTls for this daemon's config: plain HTTP, a brought certificate, or the self-signed one. */
export const layer = Layer.effect(
  ApiTls,
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const { apiTls } = config
    if (apiScheme(apiTls.mode, config.host) === "http") return plainHttp
    if (Option.isSome(apiTls.certFile) && Option.isSome(apiTls.keyFile)) {
      return yield* broughtMaterial(apiTls.certFile.value, apiTls.keyFile.value)
    }
    return yield* selfSignedMaterial(config.dataDir, wantedSans({
      host: config.host,
      advertiseAddr: Option.getOrUndefined(config.advertiseAddr),
      extra: apiTls.sans,
      hostname: os.hostname(),
      interfaceAddresses: externalAddresses()
    }))
  })
)

/** Plain HTTP, whatever the config says: for tests of the API that are not about transport. */
export const layerPlainHttp = Layer.succeed(ApiTls, plainHttp)
