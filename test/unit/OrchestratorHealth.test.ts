// What the master learns and tells about pods: exit code, reason, health and restart count from the
// workers' reports; the cluster's event stream (node, pod, deployment events); `helyos restart`.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { ClusterEvent } from "../../src/domain/ClusterEvent.js"
import type { PodEvent, PodReport } from "../../src/domain/PodReport.js"
import { EventLog } from "../../src/services/observability/EventLog.js"
import { Events } from "../../src/services/observability/Events.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { join, masterOn, reconcile, running, spec, tempDb, workerReports } from "../support/harness/OrchestratorHarness.js"
import type { NodeId } from "../../src/domain/Node.js"
import { eventually } from "../support/harness/Eventually.js"
import { podEvent, podReport } from "../support/doubles/PodReports.js"

const recentLines = Effect.map(
  Effect.flatMap(EventLog, (log) => log.recent(100)),
  (events) => events.map((e) => `${e.kind} ${e.name} ${e.action}`)
)

/** A worker's ping: every pod of its current set with these details, plus pod events. */
const report = (
  id: NodeId,
  details: Partial<PodReport>,
  events: (podId: string) => ReadonlyArray<Partial<PodEvent>> = () => []
) =>
  Effect.gen(function*() {
    const workloads = yield* NodeWorkloads
    const assignment = yield* workloads.desired(id)
    yield* workloads.report(
      id,
      assignment.pods.map((p) => podReport({ podId: p.podId, containerId: "c1", containerIp: "10.0.0.9", ...details })),
      assignment.generation,
      assignment.pods.flatMap((p) => events(p.podId).map((e) => podEvent({ podId: p.podId, ...e })))
    )
  })

