// Fingerprints people can check: the SHA-256 of the certificate (DER), the value openssl prints, in
// either spelling Helyos shows (colon hex for `helyos login`, sha256:<hex> for the join command); a pin
// made under Helyos 0.1's rule (SHA-256 of the PEM text) is still honoured.
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { execFileSync } from "node:child_process"
import { X509Certificate } from "node:crypto"
import { legacyPemFingerprint, pemFingerprint, pinMatch, sameFingerprint } from "../../src/domain/Fingerprint.js"
import { caFingerprint, caPinMatch, canonicalCertPem } from "../../src/layers/security/ClusterCa.js"
import { generateCa } from "../../src/layers/security/X509.js"

const opensslFingerprint = (pem: string): string => {
  // "sha256 Fingerprint=AB:CD:…" (the label's case varies between openssl versions)
  const out = execFileSync("openssl", ["x509", "-noout", "-fingerprint", "-sha256"], { input: pem }).toString()
  return out.trim().split("=")[1]!
}

describe("CA fingerprints", () => {
  it.effect("are the SHA-256 of the certificate: what openssl x509 -fingerprint -sha256 prints", () =>
    Effect.gen(function*() {
      const ca = yield* generateCa("fingerprint test")
      const openssl = opensslFingerprint(ca.certPem)
      expect(sameFingerprint(pemFingerprint(ca.certPem), openssl)).toBe(true)
      expect(pemFingerprint(ca.certPem)).toBe(new X509Certificate(ca.certPem).fingerprint256.toLowerCase())
      expect(caFingerprint(ca.certPem)).toBe(`sha256:${openssl.replace(/:/g, "").toLowerCase()}`)
    }))

  it.effect("do not depend on how the PEM is written (line endings, trailing text)", () =>
    Effect.gen(function*() {
      const ca = yield* generateCa("fingerprint test")
      expect(pemFingerprint(ca.certPem.replace(/\n/g, "\r\n"))).toBe(pemFingerprint(ca.certPem))
      expect(caFingerprint(`${ca.certPem}\n\n`)).toBe(caFingerprint(ca.certPem))
    }))

  it.effect("match in every spelling, and an old-rule pin is recognised as such", () =>
    Effect.gen(function*() {
      const ca = yield* generateCa("fingerprint test")
      const colon = pemFingerprint(ca.certPem)
      for (const spelling of [colon, colon.toUpperCase(), caFingerprint(ca.certPem), colon.replace(/:/g, "")]) {
        expect([spelling, pinMatch(spelling, ca.certPem)]).toEqual([spelling, "current"])
      }
      expect(pinMatch(legacyPemFingerprint(ca.certPem), ca.certPem)).toBe("legacy")
      // the join command of 0.1 hashed the canonical PEM text
      expect(caPinMatch(`sha256:${legacyPemFingerprint(canonicalCertPem(ca.certPem)).replace(/:/g, "")}`, ca.certPem)).toBe("legacy")
      const other = yield* generateCa("another")
      expect(pinMatch(pemFingerprint(other.certPem), ca.certPem)).toBeUndefined()
      expect(pinMatch(legacyPemFingerprint(other.certPem), ca.certPem)).toBeUndefined()
    }))
})
