// helyos/testkit's cluster: what each handle does, in virtual time (TestClock drives the simulation).
import { describe, expect, it } from "@effect/vitest"
import { Clock, Effect, Exit, TestClock } from "effect"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { Invariants, SimCluster } from "helyos/testkit"

const api = (replicas: number) => ({ project: "shop", deployment: { name: "api" }, image: "nginx:1", replicas })

const runningOn = (containers: ReadonlyArray<{ readonly state: string; readonly worker: string }>) =>
  containers.filter((c) => c.state === "running").map((c) => c.worker).sort()

describe("SimCluster", () => {
  it.scoped("starts a master and Ready workers at t = 0, with the resources they were given", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: [{ name: "small", cpu: 2, memory: "2g" }, {}] })
      const nodes = yield* cluster.nodes()
      expect(nodes.map((n) => [n.name, n.status, n.role])).toEqual([["small", "Ready", "Worker"], ["w2", "Ready", "Worker"]])
      expect(nodes[0]!.resources).toMatchObject({ cpuCores: 2, memoryBytes: 2 * 1024 ** 3 })
      expect(nodes[1]!.resources).toMatchObject({ cpuCores: 4, memoryBytes: 8 * 1024 ** 3 })
      expect(yield* cluster.now()).toBe(0)
    }))

  it.scoped("time moves only with TestClock.adjust, for the test and the cluster alike", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 1 })
      yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 50)))
      expect(yield* cluster.now()).toBe(0)
      yield* TestClock.adjust("90 seconds")
      expect(yield* cluster.now()).toBe(90_000)
      expect(yield* Clock.currentTimeMillis).toBe(90_000)
      // a worker that pinged all along is still Ready 90 s on
      expect((yield* cluster.node("w1")).status).toBe("Ready")
    }))

  it.scoped("deploy, scale and the pods' containers on the engines; a stray exit is restarted where it runs", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 2 })
      const view = yield* cluster.deploy(api(2))
      expect(view).toMatchObject({ project: "shop", name: "api", replicas: 2 })
      yield* TestClock.adjust("5 seconds")
      expect((yield* cluster.deployments("shop"))[0]).toMatchObject({ ready_replicas: 2, status: "running" })
      expect(runningOn(yield* cluster.containers())).toEqual(["w1", "w2"])

      yield* cluster.scale("shop", "api", 4)
      expect(runningOn(yield* cluster.containers())).toEqual(["w1", "w1", "w2", "w2"])
      yield* cluster.scale("shop", "api", 1)
      yield* TestClock.adjust("5 seconds")
      expect((yield* cluster.pods("shop")).map((p) => p.name)).toEqual(["api-0"])

      // the engine's own events: the container exits, the pod runtime starts it again after 1 s
      const w1 = cluster.worker("w1")
      const [container] = (yield* w1.containers()).filter((c) => c.state === "running")
      yield* w1.engine.exit(container!.id, 1)
      yield* TestClock.adjust("6 seconds")
      expect((yield* cluster.pods("shop"))[0]).toMatchObject({ status: "running", restart_count: 1 })
    }))

  it.scoped("drain moves pods replacement-first; node rm refuses an undrained node unless forced", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 2 })
      yield* cluster.deploy(api(2))
      yield* TestClock.adjust("5 seconds")
      expect((yield* cluster.drain("w1")).status).toBe("Draining")
      yield* TestClock.adjust("15 seconds")
      expect((yield* cluster.pods()).filter((p) => p.status !== "stopping").map((p) => p.node)).toEqual(["w2", "w2"])
      expect(runningOn(yield* cluster.containers())).toEqual(["w2", "w2"])

      const refused = yield* Effect.exit(cluster.removeNode("w2"))
      expect(Exit.isFailure(refused) && JSON.stringify(refused.cause)).toContain("NodeNotDrained")
      yield* cluster.removeNode("w1")
      expect((yield* cluster.nodes()).map((n) => n.name)).toEqual(["w2"])
      // told it was removed, it stops its pods (none left here) and exits
      yield* TestClock.adjust("1 second")
      expect(yield* cluster.worker("w1").state()).toMatchObject({ running: false, exitReason: expect.stringContaining("removed") })
    }))

  it.scoped("kill: the machine goes down with its containers, its pods move at dead-after; restart brings it back", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 2 })
      yield* cluster.deploy(api(2))
      const w1 = cluster.worker("w1")
      yield* w1.kill()
      expect((yield* w1.containers()).map((c) => c.state)).toEqual(["exited"])
      yield* TestClock.adjust("61 seconds")
      expect((yield* cluster.pods()).map((p) => p.node)).toEqual(["w2", "w2"])

      yield* w1.restart()
      yield* TestClock.adjust("5 seconds")
      expect((yield* cluster.node("w1")).status).toBe("Ready")
      // the exited container of a pod it no longer has is removed
      expect(yield* w1.containers()).toEqual([])
    }))

  it.scoped("kill with containers kept is helyosd dying alone: the containers run on and are adopted on restart", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 2 })
      yield* cluster.deploy(api(2))
      const w1 = cluster.worker("w1")
      const before = (yield* w1.containers()).map((c) => c.id)
      yield* w1.kill({ containers: "keep" })
      yield* TestClock.adjust("10 seconds")
      yield* w1.restart()
      yield* TestClock.adjust("5 seconds")
      expect((yield* w1.containers()).filter((c) => c.state === "running").map((c) => c.id)).toEqual(before)
      expect((yield* cluster.pods()).map((p) => p.status)).toEqual(["running", "running"])
    }))

  it.scoped("a master restart on the same store reschedules nothing; events are kept across it", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 3 })
      yield* cluster.deploy(api(3))
      yield* TestClock.adjust("10 seconds")
      const before = (yield* cluster.pods()).map((p) => `${p.id}@${p.node}`)
      yield* cluster.master.restart()
      yield* TestClock.adjust("3 minutes")
      expect((yield* cluster.pods()).map((p) => `${p.id}@${p.node}`)).toEqual(before)
      expect((yield* cluster.nodes()).map((n) => n.status)).toEqual(["Ready", "Ready", "Ready"])
      const events = yield* cluster.events()
      expect(events.some((e) => e.master === 1 && e.action === "scheduled")).toBe(true)
      expect(events.filter((e) => e.master === 2 && (e.action === "notready" || e.action === "dead"))).toEqual([])
    }))

  it.scoped("a stopped master comes back on the same store; workers reconnect; master.use reaches its services", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 2 })
      yield* cluster.deploy(api(2))
      yield* cluster.master.stop()
      expect(yield* cluster.master.running()).toBe(false)
      yield* TestClock.adjust("20 seconds")
      yield* cluster.master.start()
      yield* TestClock.adjust("15 seconds")
      expect((yield* cluster.nodes()).map((n) => n.status)).toEqual(["Ready", "Ready"])
      const deployments = yield* cluster.master.use(Effect.flatMap(Orchestrator, (o) => o.deployments()))
      expect(deployments.map((d) => `${d.name}:${d.ready_replicas}`)).toEqual(["api:2"])
    }))

  it.scoped("addWorker joins at once and takes new pods", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 1 })
      yield* cluster.deploy(api(1))
      const x = yield* cluster.addWorker({ name: "x1" })
      expect(x.name).toBe("x1")
      yield* cluster.scale("shop", "api", 2)
      expect((yield* cluster.pods()).map((p) => p.node).sort()).toEqual(["w1", "x1"])
      expect(cluster.workers().map((w) => w.name)).toEqual(["w1", "x1"])
    }))

  it.scoped("Invariants.always holds through a silence healed before dead-after", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster.make({ workers: 3 })
      yield* Invariants.watch(cluster)
      yield* cluster.deploy(api(3))
      yield* cluster.worker("w2").silence()
      yield* TestClock.adjust("40 seconds")
      expect((yield* cluster.node("w2")).status).toBe("NotReady")
      yield* cluster.worker("w2").heal()
      yield* TestClock.adjust("2 minutes")
      expect(yield* Invariants.always(cluster)).toEqual([])
      expect(yield* Invariants.converged(cluster)).toEqual([])
    }))

  it.effect("as a layer: the clock applies to the effect it is provided to", () =>
    Effect.gen(function*() {
      const cluster = yield* SimCluster
      yield* cluster.deploy(api(1))
      yield* TestClock.adjust("61 seconds")
      expect(yield* cluster.now()).toBe(61_000)
      expect((yield* cluster.pods())[0]?.status).toBe("running")
    }).pipe(Effect.provide(SimCluster.layer({ workers: 1 }))))
})
