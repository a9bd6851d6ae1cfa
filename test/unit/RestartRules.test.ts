// The documented restart rules as pure decisions: the backoff ladder, what an exit means under each
// policy, when a pod crash-loops and when its counter starts over.
import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import {
  afterExit,
  defaultRestartRules,
  describeExit,
  exitReason,
  recovered,
  restartDelay,
  restartPolicyOf,
  type RestartRules
} from "../../src/domain/RestartRules.js"

const tiny: RestartRules = {
  backoffBase: Duration.millis(200),
  backoffCap: Duration.millis(1_000),
  crashLoopAfter: 3,
  resetAfter: Duration.seconds(2)
}

describe("restartDelay", () => {
  it("is min(300 s, 1 s * 2^(n-1)): 1, 2, 4 ... 256, then 300 s for ever", () => {
    const ladder = Array.from({ length: 12 }, (_, i) => Duration.toSeconds(restartDelay(i + 1)))
    expect(ladder).toEqual([1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300])
    expect(Duration.toSeconds(restartDelay(5_000))).toBe(300)
  })

  it("follows the rules it is given", () => {
    expect([1, 2, 3, 4, 5].map((n) => Duration.toMillis(restartDelay(n, tiny)))).toEqual([200, 400, 800, 1_000, 1_000])
  })

  it("documents its numbers in one place", () => {
    expect(defaultRestartRules).toEqual({
      backoffBase: Duration.seconds(1),
      backoffCap: Duration.seconds(300),
      crashLoopAfter: 10,
      resetAfter: Duration.seconds(600)
    })
  })
})

describe("exitReason", () => {
  it("OOMKilled when the kernel killed it, Error for non-zero, Completed for zero", () => {
    expect(exitReason({ code: 137, oomKilled: true })).toBe("OOMKilled")
    expect(exitReason({ code: 137, oomKilled: false })).toBe("Error")
    expect(exitReason({ code: 1, oomKilled: false })).toBe("Error")
    expect(exitReason({ code: 0, oomKilled: false })).toBe("Completed")
  })

  it("reads as a sentence", () => {
    expect(describeExit("Error", { code: 3, oomKilled: false })).toBe("exited with code 3")
    expect(describeExit("OOMKilled", { code: 137, oomKilled: true })).toBe("was OOMKilled (exit code 137)")
    expect(describeExit("Unhealthy", { code: 0, oomKilled: false })).toBe("failed its health check")
  })
})

describe("afterExit", () => {
  it("always restarts whatever the reason, with restart n's delay", () => {
    for (const reason of ["Completed", "Error", "OOMKilled", "Unhealthy"] as const) {
      expect(afterExit("always", reason, 0)).toEqual({ _tag: "Restart", restart: 1, delay: Duration.seconds(1) })
    }
    expect(afterExit("always", "Error", 4)).toEqual({ _tag: "Restart", restart: 5, delay: Duration.seconds(16) })
  })

  it("onfailure leaves a clean exit failed and restarts everything else (a failed probe is a failure)", () => {
    expect(afterExit("onfailure", "Completed", 0)).toEqual({ _tag: "Failed" })
    expect(afterExit("onfailure", "Error", 0)._tag).toBe("Restart")
    expect(afterExit("onfailure", "OOMKilled", 0)._tag).toBe("Restart")
    expect(afterExit("onfailure", "Unhealthy", 0)._tag).toBe("Restart")
  })

  it("never restarts nothing", () => {
    for (const reason of ["Completed", "Error", "OOMKilled", "Unhealthy"] as const) {
      expect(afterExit("never", reason, 0)).toEqual({ _tag: "Failed" })
    }
  })

  it("crash-loops once the 10 restarts are used up (the 11th exit)", () => {
    expect(afterExit("always", "Error", 9)).toEqual({ _tag: "Restart", restart: 10, delay: Duration.seconds(300) })
    expect(afterExit("always", "Error", 10)).toEqual({ _tag: "CrashLoop" })
    expect(afterExit("always", "Unhealthy", 10)).toEqual({ _tag: "CrashLoop" })
    expect(afterExit("always", "Error", 3, tiny)).toEqual({ _tag: "CrashLoop" })
    // a policy that says no is a failure, not a crash loop
    expect(afterExit("never", "Error", 10)).toEqual({ _tag: "Failed" })
  })

  it("reads the wire's policy, an empty one meaning the default always", () => {
    expect(restartPolicyOf("")).toBe("always")
    expect(restartPolicyOf("onfailure")).toBe("onfailure")
    expect(restartPolicyOf("never")).toBe("never")
  })
})

describe("recovered", () => {
  it("after 600 s of continuous health, not a millisecond before", () => {
    expect(recovered(1_000, 1_000 + 599_999)).toBe(false)
    expect(recovered(1_000, 1_000 + 600_000)).toBe(true)
    expect(recovered(undefined, 10_000_000)).toBe(false)
    expect(recovered(0, 2_000, tiny)).toBe(true)
  })
})
