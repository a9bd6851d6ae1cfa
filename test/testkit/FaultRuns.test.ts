// The seeded fault runner: steps from a seed (the same everywhere), invariant failures found and shrunk
// to the steps that matter, and a few hundred seeds run clean with the unit tests (bounded: 20 steps each).
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { FaultRuns } from "helyos/testkit"

/** Seeds run here; more in `npm run bench:simulator` (BENCH_SIM_SEEDS). */
const CI_SEEDS = 200
const CI_STEPS = 20
const CHUNK = 20

describe("FaultRuns", () => {
  it("a seed means the same cluster and the same steps, and reads as a list", () => {
    expect(FaultRuns.generate(7)).toEqual(FaultRuns.generate(7))
    expect(FaultRuns.setupOf(7)).toEqual(FaultRuns.setupOf(7))
    expect(FaultRuns.generate(7)).not.toEqual(FaultRuns.generate(8))
    expect(FaultRuns.generate(7, { steps: 12 })).toHaveLength(12)
    const kinds = new Set(Array.from({ length: 50 }, (_, s) => FaultRuns.generate(s + 1)).flat().map((step) => step.action._tag))
    for (const kind of ["Deploy", "Scale", "Drain", "Silence", "Partition", "Heal", "Kill", "Restart", "RestartMaster", "AddWorker", "RemoveWorker", "Settle"]) {
      expect(kinds).toContain(kind)
    }
    expect(FaultRuns.formatStep({ action: { _tag: "Partition", worker: "w2" }, waitMs: 75_000 })).toBe("partition w2, then 75 s")
  })

  it.effect("finds a replica running twice (no fencing, a partition past dead-after) and shrinks the run to the two steps that cause it", () =>
    Effect.gen(function*() {
      // workers that keep serving when cut off: a partition past dead-after must run a replica twice
      const setup: FaultRuns.Setup = {
        seed: 7,
        workers: [{ name: "w1", memory: "8g" }, { name: "w2", memory: "8g" }, { name: "w3", memory: "8g" }],
        config: { maxPods: 20 }
      }
      const steps: ReadonlyArray<FaultRuns.Step> = [
        { action: { _tag: "Deploy", deployment: "d1", replicas: 3, image: "app:1" }, waitMs: 20_000 },
        { action: { _tag: "Scale", deployment: "d1", replicas: 4 }, waitMs: 30_000 },
        { action: { _tag: "Drain", worker: "w3" }, waitMs: 15_000 },
        { action: { _tag: "Undrain", worker: "w3" }, waitMs: 15_000 },
        { action: { _tag: "RestartMaster", downForMs: 0 }, waitMs: 15_000 },
        { action: { _tag: "Partition", worker: "w1" }, waitMs: 150_000 },
        { action: { _tag: "Heal", worker: "w1" }, waitMs: 30_000 }
      ]
      const result = yield* FaultRuns.run(setup, steps)
      expect(result.failure?.step).toBe(5)
      expect(result.failure?.violations[0]?.invariant).toBe("replica-runs-twice")

      const shrunk = yield* FaultRuns.shrink(setup, steps, result.failure!)
      expect(shrunk.steps.map((s) => s.action._tag)).toEqual(["Deploy", "Partition"])
      const text = FaultRuns.formatFailure(7, shrunk.steps, shrunk.failure)
      expect(text.split("\n").slice(0, 3)).toEqual([
        "seed 7: replica-runs-twice after step 2 of 2",
        "   1. deploy d1 (app:1, 3 replica(s)), then 20 s",
        "   2. partition w1, then 150 s   <-- fails here"
      ])
    }), 120_000)

  for (let from = 1; from <= CI_SEEDS; from += CHUNK) {
    const to = Math.min(CI_SEEDS, from + CHUNK - 1)
    it.effect(`seeds ${from}-${to} (${CI_STEPS} steps each) keep every invariant`, () =>
      Effect.gen(function*() {
        const failures: Array<string> = []
        for (let seed = from; seed <= to; seed++) {
          const report = yield* FaultRuns.runSeed(seed, { steps: CI_STEPS })
          if (report.shrunk !== undefined) failures.push(FaultRuns.formatFailure(seed, report.shrunk.steps, report.shrunk.failure))
        }
        expect(failures.join("\n\n")).toBe("")
      }), 180_000)
  }
})
