// AuthThrottle: a bucket of failed authentications per address, refilled over (passed-in) time.
import { describe, expect, it } from "@effect/vitest"
import { AuthThrottle, defaultThrottleRules } from "../../src/domain/AuthThrottle.js"

const rules = { burst: 3, refillMs: 1_000, maxTracked: 100 }

const fail = (throttle: AuthThrottle, address: string, times: number, atMs: number) => {
  for (let i = 0; i < times; i++) throttle.recordFailure(address, atMs)
}

describe("AuthThrottle", () => {
  it("lets an address fail `burst` times back to back, then limits it", () => {
    const throttle = new AuthThrottle(rules)
    for (let i = 0; i < 3; i++) {
      expect(throttle.check("10.0.0.1", 0).limited).toBe(false)
      throttle.recordFailure("10.0.0.1", 0)
    }
    expect(throttle.check("10.0.0.1", 0)).toEqual({ limited: true, retryAfterMs: 1_000 })
  })

  it("never limits other addresses: their buckets are their own", () => {
    const throttle = new AuthThrottle(rules)
    fail(throttle, "10.0.0.1", 10, 0)
    expect(throttle.check("10.0.0.1", 0).limited).toBe(true)
    expect(throttle.check("10.0.0.2", 0).limited).toBe(false)
    expect(throttle.check("::1", 0).limited).toBe(false)
  })

  it("refills one attempt per refill period, and says how long to wait meanwhile", () => {
    const throttle = new AuthThrottle(rules)
    fail(throttle, "a", 3, 0)
    expect(throttle.check("a", 400)).toEqual({ limited: true, retryAfterMs: 600 })
    expect(throttle.check("a", 999).limited).toBe(true)
    expect(throttle.check("a", 1_000).limited).toBe(false)
    // that one attempt fails again: limited until the next period boundary
    throttle.recordFailure("a", 1_000)
    expect(throttle.check("a", 1_500)).toEqual({ limited: true, retryAfterMs: 500 })
    expect(throttle.check("a", 2_000).limited).toBe(false)
  })

  it("a long quiet period refills the whole burst, never more", () => {
    const throttle = new AuthThrottle(rules)
    fail(throttle, "a", 3, 0)
    const later = 3_600_000
    fail(throttle, "a", 3, later)
    expect(throttle.check("a", later).limited).toBe(true)
  })

  it("keeps memory bounded: beyond maxTracked the oldest buckets are forgotten", () => {
    const throttle = new AuthThrottle({ burst: 2, refillMs: 1_000, maxTracked: 10 })
    for (let i = 0; i < 50; i++) fail(throttle, `addr-${i}`, 2, 0)
    // the most recent offenders are still limited; the earliest were forgotten (and start afresh)
    expect(throttle.check("addr-49", 0).limited).toBe(true)
    expect(throttle.check("addr-0", 0).limited).toBe(false)
  })

  it("defaults: 10 failures back to back, one more every 2 s", () => {
    const throttle = new AuthThrottle()
    expect(defaultThrottleRules).toMatchObject({ burst: 10, refillMs: 2_000 })
    fail(throttle, "a", 10, 0)
    expect(throttle.check("a", 0)).toEqual({ limited: true, retryAfterMs: 2_000 })
    expect(throttle.check("a", 2_000).limited).toBe(false)
  })
})
