// Secret encryption at rest: AES-256-GCM under the node's master key. The stored blob is
// nonce(12) || ciphertext || tag(16); the associated data binds it to `project/name`, so a blob
// copied to another secret (or project) fails to open instead of leaking its value there.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto"
import { Either } from "effect"

export const MASTER_KEY_BYTES = 32
export const NONCE_BYTES = 12
export const TAG_BYTES = 16
const ALGORITHM = "aes-256-gcm"

/** Why a blob did not open: too short to be one, or authentication failed (wrong key, AAD or tampered). */
export type OpenFailure = "too-short" | "authentication-failed"

/** What a secret's ciphertext is bound to: project and name, NUL-separated (neither can hold a NUL, so no two pairs collide). */
export const associatedData = (project: string, name: string): Buffer =>
  Buffer.from(`helyos-secret\u0000${project}\u0000${name}`, "utf8")

const checkKey = (key: Uint8Array) => {
  // a wrong-sized key is a bug (MasterKeyFile refuses one at start), not a user error
  if (key.length !== MASTER_KEY_BYTES) throw new Error(`master key must be ${MASTER_KEY_BYTES} bytes, got ${key.length}`)
}

/** Encrypt `plaintext`; a fresh random nonce per call unless one is given (tests only). */
export const seal = (key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Buffer => {
  checkKey(key)
  const cipher = createCipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES })
  cipher.setAAD(aad)
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([nonce, body, cipher.getAuthTag()])
}

/** Decrypt a blob made by `seal` with the same key and associated data. */
export const open = (key: Uint8Array, aad: Uint8Array, blob: Uint8Array): Either.Either<Buffer, OpenFailure> => {
  checkKey(key)
  if (blob.length < NONCE_BYTES + TAG_BYTES) return Either.left("too-short")
  const nonce = blob.subarray(0, NONCE_BYTES)
  const tag = blob.subarray(blob.length - TAG_BYTES)
  const body = blob.subarray(NONCE_BYTES, blob.length - TAG_BYTES)
  try {
    const decipher = createDecipheriv(ALGORITHM, key, nonce, { authTagLength: TAG_BYTES })
    decipher.setAAD(aad)
    decipher.setAuthTag(tag)
    return Either.right(Buffer.concat([decipher.update(body), decipher.final()]))
  } catch {
    return Either.left("authentication-failed")
  }
}
