// The master's orchestrator as a specification: placement over workers, the master as fallback, dead
// nodes and fencing, drains and rollouts (new before old), scale/stop/rm, projects, restarts, logs.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Stream, TestClock } from "effect"
import { ClusterEvent } from "../../src/domain/ClusterEvent.js"
import type { NodeId } from "../../src/domain/Node.js"
import type { PodView } from "../../src/domain/Workload.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import { Events } from "../../src/services/observability/Events.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import {
  countRows,
  join,
  lastAssignment,
  LocalHost,
  MASTER,
  masterOn,
  reconcile,
  running,
  spec,
  tempDb,
  totalChanges,
  Wire,
  workerReports
} from "../support/harness/OrchestratorHarness.js"
import { eventually } from "../support/harness/Eventually.js"

const onNode = (pods: ReadonlyArray<PodView>, node: string) => pods.filter((p) => p.node === node)
const byNode = (pods: ReadonlyArray<PodView>) => [...pods].sort((a, b) => (a.node ?? "").localeCompare(b.node ?? ""))
const ids = (pods: ReadonlyArray<{ readonly id: string }>) => pods.map((p) => p.id).sort()
const assignedIds = (a: { readonly pods: ReadonlyArray<{ readonly podId: string }> } | undefined) =>
  (a?.pods ?? []).map((p) => p.podId).sort()

