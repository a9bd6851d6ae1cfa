// Token formats. Join tokens (nxa_) admit workers; API tokens (nxa-api_) authorise REST calls.
// Both are 32 random bytes as 64 lowercase hex; only their hashes are ever stored, and compared in constant time.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto"
import { Redacted } from "effect"

export const JOIN_TOKEN_PREFIX = "nxa_"
export const API_TOKEN_PREFIX = "nxa-api_"

const hex64 = /^[0-9a-f]{64}$/

/** Does this look like a join token (nxa_ + 64 lowercase hex)? */
export const isJoinTokenFormat = (token: string): boolean =>
  token.startsWith(JOIN_TOKEN_PREFIX) && hex64.test(token.slice(JOIN_TOKEN_PREFIX.length))

/** Does this look like an API token (nxa-api_ + 64 lowercase hex)? */
export const isApiTokenFormat = (token: string): boolean =>
  token.startsWith(API_TOKEN_PREFIX) && hex64.test(token.slice(API_TOKEN_PREFIX.length))

/** Why a join token is malformed, or undefined when it is well-formed. */
export const joinTokenProblem = (token: string): string | undefined => {
  if (!token.startsWith(JOIN_TOKEN_PREFIX)) return "token must start with 'nxa_'"
  const rest = token.slice(JOIN_TOKEN_PREFIX.length)
  if (rest.length !== 64) return `token hex part must be 64 characters, got ${rest.length}`
  if (!hex64.test(rest)) return "token contains invalid hex (lowercase 0-9a-f only)"
  return undefined
}

/** Why an API token is malformed, or undefined when it is well-formed. */
export const apiTokenProblem = (token: string): string | undefined => {
  if (!token.startsWith(API_TOKEN_PREFIX)) return "API token must start with 'nxa-api_'"
  const rest = token.slice(API_TOKEN_PREFIX.length)
  if (!hex64.test(rest)) return "API token must be 'nxa-api_' followed by 64 lowercase hex characters"
  return undefined
}

/** A new token: `prefix` + 32 random bytes as 64 lowercase hex, handed out once as Redacted. */
export const mintToken = (prefix: string): Redacted.Redacted<string> =>
  Redacted.make(prefix + randomBytes(32).toString("hex"))

// A plain SHA-256 is enough: the tokens carry 256 random bits, so there is no dictionary for a slow KDF
// (Argon2, bcrypt, scrypt) to protect against; brute force is infeasible either way, and every check stays cheap.
/** The 32-byte digest a token is stored and compared as. */
export const tokenDigest = (token: string): Buffer => createHash("sha256").update(token, "utf8").digest()

/**
 * Do two digests match, in time independent of where they differ? A length mismatch (a corrupt
 * stored hash) is simply no match, never the exception timingSafeEqual would throw.
 */
export const digestsEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b)