describe("pod details on the master", () => {
  it.scoped("exit code, reason, health, restart count and times from a worker reach the pod view", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      yield* report(w1, {
        status: "restarting",
        restartCount: 3,
        exited: true,
        exitCode: 1,
        reason: "Error",
        health: "",
        lastExitAtMs: Date.parse("2026-11-24T22:00:00.000Z"),
        startedAtMs: 0
      })
      const [pod] = yield* orchestrator.pods()
      expect(pod).toMatchObject({
        status: "restarting",
        restart_count: 3,
        exit_code: 1,
        reason: "Error",
        health: null,
        last_exit_at: "2026-11-24T22:00:00.000Z",
        started_at: null
      })

      yield* report(w1, {
        status: "running",
        restartCount: 4,
        exited: true,
        exitCode: 137,
        reason: "Unhealthy",
        health: "starting",
        lastExitAtMs: Date.parse("2026-11-24T22:00:05.000Z"),
        startedAtMs: Date.parse("2026-11-24T22:00:09.000Z")
      })
      expect((yield* orchestrator.pods())[0]).toMatchObject({
        status: "running",
        restart_count: 4,
        exit_code: 137,
        reason: "Unhealthy",
        health: "starting",
        started_at: "2026-11-24T22:00:09.000Z"
      })
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("the details survive a master restart (they are in SQLite)", () =>
    Effect.gen(function*() {
      const db = yield* tempDb
      yield* Effect.scoped(Effect.gen(function*() {
        const w1 = yield* join("w1")
        yield* (yield* Orchestrator).deploy(spec({}))
        yield* report(w1, { status: "crashloopbackoff", restartCount: 10, exited: true, exitCode: 2, reason: "Error" })
      }).pipe(Effect.provide(masterOn(db))))
      const again = yield* Effect.scoped(Effect.flatMap(Orchestrator, (o) => o.pods()).pipe(Effect.provide(masterOn(db))))
      expect(again[0]).toMatchObject({ status: "crashloopbackoff", restart_count: 10, exit_code: 2, reason: "Error" })
    }))
})

describe("the cluster's event stream", () => {
  it.scoped("deployment changes and scheduling decisions are recorded", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({ replicas: 2 }))
      yield* workerReports(w1)
      yield* orchestrator.deploy(spec({ replicas: 2, image: "nginx:2" }))
      yield* orchestrator.scale("shop", "api", 1)
      yield* orchestrator.stop("shop", "api")
      yield* orchestrator.remove("shop", "api")
      const lines = yield* recentLines
      expect(lines.filter((l) => l.startsWith("deployment"))).toEqual([
        "deployment shop/api created",
        "deployment shop/api updated",
        "deployment shop/api scaled",
        "deployment shop/api stopped",
        "deployment shop/api removed"
      ])
      expect(lines).toContain("pod api-0 scheduled")
      expect(lines).toContain("pod api-1 scheduled")
      expect(lines).toContain("pod api-0 stopped")
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a worker's pod events become pod events named as `helyos pods` shows them", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      yield* report(w1, { status: "running" }, () => [
        { action: "died", message: "exited with code 1", exitCode: 1 },
        { action: "restarted", message: "exited with code 1; restart 1 in 1s", exitCode: 1 }
      ])
      // the same statuses again (the quiet shortcut) still carry their events
      yield* report(w1, { status: "running" }, () => [{ action: "unhealthy", message: "failed its health check" }])
      const log = yield* EventLog
      const pods = (yield* log.recent(100)).filter((e) => e.kind === "pod" && e.action !== "scheduled")
      expect(pods.map((e) => [e.name, e.action, e.message])).toEqual([
        ["api-0", "died", "exited with code 1"],
        ["api-0", "restarted", "exited with code 1; restart 1 in 1s"],
        ["api-0", "unhealthy", "failed its health check"]
      ])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("node events from the bus are recorded", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const w1 = yield* join("w1")
      yield* events.publish(ClusterEvent.NodeJoined({ nodeId: w1, name: "w1" }))
      yield* events.publish(ClusterEvent.NodeNotReady({ nodeId: w1, name: "w1" }))
      yield* events.publish(ClusterEvent.NodeDrainChanged({ nodeId: w1, name: "w1", draining: true }))
      yield* events.publish(ClusterEvent.NodeDead({ nodeId: w1, name: "w1" }))
      yield* eventually(Effect.map(recentLines, (lines) => lines.filter((l) => l.startsWith("node")).length === 4))
      expect((yield* recentLines).filter((l) => l.startsWith("node"))).toEqual([
        "node w1 joined",
        "node w1 notready",
        "node w1 drained",
        "node w1 dead"
      ])
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("node recovery", () => {
  it.scoped("a NotReady node that heartbeats again is announced Ready once", () =>
    Effect.gen(function*() {
      const events = yield* Events
      const registry = yield* NodeRegistry
      const w1 = yield* join("w1")
      yield* registry.setLiveness(w1, "NotReady")
      yield* events.publish(ClusterEvent.NodeNotReady({ nodeId: w1, name: "w1" }))
      yield* eventually(Effect.map(recentLines, (lines) => lines.includes("node w1 notready")))
      yield* reconcile
      expect(yield* recentLines).not.toContain("node w1 ready")
      const node = yield* registry.get(w1)
      yield* registry.heartbeat(w1, node.resources)
      yield* reconcile
      yield* reconcile
      expect((yield* recentLines).filter((l) => l === "node w1 ready")).toHaveLength(1)
    }).pipe(Effect.provide(masterOn(":memory:"))))
})

describe("helyos restart", () => {
  it.scoped("replaces every pod with a fresh one, one index at a time, new before old", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      const w2 = yield* join("w2")
      const everyone = Effect.zipRight(workerReports(w1), workerReports(w2))
      yield* orchestrator.deploy(spec({ replicas: 3 }))
      yield* everyone
      const before = new Set((yield* orchestrator.pods()).map((p) => p.id))

      const view = yield* orchestrator.restart("shop", "api")
      expect(view).toMatchObject({ name: "api", replicas: 3 })
      for (let step = 0; step < 10; step++) {
        const live = running(yield* orchestrator.pods())
        // never below 3 serving, never more than one extra
        expect(live.length === 3 || live.length === 4).toBe(true)
        if (live.length === 3 && live.every((p) => !before.has(p.id) && p.status === "running")) break
        yield* everyone
        yield* reconcile
      }
      const after = running(yield* orchestrator.pods())
      expect(after.map((p) => p.replica_index).sort()).toEqual([0, 1, 2])
      expect(after.every((p) => !before.has(p.id) && p.restart_count === 0)).toBe(true)
      expect(yield* recentLines).toContain("deployment shop/api restarted")
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("takes a crash-looping pod out of its loop at once (it serves nothing)", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      yield* report(w1, { status: "crashloopbackoff", restartCount: 10, exited: true, exitCode: 1, reason: "Error" })
      const [looping] = yield* orchestrator.pods()
      yield* orchestrator.restart("shop", "api")
      const pods = yield* orchestrator.pods()
      expect(pods.find((p) => p.id === looping!.id)?.status).toBe("stopping")
      const fresh = pods.find((p) => p.id !== looping!.id)
      expect(fresh).toMatchObject({ status: "creating", restart_count: 0, exit_code: null, reason: null })
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a later redeploy of the same spec does not roll the pods again", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      const w1 = yield* join("w1")
      yield* orchestrator.deploy(spec({}))
      yield* workerReports(w1)
      yield* orchestrator.restart("shop", "api")
      yield* workerReports(w1)
      yield* reconcile
      yield* workerReports(w1)
      const settled = running(yield* orchestrator.pods())
      expect(settled).toHaveLength(1)
      yield* orchestrator.deploy(spec({}))
      expect(running(yield* orchestrator.pods()).map((p) => p.id)).toEqual(settled.map((p) => p.id))
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("an unknown deployment is DeploymentNotFound; a stopped one is DeploymentStopped", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join("w1")
      const missing = yield* Effect.either(orchestrator.restart("shop", "nope"))
      expect(Either.isLeft(missing) && missing.left._tag).toBe("DeploymentNotFound")
      yield* orchestrator.deploy(spec({}))
      yield* orchestrator.stop("shop", "api")
      const stopped = yield* Effect.either(orchestrator.restart("shop", "api"))
      expect(Either.isLeft(stopped) && stopped.left._tag).toBe("DeploymentStopped")
      yield* orchestrator.scale("shop", "api", 0)
      const zero = yield* Effect.either(orchestrator.restart("shop", "api"))
      expect(Either.isLeft(zero) && zero.left._tag).toBe("DeploymentStopped")
    }).pipe(Effect.provide(masterOn(":memory:"))))
})