describe("Orchestrator: placement", () => {
  it.scoped("4 replicas over two Ready workers land 2 + 2, and each worker is sent exactly its pods", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join(MASTER, "Master")
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      const view = yield* orchestrator.deploy(spec({ replicas: 4 }))
      expect(view).toMatchObject({ project: "shop", name: "api", replicas: 4, status: "pending" })

      const pods = yield* orchestrator.pods()
      expect(pods.map((p) => p.name)).toEqual(["api-0", "api-1", "api-2", "api-3"])
      expect(onNode(pods, "w1")).toHaveLength(2)
      expect(onNode(pods, "w2")).toHaveLength(2)
      expect(onNode(pods, MASTER)).toHaveLength(0)
      expect(pods.every((p) => p.status === "creating")).toBe(true)
      expect(assignedIds(yield* lastAssignment(w1))).toEqual(ids(onNode(pods, "w1")))
      expect(assignedIds(yield* lastAssignment(w2))).toEqual(ids(onNode(pods, "w2")))
      const assigned = (yield* lastAssignment(w1))!.pods[0]!
      expect(assigned).toMatchObject({ project: "shop", deployment: "api", image: "nginx:1", restartPolicy: "always", publishPorts: false })
      expect(assigned.containerName).toBe(`helyos-shop-api-${assigned.replicaIndex}-${assigned.podId.slice(0, 6)}`)
      // the master's own host was told too: nothing to run
      const local = yield* (yield* LocalHost).applied
      expect(local[local.length - 1]?.pods).toEqual([])
      expect(yield* (yield* NodeWorkloads).podCounts).toEqual(new Map([[w1, 2], [w2, 2]]))

      yield* workerReports(w1)
      yield* workerReports(w2)
      expect(yield* orchestrator.deployment("shop", "api")).toMatchObject({ status: "running", ready_replicas: 4 })
      const reported = yield* orchestrator.pods("shop")
      expect(reported.every((p) => p.status === "running" && p.container_ip === "10.0.0.9")).toBe(true)
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("the master runs pods only when no worker is eligible, in-process", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join(MASTER, "Master")
      yield* join("w1")
      yield* (yield* NodeRegistry).setSchedulable("w1", "draining")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      expect((yield* orchestrator.pods()).map((p) => p.node)).toEqual([MASTER, MASTER])
      const applied = yield* (yield* LocalHost).applied
      expect(applied[applied.length - 1]?.pods).toHaveLength(2)

      yield* reconcile // the local host reports through the same path as a worker
      expect(yield* orchestrator.deployment("shop", "api")).toMatchObject({ status: "running", ready_replicas: 2 })

      yield* join("w2")
      yield* orchestrator.deploy(spec({ deployment: { name: "web" } }))
      expect((yield* orchestrator.pods()).find((p) => p.deployment_name === "web")?.node).toBe("w2")
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("no node at all: the pod stays pending with the reason, and is placed once a node joins", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* orchestrator.deploy(spec({}))
      const [pending] = yield* orchestrator.pods()
      expect(pending).toMatchObject({ name: "api-0", status: "pending", node: null })
      expect(pending?.message).toContain("no node")
      yield* join("w1")
      yield* reconcile
      const [placed] = yield* orchestrator.pods()
      expect(placed).toMatchObject({ id: pending?.id, node: "w1", status: "creating" })
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("the loop retries on its own schedule: a pending pod is placed within a second of a node joining", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* orchestrator.deploy(spec({}))
      yield* join("w1")
      expect((yield* orchestrator.pods())[0]?.status).toBe("pending")
      yield* TestClock.adjust("1 second")
      expect((yield* orchestrator.pods())[0]).toMatchObject({ node: "w1", status: "creating" })
    }).pipe(Effect.provide(masterOn(":memory:", "1 second"))))

  it.scoped("single host: the master's own pods run in-process and its statuses arrive on the loop", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join(MASTER, "Master")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      yield* TestClock.adjust("1 second")
      expect(yield* orchestrator.deployment("shop", "api")).toMatchObject({ status: "running", ready_replicas: 2 })
      expect((yield* orchestrator.pods()).map((p) => p.container_id?.startsWith("c-"))).toEqual([true, true])
    }).pipe(Effect.provide(masterOn(":memory:", "1 second"))))

  it.scoped("a deploy that would put a pod on this host needs its engine; one placed on workers does not", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* (yield* MemoryEngine).setAvailable(false)
      yield* join(MASTER, "Master")
      const refused = yield* Effect.either(orchestrator.deploy(spec({})))
      expect(Either.isLeft(refused) && refused.left._tag === "RuntimeUnavailable" && refused.left.message).toContain(
        "memory://engine"
      )
      expect(yield* orchestrator.deployments()).toEqual([])
      yield* join("w1")
      expect(yield* orchestrator.deploy(spec({}))).toMatchObject({ name: "api" })
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("Orchestrator: dead nodes and fencing", () => {
  it.scoped("NodeDead: every replica index is placed again exactly once on the survivor, with new pod ids", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const registry = yield* NodeRegistry
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      yield* orchestrator.deploy(spec({ replicas: 4 }))
      yield* workerReports(w1)
      yield* workerReports(w2)
      const before = yield* orchestrator.pods()
      const lost = ids(onNode(before, "w1"))
      const kept = ids(onNode(before, "w2"))

      // what the heartbeat monitor does: record the death, then announce it once
      yield* registry.setLiveness(w1, "Dead")
      yield* (yield* Events).publish(ClusterEvent.NodeDead({ nodeId: w1, name: "w1" }))
      yield* eventually(Effect.map(orchestrator.pods(), (pods) => onNode(pods, "w1").length === 0))

      const after = yield* orchestrator.pods()
      expect(after.map((p) => p.name)).toEqual(["api-0", "api-1", "api-2", "api-3"])
      expect(after.every((p) => p.node === "w2")).toBe(true)
      const moved = after.filter((p) => !kept.includes(p.id))
      expect(moved).toHaveLength(2)
      expect(moved.some((p) => lost.includes(p.id))).toBe(false)
      expect(assignedIds(yield* lastAssignment(w2))).toEqual(ids(after))
      expect(yield* countRows("node_failures")).toBe(2)

      // fencing: when w1 comes back, the set it is given no longer holds the moved pods
      yield* registry.heartbeat(w1, (yield* registry.get(w1)).resources)
      const fenced = yield* (yield* NodeWorkloads).desired(w1)
      expect(fenced.pods).toEqual([])
      yield* reconcile
      expect((yield* orchestrator.pods()).map((p) => p.name)).toEqual(["api-0", "api-1", "api-2", "api-3"])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a node declared dead but back before the verdict is handled: its pods still move, then it drops them", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const registry = yield* NodeRegistry
      const w1 = yield* join("w1")
      yield* join("w2")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      const original = onNode(yield* orchestrator.pods(), "w1")
      expect(original).toHaveLength(1)
      yield* registry.setLiveness(w1, "Dead")
      yield* registry.heartbeat(w1, (yield* registry.get(w1)).resources) // it pinged meanwhile
      yield* (yield* Events).publish(ClusterEvent.NodeDead({ nodeId: w1, name: "w1" }))
      yield* eventually(Effect.map(orchestrator.pods(), (pods) => pods.length === 3))

      const pods = yield* orchestrator.pods()
      const fenced = pods.find((p) => p.id === original[0]?.id)
      expect(fenced).toMatchObject({ node: "w1", status: "failed", message: "node 'w1' is dead" })
      expect(running(pods).filter((p) => p.status !== "failed").map((p) => p.node)).toEqual(["w2", "w2"])
      expect(yield* (yield* NodeWorkloads).desired(w1)).toMatchObject({ pods: [] })
      yield* workerReports(w1) // it applied its empty set: the failed pod is gone for good
      expect((yield* orchestrator.pods()).map((p) => p.node)).toEqual(["w2", "w2"])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a NotReady node that is not dead keeps its pods", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* join("w2")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      const before = yield* orchestrator.pods()
      yield* (yield* NodeRegistry).setLiveness(w1, "NotReady")
      yield* reconcile
      expect(ids(yield* orchestrator.pods())).toEqual(ids(before))
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a pod that fails on its node (image pull) counts against the node for placement", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ image: "missing:1" }))
      yield* workerReports(w1, "failed", "image 'missing:1' not found")
      const [pod] = yield* orchestrator.pods()
      expect(pod).toMatchObject({ status: "failed", message: "image 'missing:1' not found" })
      expect(yield* orchestrator.deployment("shop", "api")).toMatchObject({ status: "failed" })
      expect(yield* countRows("node_failures")).toBe(1)
      // the same report again is not a new failure, and writes nothing
      const written = yield* totalChanges
      yield* workerReports(w1, "failed", "image 'missing:1' not found")
      expect(yield* totalChanges).toBe(written)
      // redeploying the same spec gives the pod a fresh start
      yield* orchestrator.deploy(spec({ image: "missing:1" }))
      const fresh = running(yield* orchestrator.pods())
      expect(fresh).toHaveLength(1)
      expect(fresh[0]).toMatchObject({ name: "api-0", status: "creating" })
      expect(fresh[0]?.id).not.toBe(pod?.id)
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("Orchestrator: drains and rollouts", () => {
  it.scoped("drain: the replacement comes first; the original is retired only once it runs", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const workloads = yield* NodeWorkloads
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      yield* orchestrator.deploy(spec({}))
      yield* workerReports(w1)
      const [original] = yield* orchestrator.pods()
      expect(original?.node).toBe("w1")

      yield* (yield* NodeRegistry).setSchedulable("w1", "draining")
      yield* reconcile
      const both = byNode(yield* orchestrator.pods())
      expect(both.map((p) => [p.node, p.status])).toEqual([["w1", "running"], ["w2", "creating"]])
      expect(assignedIds(yield* workloads.desired(w1))).toEqual([original?.id])
      yield* reconcile // nothing changes while the replacement is not running
      expect(assignedIds(yield* workloads.desired(w1))).toEqual([original?.id])

      yield* workerReports(w2)
      yield* reconcile
      expect(yield* workloads.desired(w1)).toMatchObject({ pods: [] })
      expect(byNode(yield* orchestrator.pods()).map((p) => [p.node, p.status])).toEqual([["w1", "stopping"], ["w2", "running"]])
      yield* workerReports(w1) // w1 applied its empty set: the original is gone
      expect((yield* orchestrator.pods()).map((p) => p.node)).toEqual(["w2"])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a changed image rolls out one index at a time, new before old", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      const everyone = Effect.zipRight(workerReports(w1), workerReports(w2))
      yield* orchestrator.deploy(spec({ replicas: 3, image: "app:1" }))
      yield* everyone
      yield* orchestrator.deploy(spec({ replicas: 3, image: "app:2" }))

      const steps: Array<string> = []
      for (let step = 0; step < 10; step++) {
        const live = running(yield* orchestrator.pods())
        // never below 3 serving, never more than one extra pod
        expect(live.length === 3 || live.length === 4).toBe(true)
        for (let index = 0; index < 3; index++) {
          expect(live.some((p) => p.replica_index === index)).toBe(true)
        }
        steps.push(live.map((p) => `${p.replica_index}:${p.image}`).sort().join(" "))
        if (live.length === 3 && live.every((p) => p.image === "app:2" && p.status === "running")) break
        yield* everyone
        yield* reconcile
      }
      expect(steps).toEqual([
        "0:app:1 0:app:2 1:app:1 2:app:1",
        "0:app:2 1:app:1 1:app:2 2:app:1",
        "0:app:2 1:app:2 2:app:1 2:app:2",
        "0:app:2 1:app:2 2:app:2"
      ])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("pods of the previous spec that are not running yet are replaced at once, not one by one", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ replicas: 3, image: "app:1" }))
      yield* orchestrator.deploy(spec({ replicas: 3, image: "app:2" }))
      const assigned = (yield* lastAssignment(w1))!.pods
      expect(assigned.map((p) => `${p.replicaIndex}:${p.image}`).sort()).toEqual(["0:app:2", "1:app:2", "2:app:2"])
      expect((yield* orchestrator.pods()).filter((p) => p.status === "stopping")).toHaveLength(3)
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a single replica with host ports is replaced old-first on one host (it needs the ports)", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const local = yield* LocalHost
      yield* join(MASTER, "Master")
      yield* orchestrator.deploy(spec({ ports: [8080], image: "web:1" }))
      const first = (yield* local.applied).at(-1)?.pods[0]
      expect(first).toMatchObject({ image: "web:1", ports: [8080], publishPorts: true })
      yield* reconcile // reports running
      yield* orchestrator.deploy(spec({ ports: [8080], image: "web:2" }))
      expect((yield* local.applied).at(-1)?.pods).toEqual([])
      yield* reconcile // the host has dropped it; the new pod may bind the ports now
      yield* reconcile
      expect((yield* local.applied).at(-1)?.pods.map((p) => p.image)).toEqual(["web:2"])
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("Orchestrator: scale, stop, rm", () => {
  it.scoped("scale 4 -> 1 retires the newest replicas and keeps pod 0", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ replicas: 4 }))
      yield* workerReports(w1)
      const [zero] = yield* orchestrator.pods()
      const view = yield* orchestrator.scale("shop", "api", 1)
      expect(view).toMatchObject({ replicas: 1, status: "running" })
      expect(assignedIds(yield* lastAssignment(w1))).toEqual([zero?.id])
      expect((yield* orchestrator.pods()).map((p) => `${p.name} ${p.status}`)).toEqual([
        "api-0 running",
        "api-1 stopping",
        "api-2 stopping",
        "api-3 stopping"
      ])
      yield* workerReports(w1)
      expect((yield* orchestrator.pods()).map((p) => p.id)).toEqual([zero?.id])
      const refused = yield* Effect.either(orchestrator.scale("shop", "api", -1))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("InvalidReplicas")
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("stop keeps the definition and runs nothing; scaling up starts again", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      const stopped = yield* orchestrator.stop("shop", "api")
      expect(stopped).toMatchObject({ status: "stopped", replicas: 2, ready_replicas: 0 })
      expect(yield* lastAssignment(w1)).toMatchObject({ pods: [] })
      yield* workerReports(w1)
      expect(yield* orchestrator.pods()).toEqual([])
      expect(yield* (yield* NodeWorkloads).podCounts).toEqual(new Map())
      yield* orchestrator.scale("shop", "api", 2)
      expect(yield* orchestrator.pods()).toHaveLength(2)
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("rm takes the pods out of every assignment at once and deletes the definition", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      yield* orchestrator.remove("shop", "api")
      expect(yield* lastAssignment(w1)).toMatchObject({ pods: [] })
      const gone = yield* Effect.either(orchestrator.deployment("shop", "api"))
      expect(Either.isLeft(gone) && gone.left.message).toBe("deployment 'api' not found in project 'shop'")
      yield* workerReports(w1)
      expect(yield* orchestrator.pods()).toEqual([])
      const again = yield* Effect.either(orchestrator.remove("shop", "api"))
      expect(Either.isLeft(again) && again.left._tag).toBe("DeploymentNotFound")
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("Orchestrator: projects", () => {
  it.scoped("create answers 409 for an existing project; suspend refuses deploys and runs nothing; resume", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      expect(yield* orchestrator.createProject("web")).toMatchObject({ name: "web", status: "active" })
      const exists = yield* Effect.either(orchestrator.createProject("web"))
      expect(Either.isLeft(exists) && exists.left._tag).toBe("ProjectExists")

      yield* orchestrator.deploy(spec({ project: "web", replicas: 2 }))
      expect(yield* orchestrator.suspendProject("web")).toMatchObject({ status: "suspended" })
      expect(yield* lastAssignment(w1)).toMatchObject({ pods: [] })
      expect(yield* orchestrator.deployment("web", "api")).toMatchObject({ status: "stopped", replicas: 2 })
      const refused = yield* Effect.either(orchestrator.deploy(spec({ project: "web" })))
      expect(Either.isLeft(refused) && refused.left._tag).toBe("ProjectSuspended")
      const scaled = yield* Effect.either(orchestrator.scale("web", "api", 3))
      expect(Either.isLeft(scaled) && scaled.left._tag).toBe("ProjectSuspended")

      yield* orchestrator.resumeProject("web")
      expect(running(yield* orchestrator.pods("web"))).toHaveLength(2)
      expect((yield* orchestrator.projects).map((p) => `${p.name} ${p.status}`)).toEqual(["web active"])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("delete answers 409 while deployments remain; deploy auto-creates a project", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join("w1")
      yield* orchestrator.deploy(spec({ project: "auto" }))
      expect((yield* orchestrator.projects).map((p) => p.name)).toEqual(["auto"])
      const notEmpty = yield* Effect.either(orchestrator.deleteProject("auto"))
      expect(Either.isLeft(notEmpty) && notEmpty.left._tag).toBe("ProjectNotEmpty")
      yield* orchestrator.remove("auto", "api")
      yield* orchestrator.deleteProject("auto")
      expect(yield* orchestrator.projects).toEqual([])
      const missing = yield* Effect.either(orchestrator.deleteProject("auto"))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("ProjectNotFound")
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("Orchestrator: restarts", () => {
  it.scoped("a master restarted mid-deploy converges to exactly the requested replicas, nothing lost or doubled", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      // lifetime 1: three pods running on w1, then a scale to 5, and the master dies before w1 reports again
      const first = yield* Effect.scoped(Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        const w1 = yield* join("w1")
        yield* orchestrator.deploy(spec({ replicas: 3 }))
        yield* workerReports(w1)
        yield* orchestrator.scale("shop", "api", 5)
        return { w1, pods: yield* orchestrator.pods(), generation: (yield* lastAssignment(w1))!.generation }
      }).pipe(Effect.provide(masterOn(file))))
      expect(first.pods).toHaveLength(5)
      yield* TestClock.adjust("10 seconds") // the master is down a while

      // lifetime 2 on the same file
      yield* Effect.scoped(Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        yield* (yield* Wire).connect(first.w1)
        for (let i = 0; i < 3; i++) yield* reconcile
        const pods = yield* orchestrator.pods()
        expect(pods.map((p) => p.name)).toEqual(["api-0", "api-1", "api-2", "api-3", "api-4"])
        expect(ids(pods)).toEqual(ids(first.pods))
        const assignment = yield* (yield* NodeWorkloads).desired(first.w1)
        expect(assignedIds(assignment)).toEqual(ids(first.pods))
        // above anything the worker applied before, or it would ignore the new master
        expect(assignment.generation).toBeGreaterThan(first.generation)
        yield* workerReports(first.w1)
        expect(yield* orchestrator.deployment("shop", "api")).toMatchObject({ status: "running", ready_replicas: 5 })
      }).pipe(Effect.provide(masterOn(file))))
    }))

  it.scoped("pods left pending by a dead master are placed after the restart, once each", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      const pending = yield* Effect.scoped(Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        yield* orchestrator.deploy(spec({ replicas: 3 }))
        return yield* orchestrator.pods()
      }).pipe(Effect.provide(masterOn(file))))
      expect(pending.map((p) => p.status)).toEqual(["pending", "pending", "pending"])

      yield* Effect.scoped(Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        yield* join("w1")
        yield* reconcile
        yield* reconcile
        const pods = yield* orchestrator.pods()
        expect(ids(pods)).toEqual(ids(pending))
        expect(pods.every((p) => p.node === "w1" && p.status === "creating")).toBe(true)
      }).pipe(Effect.provide(masterOn(file))))
    }))

  it.scoped("the scheduler config is persisted; a bad setting is refused", () =>
    Effect.gen(function*() {
      const file = yield* tempDb
      yield* Effect.scoped(Effect.gen(function*() {
        const orchestrator = yield* Orchestrator
        expect((yield* orchestrator.schedulerConfig).strategy).toBe("spread")
        yield* orchestrator.setScheduler([{ key: "scheduler", value: "binpack" }])
        expect(yield* orchestrator.setScheduler([{ key: "scheduler.weights.failure", value: "0.5" }])).toMatchObject({
          strategy: "custom",
          weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.5 }
        })
        const bad = yield* Effect.either(orchestrator.setScheduler([{ key: "scheduler", value: "random" }]))
        expect(Either.isLeft(bad) && bad.left._tag).toBe("InvalidSchedulerSetting")
      }).pipe(Effect.provide(masterOn(file))))
      const after = yield* Effect.scoped(
        Effect.flatMap(Orchestrator, (o) => o.schedulerConfig).pipe(Effect.provide(masterOn(file)))
      )
      expect(after).toEqual({ strategy: "custom", weights: { cpu: -0.3, memory: -0.3, load: -0.1, failure: 0.5 } })
    }))
})

