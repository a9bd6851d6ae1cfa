// Bugs the cluster simulator (src/testkit) found, checked here on the real gRPC worker agent: real
// sockets on 127.0.0.1, real clock, compressed timers. The simulator keeps the seeds that found them.
import { describe, expect, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, Schedule, Scope, Stream } from "effect"
import * as WorkerAgentGrpc from "../../src/layers/cluster/WorkerAgentGrpc.js"
import { WorkerAgent, type WorkerStopped } from "../../src/services/cluster/WorkerAgent.js"
import { DaemonConfig, type DaemonConfigShape } from "../../src/services/DaemonConfig.js"
import { HostInfo } from "../../src/services/workload/HostInfo.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import {
  fixedHostInfo,
  makeLocalWorkload,
  makeMasterState,
  newJoinToken,
  startClusterMaster,
  testDataDir,
  workerConfig
} from "../support/doubles/ClusterDoubles.js"
import { eventually } from "../support/harness/Eventually.js"

const startWorker = (name: string, port: number, token: string, overrides: Partial<DaemonConfigShape> = {}) =>
  Effect.gen(function*() {
    const local = yield* makeLocalWorkload(() => Stream.empty)
    const ctx = yield* Layer.build(WorkerAgentGrpc.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(DaemonConfig, workerConfig(name, port, token, overrides)),
      Layer.succeed(HostInfo, fixedHostInfo),
      Layer.succeed(LocalWorkload, local.service)
    ))))
    const fiber = yield* Effect.forkScoped(Context.get(ctx, WorkerAgent).run)
    return { fiber, local }
  })

const stopped = (fiber: Fiber.Fiber<never, WorkerStopped>) =>
  Fiber.join(fiber).pipe(
    Effect.flip,
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the worker did not stop") })
  )

describe("found by the simulator, on the real worker agent", () => {
  it.scopedLive("a worker removed from the cluster stops its pods before it exits (they run elsewhere now)", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const master = yield* startClusterMaster(state)
      const worker = yield* startWorker("w1", master.port, token)
      yield* eventually(Effect.map(worker.local.applied, (as) => as.length === 1), { what: "the first assignment is applied" })
      const node = yield* state.registry.service.findByName("w1")

      yield* master.channels.evict(node.id, "removed by an operator")
      expect((yield* stopped(worker.fiber)).reason).toBe("Removed")
      const last = (yield* worker.local.applied).at(-1)
      // an empty set above any generation a master hands out: every pod goes, nothing comes back
      expect(last?.pods).toEqual([])
      expect(last?.generation).toBe(Number.MAX_SAFE_INTEGER)
    }))

  it.scopedLive("a worker started while the master is unreachable still fences itself with --stop-after-disconnect", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      // a master that was there (its CA is pinned in the worker's data dir) and is gone now
      const scope = yield* Scope.make()
      const master = yield* startClusterMaster(state, { scope })
      yield* Scope.close(scope, Exit.void)

      // a restarted helyosd on a host whose containers kept running: it cannot register
      const worker = yield* startWorker("w2", master.port, token, { stopAfterDisconnect: Option.some(Duration.millis(500)) })
      yield* eventually(Effect.map(worker.local.fenced, (n) => n === 1), { what: "w2 fences itself", within: "3 seconds" })
      expect(yield* worker.local.applied).toEqual([])
    }))

  it.scopedLive("--stop-after-disconnect counts from the last ping the master acked, not from any message it sent", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      // a path that loses the worker's pings while the master's messages still get through: the
      // master stops hearing the worker (no ack, NotReady, dead) yet keeps sending it assignments
      const hearing = yield* Effect.makeLatch(true)
      const deafWorkloads = NodeWorkloads.of({
        ...state.workloads.service,
        report: (...args) => hearing.whenOpen(state.workloads.service.report(...args))
      })
      const master = yield* startClusterMaster({ ...state, workloads: { ...state.workloads, service: deafWorkloads } })
      const worker = yield* startWorker("w3", master.port, token, { stopAfterDisconnect: Option.some(Duration.seconds(1)) })
      yield* eventually(Effect.map(state.workloads.reports, (r) => r.length >= 2), { what: "w3 heartbeats" })
      const node = yield* state.registry.service.findByName("w3")

      yield* hearing.close
      let generation = 100
      yield* Effect.suspend(() => master.channels.send(node.id, { _tag: "Assignment", assignment: { generation: generation++, pods: [] } })).pipe(
        Effect.repeat(Schedule.spaced("100 millis")),
        Effect.forkScoped
      )
      yield* eventually(Effect.map(worker.local.fenced, (n) => n === 1), { what: "w3 fences itself", within: "3 seconds" })
      expect((yield* worker.local.applied).length).toBeGreaterThan(5)
    }))

  it.scopedLive("a worker restarted while cut off fences by the time the master last heard its previous run, kept in its data dir", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const scope = yield* Scope.make()
      const master = yield* startClusterMaster(state, { scope })
      // the previous run was connected and acked: its last acked heartbeat is on disk
      const first = yield* startWorker("w4", master.port, token, { stopAfterDisconnect: Option.some(Duration.seconds(3)) })
      const file = path.join(testDataDir, "last-heard-w4")
      yield* eventually(Effect.sync(() => fs.existsSync(file)), { what: "w4 keeps when it was last heard" })
      yield* Fiber.interrupt(first.fiber)
      yield* Scope.close(scope, Exit.void)
      // ... 10 s ago, as far as the next run can tell (the master's dead-after runs from there)
      fs.writeFileSync(file, String(Date.now() - 10_000))

      const restarted = yield* startWorker("w4", master.port, token, { stopAfterDisconnect: Option.some(Duration.seconds(3)) })
      // long past the setting already: at its first check, not 1.5 s after its own start
      yield* eventually(Effect.map(restarted.local.fenced, (n) => n === 1), { what: "w4 fences itself at once", within: "1 second" })
    }))
})
