// helyosd's restart-ladder flags as toDaemonConfig sees them: documented defaults, compressed values
// for tests, and combinations that cannot work refused before anything starts.
import { Duration, Either } from "effect"
import { describe, expect, it } from "vitest"
import { defaultRestartRules } from "../../src/domain/RestartRules.js"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const rulesOf = async (...args: ReadonlyArray<string>) => {
  const { restartRules } = Either.getOrThrow(toDaemonConfig(await parse(args)))
  return {
    backoffBaseMs: Duration.toMillis(restartRules.backoffBase),
    backoffCapMs: Duration.toMillis(restartRules.backoffCap),
    crashLoopAfter: restartRules.crashLoopAfter,
    resetAfterMs: Duration.toMillis(restartRules.resetAfter)
  }
}

describe("toDaemonConfig: restart rules", () => {
  it("defaults to the documented ladder: 1 s doubling to 300 s, crash loop after 10, reset after 600 s", async () => {
    expect(await rulesOf()).toEqual({
      backoffBaseMs: Duration.toMillis(defaultRestartRules.backoffBase),
      backoffCapMs: Duration.toMillis(defaultRestartRules.backoffCap),
      crashLoopAfter: defaultRestartRules.crashLoopAfter,
      resetAfterMs: Duration.toMillis(defaultRestartRules.resetAfter)
    })
    expect(await rulesOf()).toEqual({ backoffBaseMs: 1000, backoffCapMs: 300_000, crashLoopAfter: 10, resetAfterMs: 600_000 })
  })

  it("takes compressed numbers (what the e2e tests use)", async () => {
    const rules = await rulesOf(
      "--restart-backoff-base", "200ms", "--restart-backoff-max", "800ms", "--crashloop-after", "4", "--healthy-reset-after", "5s"
    )
    expect(rules).toEqual({ backoffBaseMs: 200, backoffCapMs: 800, crashLoopAfter: 4, resetAfterMs: 5000 })
  })

  it("refuses combinations that cannot work", async () => {
    expect(await problem("--restart-backoff-base", "0s")).toBe("--restart-backoff-base must be greater than 0")
    expect(await problem("--restart-backoff-base", "2s", "--restart-backoff-max", "1s")).toBe(
      "--restart-backoff-max must be at least --restart-backoff-base"
    )
    expect(await problem("--crashloop-after", "0")).toBe("--crashloop-after must be at least 1, got 0")
    expect(await problem("--healthy-reset-after", "0s")).toBe("--healthy-reset-after must be greater than 0")
  })
})
