// CA fingerprints: the SHA-256 of the certificate (its DER bytes, as openssl, Docker Swarm and browsers
// compute it), printed colon-hex or `sha256:<hex>`, and compared as users type them (case, colons and a
// `sha256:` prefix do not matter). Pins made under the old rule (the SHA-256 of the PEM text) still match.
import { createHash, X509Certificate } from "node:crypto"
import { digestsEqual } from "./Tokens.js"

/** `9f86…08` → `9f:86:…:08`, the spelling /api/v1/ca, the CLI config and the daemon's log use. */
export const colonHex = (hex: string): string => hex.match(/../g)!.join(":")

const sha256Hex = (data: string | Uint8Array): string => createHash("sha256").update(data).digest("hex")

/**
 * The fingerprint of the (first) certificate in `pem`: lowercase colon-hex SHA-256 of its DER, the value
 * `openssl x509 -fingerprint -sha256` prints. Text that is no certificate gets the digest of the text
 * (it can never match a real CA, and every caller reports it). Node's own X509 parser: nothing to load.
 */
export const pemFingerprint = (pem: string): string => {
  try {
    return colonHex(sha256Hex(new X509Certificate(pem).raw))
  } catch {
    return legacyPemFingerprint(pem)
  }
}

/** The rule of Helyos 0.1: SHA-256 of the PEM text. Only to honour pins made then. */
export const legacyPemFingerprint = (pem: string): string => colonHex(sha256Hex(Buffer.from(pem, "utf8")))

/**
 * Does `expected` name the certificate in `pem`? "current" for its SHA-256, "legacy" for the old rule over
 * any of `legacyTexts` (the PEM as served, or as it was written), undefined for neither.
 */
export const pinMatch = (expected: string, pem: string, legacyTexts: ReadonlyArray<string> = [pem]): "current" | "legacy" | undefined =>
  sameFingerprint(expected, pemFingerprint(pem))
    ? "current"
    : legacyTexts.some((text) => sameFingerprint(expected, legacyPemFingerprint(text)))
    ? "legacy"
    : undefined

/** `sha256:AB:cd:…` / `abcd…` → 64 lowercase hex chars, or undefined when it is not a SHA-256. */
export const normalizeFingerprint = (text: string): string | undefined => {
  const hex = text.trim().toLowerCase().replace(/^sha256:/, "").replace(/:/g, "")
  return /^[0-9a-f]{64}$/.test(hex) ? hex : undefined
}

/** Same fingerprint, whatever the spelling (constant time once both are well formed). */
export const sameFingerprint = (a: string, b: string): boolean => {
  const x = normalizeFingerprint(a)
  const y = normalizeFingerprint(b)
  if (x === undefined || y === undefined) return false
  return digestsEqual(Buffer.from(x, "hex"), Buffer.from(y, "hex"))
}

/** The `sha256:<hex>` form printed in the join command. */
export const displayFingerprint = (fingerprint: string): string => `sha256:${normalizeFingerprint(fingerprint) ?? fingerprint}`
