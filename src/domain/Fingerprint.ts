// CA fingerprints: the one colon-hex form Helyos prints and stores, and comparing fingerprints as users
// type them (case, colons and a `sha256:` prefix do not matter).
import { createHash } from "node:crypto"
import { digestsEqual } from "./Tokens.js"

/** `9f86…08` → `9f:86:…:08`, the spelling /api/v1/ca, the CLI config and the daemon's log use. */
export const colonHex = (hex: string): string => hex.match(/../g)!.join(":")

/**
 * The pinned fingerprint: lowercase, colon-separated SHA-256 of the PEM text (as documented for
 * `/api/v1/ca`). Plain node:crypto, so the CLI need not load an X.509 library to check a pin.
 */
export const pemFingerprint = (pem: string): string => colonHex(createHash("sha256").update(pem, "utf8").digest("hex"))

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
