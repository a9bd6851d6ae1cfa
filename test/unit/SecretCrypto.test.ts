// Secret encryption at rest: AES-256-GCM with a fresh nonce per write, bound to project/name.
import { describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import { Either } from "effect"
import { associatedData, MASTER_KEY_BYTES, NONCE_BYTES, open, seal, TAG_BYTES } from "../../src/domain/SecretCrypto.js"
import { decodeSecretText, INVALID_UTF8, secretValueBytes, validateSecretName } from "../../src/domain/Secrets.js"

const key = randomBytes(MASTER_KEY_BYTES)
const text = (s: string) => new TextEncoder().encode(s)
const aad = associatedData("web", "DB_PASSWORD")

describe("SecretCrypto", () => {
  it("round-trips a value under the same key and associated data", () => {
    const blob = seal(key, aad, text("s3cr3t-välue"))
    expect(blob.length).toBe(NONCE_BYTES + text("s3cr3t-välue").length + TAG_BYTES)
    const opened = open(key, aad, blob)
    expect(Either.isRight(opened) && opened.right.toString("utf8")).toBe("s3cr3t-välue")
  })

  it("uses a fresh nonce per write: the same value twice gives different blobs", () => {
    const a = seal(key, aad, text("same"))
    const b = seal(key, aad, text("same"))
    expect(a.subarray(0, NONCE_BYTES).equals(b.subarray(0, NONCE_BYTES))).toBe(false)
    expect(a.equals(b)).toBe(false)
  })

  it("refuses a blob moved to another name or project (wrong associated data)", () => {
    const blob = seal(key, aad, text("value"))
    expect(open(key, associatedData("web", "OTHER"), blob)).toEqual(Either.left("authentication-failed"))
    expect(open(key, associatedData("shop", "DB_PASSWORD"), blob)).toEqual(Either.left("authentication-failed"))
    // the separator keeps "a/b" + "c" apart from "a" + "b/c"
    expect(associatedData("a/b", "c").equals(associatedData("a", "b/c"))).toBe(false)
  })

  it("refuses a tampered blob: any flipped byte, in nonce, body or tag", () => {
    const blob = seal(key, aad, text("value"))
    for (const index of [0, NONCE_BYTES, blob.length - 1]) {
      const tampered = Buffer.from(blob)
      tampered[index] = tampered[index]! ^ 0x01
      expect(open(key, aad, tampered)).toEqual(Either.left("authentication-failed"))
    }
    expect(open(key, aad, blob.subarray(0, NONCE_BYTES + TAG_BYTES - 1))).toEqual(Either.left("too-short"))
  })

  it("refuses a blob under another key", () => {
    const blob = seal(key, aad, text("value"))
    expect(open(randomBytes(MASTER_KEY_BYTES), aad, blob)).toEqual(Either.left("authentication-failed"))
  })

  it("a wrong-sized key is a bug, not a silent truncation", () => {
    expect(() => seal(randomBytes(16), aad, text("v"))).toThrow(/32 bytes/)
  })
})

describe("secret names and values", () => {
  it("names are environment variable names", () => {
    for (const ok of ["DB_PASSWORD", "_x", "a1", "A".repeat(255)]) expect(Either.isRight(validateSecretName(ok))).toBe(true)
    for (const bad of ["", "1ABC", "DB-PASSWORD", "a b", "a=b", "ü", "A".repeat(256)]) {
      const result = validateSecretName(bad)
      expect(Either.isLeft(result) && result.left.message).toContain("invalid secret name")
    }
  })

  it("invalid UTF-8 is refused with the documented message", () => {
    const decoded = decodeSecretText(new Uint8Array([0x61, 0xff, 0xfe]))
    expect(Either.isLeft(decoded) && decoded.left.message).toBe(INVALID_UTF8)
    expect(INVALID_UTF8).toContain("secret contains invalid UTF-8")
    expect(decodeSecretText(text("ok ✓"))).toEqual(Either.right("ok ✓"))
  })

  it("a lone surrogate (no UTF-8 form), a NUL byte or an oversized value cannot be a secret", () => {
    const lone = secretValueBytes("abc\ud800def")
    expect(Either.isLeft(lone) && lone.left.message).toBe(INVALID_UTF8)
    const nul = secretValueBytes("a\u0000b")
    expect(Either.isLeft(nul) && nul.left.message).toContain("NUL")
    const big = secretValueBytes("x".repeat(64 * 1024 + 1))
    expect(Either.isLeft(big) && big.left.message).toContain("too large")
    expect(Either.isRight(secretValueBytes("emoji 😀 pair"))).toBe(true)
  })
})
