// The texts a refused Register carries on the wire. The master sends them and the worker tells
// them apart (all are UNAUTHENTICATED or RESOURCE_EXHAUSTED), so both sides read them from here.

export const INVALID_JOIN_TOKEN = "invalid join token"
export const JOIN_TOKEN_EXPIRED = "join token expired"

/** RESOURCE_EXHAUSTED after a burst of failed joins from one address. */
export const tooManyJoinAttempts = (retryAfterMs: number) =>
  `too many failed join attempts, retry in ${Math.max(1, Math.ceil(retryAfterMs / 1000))}s`
