// The two scenarios of the README's "Testing in virtual time", as a user of helyos/testkit writes them.
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { Invariants, SimCluster } from "helyos/testkit"

describe("Testing in virtual time (README)", () => {
  it.scoped("a worker silent 31 s is NotReady, at 61 s its pods run elsewhere", () =>
    Effect.gen(function*() {
      // a master and workers w1, w2, w3 at the documented timers (heartbeat 5 s, NotReady 30 s, dead 60 s)
      const cluster = yield* SimCluster.make({ workers: 3 })
      yield* cluster.deploy({ project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas: 3 })
      expect((yield* cluster.pods()).map((p) => p.node)).toEqual(["w1", "w2", "w3"])

      yield* cluster.worker("w1").silence() // nothing w1 sends reaches the master any more
      yield* TestClock.adjust("31 seconds")
      expect((yield* cluster.node("w1")).status).toBe("NotReady")

      yield* TestClock.adjust("30 seconds") // t = 61 s: w1 is dead, api-0 was replaced on another worker
      const pods = yield* cluster.pods()
      expect(pods.filter((p) => p.node === "w1")).toEqual([])
      const elsewhere = (yield* cluster.containers()).filter((c) => c.state === "running" && c.worker !== "w1")
      expect(elsewhere.map((c) => c.replicaIndex).sort()).toEqual([0, 1, 2])
    }))

  it.scoped("a partitioned worker that heals runs no duplicate", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 3 })
      yield* cluster.deploy({ project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas: 3 })
      const w1 = cluster.worker("w1")

      yield* w1.partition()
      yield* TestClock.adjust("2 minutes") // dead at 60 s: api-0 runs on w2 now, and still on w1 (it keeps serving)
      const during = (yield* cluster.containers()).filter((c) => c.state === "running")
      expect(during.filter((c) => c.replicaIndex === 0).map((c) => c.worker).sort()).toEqual(["w1", "w2"])

      yield* w1.heal()
      yield* TestClock.adjust("10 seconds") // back within two heartbeats: w1 drops what is no longer its own
      const after = (yield* cluster.containers()).filter((c) => c.state === "running")
      expect(after.map((c) => c.replicaIndex).sort()).toEqual([0, 1, 2])
      expect(after.filter((c) => c.worker === "w1")).toEqual([])
      expect((yield* cluster.node("w1")).status).toBe("Ready")
    }))

  it.scoped("with --stop-after-disconnect, no replica ever runs twice while the worker is cut off", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 3, stopAfterDisconnect: "60 seconds" })
      yield* cluster.deploy({ project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas: 3 })
      yield* cluster.worker("w1").partition()
      for (let second = 0; second < 120; second++) {
        yield* TestClock.adjust("1 second")
        expect(yield* Invariants.always(cluster)).toEqual([])
      }
      const running = (yield* cluster.containers()).filter((c) => c.state === "running")
      expect(running.map((c) => `${c.worker}:${c.replicaIndex}`).sort()).toEqual(["w2:0", "w2:1", "w3:2"])
    }))
})
