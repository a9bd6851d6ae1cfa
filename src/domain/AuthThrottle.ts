// Slows down guessing: each client address has a bucket of `burst` failed authentications that
// refills one per `refillMs`. An empty bucket means "answer 429 / RESOURCE_EXHAUSTED" until it
// refills. Only failures drain it, and only that address's bucket, so valid clients elsewhere are
// never locked out. Time is passed in (Effect's Clock at the call site), so tests stay instant.

export interface ThrottleRules {
  /** failures allowed back to back before slowing down */
  readonly burst: number
  /** one more failure is allowed per this many ms */
  readonly refillMs: number
  /** most addresses remembered; full buckets are forgotten first (memory stays bounded) */
  readonly maxTracked: number
}

export const defaultThrottleRules: ThrottleRules = { burst: 10, refillMs: 2_000, maxTracked: 10_000 }

interface Bucket {
  readonly tokens: number
  readonly atMs: number
}

export class AuthThrottle {
  private readonly buckets = new Map<string, Bucket>()

  constructor(readonly rules: ThrottleRules = defaultThrottleRules) {}

  private level(address: string, nowMs: number): number {
    const bucket = this.buckets.get(address)
    if (bucket === undefined) return this.rules.burst
    const refilled = Math.floor(Math.max(0, nowMs - bucket.atMs) / this.rules.refillMs)
    return Math.min(this.rules.burst, bucket.tokens + refilled)
  }

  /** Must this address wait before its next attempt? Then `retryAfterMs` says how long. */
  check(address: string, nowMs: number): { readonly limited: false } | { readonly limited: true; readonly retryAfterMs: number } {
    if (this.level(address, nowMs) >= 1) return { limited: false }
    const bucket = this.buckets.get(address)!
    const elapsed = Math.max(0, nowMs - bucket.atMs) % this.rules.refillMs
    return { limited: true, retryAfterMs: this.rules.refillMs - elapsed }
  }

  /** Count one failed authentication from this address. */
  recordFailure(address: string, nowMs: number): void {
    const tokens = Math.max(0, this.level(address, nowMs) - 1)
    const previous = this.buckets.get(address)
    // keep the refill phase: only move the clock by whole refill periods already credited
    const atMs = previous === undefined || tokens === this.rules.burst - 1
      ? nowMs
      : previous.atMs + Math.floor(Math.max(0, nowMs - previous.atMs) / this.rules.refillMs) * this.rules.refillMs
    this.buckets.delete(address)
    this.buckets.set(address, { tokens, atMs })
    if (this.buckets.size > this.rules.maxTracked) this.prune(nowMs)
  }

  private prune(nowMs: number): void {
    for (const address of this.buckets.keys()) {
      if (this.level(address, nowMs) >= this.rules.burst) this.buckets.delete(address)
    }
    // still too many: forget the least recently failing (Map keeps insertion order)
    for (const address of this.buckets.keys()) {
      if (this.buckets.size <= this.rules.maxTracked) break
      this.buckets.delete(address)
    }
  }
}