describe("Orchestrator: logs", () => {
  const collect = <A, E, R>(stream: Stream.Stream<A, E, R>) =>
    Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray)

  it.scoped("a worker's pod logs travel as a LogRequest and come back as chunks, split into lines", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const workloads = yield* NodeWorkloads
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      const reader = yield* Effect.fork(collect(orchestrator.logs("shop", "api", { follow: false, tail: 10 })))
      const request = yield* requestSentTo(w1)
      expect(request).toMatchObject({ tail: 10, follow: false })
      const chunk = (text: string, eof = false) => ({ requestId: request.requestId, data: Buffer.from(text), eof, error: "" })
      yield* workloads.logChunk(w1, chunk("hello\nwor"))
      yield* workloads.logChunk(w1, chunk("ld\n", true))
      expect(yield* Fiber.join(reader)).toEqual([{ pod: "api-0", line: "hello" }, { pod: "api-0", line: "world" }])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a worker that cannot read the logs, or is not connected, fails the stream readably", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      const reader = yield* Effect.fork(Effect.either(collect(orchestrator.logs("shop", "api", { follow: true }))))
      const request = yield* requestSentTo(w1)
      yield* (yield* NodeWorkloads).logChunk(w1, { requestId: request.requestId, data: Buffer.alloc(0), eof: true, error: "no such container" })
      const failed = yield* Fiber.join(reader)
      expect(Either.isLeft(failed) && failed.left.message).toBe(
        "logs of pod 'api-0' are unavailable: node 'w1': no such container"
      )

      yield* (yield* Wire).disconnect(w1)
      const offline = yield* Effect.either(collect(orchestrator.logs("shop", "api", { follow: false, pod: "api-0" })))
      expect(Either.isLeft(offline) && offline.left.message).toBe(
        "logs of pod 'api-0' are unavailable: node 'w1' is not connected"
      )
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("the master's own pods are read in-process; every pod's lines carry its name", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join(MASTER, "Master")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      const lines = yield* collect(orchestrator.logs("shop", "api", { follow: false }))
      expect(lines.filter((l) => l.line === "line 2").map((l) => l.pod).sort()).toEqual(["api-0", "api-1"])
      const missing = yield* Effect.either(collect(orchestrator.logs("shop", "api", { follow: false, pod: "api-7" })))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("LogsUnavailable")
      const unknown = yield* Effect.either(collect(orchestrator.logs("shop", "nope", { follow: false })))
      expect(Either.isLeft(unknown) && unknown.left._tag).toBe("DeploymentNotFound")
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

/** Wait for the LogRequest the orchestrator sends to a worker. */
const requestSentTo = (id: NodeId) =>
  Effect.gen(function*() {
    const wire = yield* Wire
    const find = Effect.map(wire.sent, (sent) => {
      for (const s of sent) {
        if (s.nodeId === id && s.message._tag === "LogRequest") return s.message.request
      }
      return undefined
    })
    yield* eventually(Effect.map(find, (r) => r !== undefined))
    return (yield* find)!
  })
