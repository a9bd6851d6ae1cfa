// The runs of the seeded fault runner (helyos/testkit FaultRuns) that found bugs, kept as regression
// tests: each shrunk step list as it was printed, and the seed that found it where the generator still
// makes it. The fixes, with their tests on the real worker agent: test/integration/SimulatorFindings.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect } from "effect"
import { FaultRuns } from "helyos/testkit"

type Step = FaultRuns.Step

const workers = (...memory: ReadonlyArray<string>) => memory.map((m, i) => ({ name: `w${i + 1}`, memory: m }))

const clean = (setup: FaultRuns.Setup, steps: ReadonlyArray<Step>) =>
  Effect.map(FaultRuns.run(setup, steps), (result) =>
    result.failure === undefined ? "clean" : FaultRuns.formatFailure(setup.seed, steps, result.failure))

describe("seeds that found bugs", () => {
  it.effect("node rm --force of a worker with pods: the worker stops them before it exits (seed 9 of the first campaign)", () =>
    Effect.gen(function*() {
      // sim/d1-1 ran on w2 (forgotten by the master) and on w5 after the removal
      const setup = { ...FaultRuns.setupOf(9), stopAfterDisconnect: Duration.seconds(30) }
      const steps: ReadonlyArray<Step> = [
        { action: { _tag: "Deploy", deployment: "d1", replicas: 4, image: "app:1" }, waitMs: 82_000 },
        { action: { _tag: "RemoveWorker", worker: "w2", force: true }, waitMs: 82_000 }
      ]
      expect(yield* clean(setup, steps)).toBe("clean")
    }), 60_000)

  it.effect("a worker restarted while it cannot reach the master still fences itself (seed 109 of the first campaign)", () =>
    Effect.gen(function*() {
      // sim/d1-1 ran on w1 and on w3 (forgotten by the master): the restarted w3 never armed its fence
      const setup: FaultRuns.Setup = { seed: 109, workers: workers("8g", "8g", "8g"), config: { maxPods: 8 }, stopAfterDisconnect: Duration.seconds(30) }
      const steps: ReadonlyArray<Step> = [
        { action: { _tag: "Deploy", deployment: "d1", replicas: 2, image: "app:1", memory: "128m" }, waitMs: 26_000 },
        { action: { _tag: "Silence", worker: "w3" }, waitMs: 9_000 },
        { action: { _tag: "Restart", worker: "w3" }, waitMs: 88_000 }
      ]
      expect(yield* clean(setup, steps)).toBe("clean")
    }), 60_000)

  it.effect("a worker whose pings are lost but which still gets assignments fences by the last acked ping (--stop-after-disconnect = --dead-after)", () =>
    Effect.gen(function*() {
      // sim/d1-0 and d1-3 ran on w1 (forgotten by the master) and elsewhere from 80 s to 84 s
      const setup: FaultRuns.Setup = { seed: 3, workers: workers("8g", "8g", "8g"), config: { maxPods: 20 }, stopAfterDisconnect: Duration.seconds(60) }
      const steps: ReadonlyArray<Step> = [
        { action: { _tag: "Deploy", deployment: "d1", replicas: 3, image: "app:1" }, waitMs: 20_000 },
        { action: { _tag: "Silence", worker: "w1" }, waitMs: 6_000 },
        { action: { _tag: "Scale", deployment: "d1", replicas: 6 }, waitMs: 150_000 }
      ]
      expect(yield* clean(setup, steps)).toBe("clean")
    }), 60_000)

  it.effect("a worker restarted while cut off counts from when the master last heard its previous run (seed 20)", () =>
    Effect.gen(function*() {
      // sim/d3-1 ran on w2 (forgotten by the master) and on w3 from 80 s: w2 fenced 55 s after its restart
      const steps: ReadonlyArray<Step> = [
        { action: { _tag: "Deploy", deployment: "d3", replicas: 4, image: "app:2" }, waitMs: 15_000 },
        { action: { _tag: "Restart", worker: "w2" }, waitMs: 6_000 },
        { action: { _tag: "Partition", worker: "w2" }, waitMs: 10_000 },
        { action: { _tag: "Silence", worker: "w1" }, waitMs: 11_000 },
        { action: { _tag: "Restart", worker: "w2" }, waitMs: 8_000 },
        { action: { _tag: "Silence", worker: "w1" }, waitMs: 13_000 },
        { action: { _tag: "Scale", deployment: "d3", replicas: 6 }, waitMs: 19_000 }
      ]
      expect(yield* clean(FaultRuns.setupOf(20), steps)).toBe("clean")
      const seed = yield* FaultRuns.runSeed(20)
      expect(seed.shrunk === undefined ? "clean" : FaultRuns.formatFailure(20, seed.shrunk.steps, seed.shrunk.failure)).toBe("clean")
    }), 120_000)
})
