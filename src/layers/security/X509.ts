// Certificates for Helyos's own CAs (REST on 6443, cluster gRPC on 6444), made with @peculiar/x509
// on Node's WebCrypto: ECDSA P-256 keys, PEM files and SANs (the fingerprint users pin is domain/Fingerprint).
// tsyringe (inside @peculiar/x509) needs the Reflect metadata polyfill loaded first
import "reflect-metadata"
import * as x509 from "@peculiar/x509"
import { Effect } from "effect"
import { createPrivateKey, type KeyObject, webcrypto, X509Certificate as NodeX509 } from "node:crypto"
import { isIP } from "node:net"

type CryptoKey = webcrypto.CryptoKey

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0])

const ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const
const DAY_MS = 24 * 60 * 60 * 1000

/** A certificate and its private key, both PEM (the key as PKCS#8). */
export interface CertifiedKey {
  readonly certPem: string
  readonly keyPem: string
}

export interface SubjectAltNames {
  readonly dns: ReadonlyArray<string>
  readonly ips: ReadonlyArray<string>
}

/**
 * One spelling per address: a certificate's SAN reads back as `0:0:0:0:0:0:0:1` or `2001:DB8:0:…`,
 * so IPv6 is compressed and lowercased (the URL serializer's canonical form) before comparing.
 */
const canonicalIp = (ip: string): string =>
  isIP(ip) === 6 ? new URL(`http://[${ip}]/`).hostname.slice(1, -1) : ip

/** Split names into DNS names and IP addresses (an entry that parses as an IP is an IP). */
export const classifySans = (names: Iterable<string>): SubjectAltNames => {
  const dns = new Set<string>()
  const ips = new Set<string>()
  for (const raw of names) {
    const name = raw.trim().replace(/^\[(.*)\]$/, "$1")
    if (name === "") continue
    if (isIP(name) !== 0) ips.add(canonicalIp(name))
    else dns.add(name.toLowerCase())
  }
  return { dns: [...dns].sort(), ips: [...ips].sort() }
}

const exportKeyPem = async (key: CryptoKey): Promise<string> => {
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", key)
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY") + "\n"
}

const importKeyPem = (pem: string): Promise<CryptoKey> =>
  webcrypto.subtle.importKey("pkcs8", x509.PemConverter.decodeFirst(pem), ALGORITHM, true, ["sign"]) as Promise<CryptoKey>

const newKeys = () => webcrypto.subtle.generateKey(ALGORITHM, true, ["sign", "verify"]) as Promise<webcrypto.CryptoKeyPair>

const pemOf = (cert: x509.X509Certificate): string => cert.toString("pem") + "\n"

/** A self-signed CA, valid ten years, that may sign server certificates only (path length 0). */
export const generateCa = (commonName: string): Effect.Effect<CertifiedKey> =>
  Effect.promise(async () => {
    const keys = await newKeys()
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      name: `CN=${commonName}, O=Helyos`,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 3650 * DAY_MS),
      keys,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(true, 0, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey)
      ]
    })
    return { certPem: pemOf(cert), keyPem: await exportKeyPem(keys.privateKey) }
  })

/** A server certificate signed by `ca` for these names, valid two years. */
export const issueServerCertificate = (
  ca: CertifiedKey,
  commonName: string,
  sans: SubjectAltNames
): Effect.Effect<CertifiedKey> =>
  Effect.promise(async () => {
    const keys = await newKeys()
    const caCert = new x509.X509Certificate(ca.certPem)
    const caKey = await importKeyPem(ca.keyPem)
    const now = Date.now()
    const cert = await x509.X509CertificateGenerator.create({
      subject: `CN=${commonName}, O=Helyos`,
      issuer: caCert.subject,
      notBefore: new Date(now - DAY_MS),
      notAfter: new Date(now + 730 * DAY_MS),
      publicKey: keys.publicKey,
      signingKey: caKey,
      signingAlgorithm: ALGORITHM,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        new x509.SubjectAlternativeNameExtension([
          ...sans.dns.map((value) => ({ type: "dns" as const, value })),
          ...sans.ips.map((value) => ({ type: "ip" as const, value }))
        ]),
        await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey)
      ]
    })
    return { certPem: pemOf(cert), keyPem: await exportKeyPem(keys.privateKey) }
  })

/** The SANs a PEM certificate carries (for deciding whether it must be re-issued). */
export const sansOf = (certPem: string): SubjectAltNames => {
  const text = new NodeX509(certPem).subjectAltName ?? ""
  const dns: Array<string> = []
  const ips: Array<string> = []
  for (const entry of text.split(/,\s*/)) {
    if (entry.startsWith("DNS:")) dns.push(entry.slice(4))
    else if (entry.startsWith("IP Address:")) ips.push(entry.slice(11))
  }
  return classifySans([...dns, ...ips])
}

/**
 * DER bytes to the canonical PEM this module writes (64-column base64, trailing newline). Both CAs'
 * PEMs are canonical, so a peer that only saw the DER can recompute the fingerprint users pin.
 */
export const derToPem = (der: Uint8Array): string => x509.PemConverter.encode(der, "CERTIFICATE") + "\n"

/** A server certificate this close to its end is re-issued at start-up (it is valid two years). */
const RENEW_BEFORE_MS = 30 * 24 * 60 * 60 * 1000

/**
 * Why `server` cannot be served as is for `sans` at `now` (missing, unreadable, not issued by `ca`,
 * key not matching, near expiry, wanted SANs missing), or undefined when it can.
 */
export const serverCertificateProblem = (
  ca: CertifiedKey,
  server: CertifiedKey | undefined,
  sans: SubjectAltNames,
  now: number
): string | undefined => {
  if (server === undefined) return "none yet"
  let cert: NodeX509
  let key: KeyObject
  try {
    cert = new NodeX509(server.certPem)
    key = createPrivateKey(server.keyPem)
  } catch {
    return "unreadable"
  }
  const caCert = new NodeX509(ca.certPem)
  if (!cert.checkIssued(caCert) || !cert.verify(caCert.publicKey)) return "not issued by this CA"
  if (!cert.checkPrivateKey(key)) return "key does not match"
  if (Date.parse(cert.validTo) - now < RENEW_BEFORE_MS) return `expires ${cert.validTo}`
  const have = sansOf(server.certPem)
  const added = [...sans.dns.filter((d) => !have.dns.includes(d)), ...sans.ips.filter((i) => !have.ips.includes(i))]
  return added.length > 0 ? `added SANs: ${added.join(", ")}` : undefined
}
