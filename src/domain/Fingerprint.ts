// CA fingerprints as users type them: case, colons and a `sha256:` prefix do not matter.
import { timingSafeEqual } from "node:crypto"

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
  return timingSafeEqual(Buffer.from(x, "hex"), Buffer.from(y, "hex"))
}

/** The `sha256:<hex>` form printed in the join command. */
export const displayFingerprint = (colonHex: string): string => `sha256:${normalizeFingerprint(colonHex) ?? colonHex}`
