// LocalWorkloadRuntime over the in-memory runtime with TestClock: converging, fencing,
// restart policies with backoff, crash loop, failures that stay readable.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Layer, Ref, Stream, TestClock } from "effect"
import type { HealthCheck, PodAssignment } from "../../src/domain/PodAssignment.js"
import type { PodReport } from "../../src/domain/PodReport.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import { restartDelay, type RestartRules } from "../../src/domain/RestartRules.js"
import { makePodEventBuffer } from "../../src/layers/workload/pod/PodEventBuffer.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { eventually } from "../support/harness/Eventually.js"

const NODE = "node-a"
const OTHER = "node-b"
const IMAGE = "helyos-test/busybox:latest"

const pod = (index: number, overrides: Partial<PodAssignment> = {}): PodAssignment => ({
  podId: `pod-${index}`,
  containerName: `helyos-shop-api-${index}`,
  project: "shop",
  deployment: "api",
  replicaIndex: index,
  image: IMAGE,
  command: [],
  env: {},
  ports: [],
  publishPorts: false,
  volumes: [],
  cpu: 0,
  memoryBytes: 0,
  restartPolicy: "always",
  ...overrides
})

const labelsOf = (node: string, podId: string) => ({
  "managed-by": "helyos",
  "helyos.project": "shop",
  "helyos.deployment": "api",
  "helyos.pod-id": podId,
  "helyos.node": node
})

/** A fresh fake engine and a workload for NODE per test; resync every 5 s, stop grace 1 s. */
const TestLayer = Layer.scoped(
  LocalWorkload,
  LocalWorkloadRuntime.make(NODE, { resyncInterval: "5 seconds", stopGrace: "1 second" })
).pipe(Layer.provideMerge(ContainerRuntimeMemory.layerWith({ images: [IMAGE] })))
/** Let background fibers do whatever they would do now, without moving the clock. */
const settle = Effect.repeatN(Effect.yieldNow(), 50)

const statusOf = (podId: string) =>
  Effect.flatMap(LocalWorkload, (w) => Effect.map(w.statuses, (all) => all.find((s) => s.podId === podId)))

const waitFor = (podId: string, check: (s: PodReport) => boolean) =>
  Effect.map(eventually(statusOf(podId), (s) => s !== undefined && check(s)), (s) => s!)

const apply = (generation: number, pods: ReadonlyArray<PodAssignment>) =>
  Effect.flatMap(LocalWorkload, (w) => w.apply({ generation, pods: [...pods] }))

const containersOf = (node: string) =>
  Effect.flatMap(MemoryEngine, (fake) =>
    Effect.map(fake.containers, (all) => all.filter((c) => c.labels["helyos.node"] === node)))

describe("LocalWorkloadRuntime", () => {
  it.scoped("apply starts one container per pod with its name, labels and settings on the project network", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const fake = yield* MemoryEngine
      yield* apply(1, [
        pod(0, { env: { A: "1" }, ports: [8080], publishPorts: true, cpu: 0.5, memoryBytes: 1 << 26 }),
        pod(1)
      ])
      yield* waitFor("pod-0", (s) => s.status === "running")
      yield* waitFor("pod-1", (s) => s.status === "running")
      const containers = yield* containersOf(NODE)
      expect(containers.map((c) => c.name).sort()).toEqual(["helyos-shop-api-0", "helyos-shop-api-1"])
      const first = containers.find((c) => c.name === "helyos-shop-api-0")!
      expect(first.labels).toEqual(labelsOf(NODE, "pod-0"))
      expect(first.spec).toMatchObject({
        image: IMAGE,
        network: "helyos-shop",
        env: { A: "1" },
        ports: [8080],
        publishPorts: true,
        cpu: 0.5,
        memoryBytes: 1 << 26
      })
      expect(yield* fake.networks).toEqual(["helyos-shop"])
      const statuses = yield* workload.statuses
      expect(statuses).toEqual([
        {
          podId: "pod-0",
          status: "running",
          containerId: first.id,
          containerIp: first.networks["helyos-shop"],
          restartCount: 0,
          message: "",
          exited: false,
          exitCode: 0,
          reason: "",
          health: "",
          lastExitAtMs: 0,
          startedAtMs: first.startedAtMs
        },
        expect.objectContaining({ podId: "pod-1", status: "running", restartCount: 0 })
      ])
      expect(yield* eventually(workload.appliedGeneration, (g) => g === 1)).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("fence stops every pod but keeps the generation: the same assignment again starts them", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      yield* apply(4, [pod(0), pod(1)])
      yield* eventually(containersOf(NODE), (cs) => cs.filter((c) => c.state === "running").length === 2)
      expect(yield* workload.fence).toBe(2)
      yield* eventually(containersOf(NODE), (cs) => cs.length === 0)
      yield* apply(4, [pod(0), pod(1)])
      yield* eventually(containersOf(NODE), (cs) => cs.filter((c) => c.state === "running").length === 2)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("reports every desired pod at once (pending) and appliedGeneration 0 before any pass", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      expect(yield* workload.appliedGeneration).toBe(0)
      expect(yield* workload.statuses).toEqual([])
      yield* apply(3, [pod(0), pod(1)])
      const right = yield* workload.statuses
      expect(right.map((s) => s.podId)).toEqual(["pod-0", "pod-1"])
      yield* eventually(workload.appliedGeneration, (g) => g === 3)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("never touches containers labelled with another node, even for the same pod id", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const foreignSame = yield* fake.seed({ name: "b-pod-0", labels: labelsOf(OTHER, "pod-0") })
      const foreignOther = yield* fake.seed({ name: "b-ghost", labels: labelsOf(OTHER, "ghost") })
      yield* apply(1, [pod(0)])
      yield* waitFor("pod-0", (s) => s.status === "running")
      yield* TestClock.adjust("1 minute")
      const calls = yield* fake.calls
      expect(calls.filter((c) => c.includes(foreignSame) || c.includes(foreignOther))).toEqual([])
      expect((yield* containersOf(OTHER)).map((c) => [c.id, c.state])).toEqual([
        [foreignSame, "running"],
        [foreignOther, "running"]
      ])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("removes this node's containers that are not in the set (fencing), stopping them first", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const ghost = yield* fake.seed({ name: "helyos-shop-api-9", labels: labelsOf(NODE, "pod-9") })
      const unlabelled = yield* fake.seed({ name: "stray", labels: { "managed-by": "helyos", "helyos.node": NODE } })
      yield* apply(1, [pod(0)])
      yield* eventually(containersOf(NODE), (cs) => cs.length === 1 && cs[0]!.name === "helyos-shop-api-0")
      const calls = yield* fake.calls
      expect(calls).toEqual(expect.arrayContaining([`stop ${ghost}`, `remove ${ghost}`, `stop ${unlabelled}`, `remove ${unlabelled}`]))
      expect(calls.indexOf(`stop ${ghost}`)).toBeLessThan(calls.indexOf(`remove ${ghost}`))
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("does nothing before the first assignment, then adopts the containers it is told to keep", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const kept = yield* fake.seed({ name: "helyos-shop-api-0", labels: labelsOf(NODE, "pod-0"), network: "helyos-shop" })
      yield* TestClock.adjust("1 minute")
      expect((yield* containersOf(NODE)).map((c) => c.id)).toEqual([kept])
      yield* apply(1, [pod(0)])
      const status = yield* waitFor("pod-0", (s) => s.status === "running")
      expect(status.containerId).toBe(kept)
      expect((yield* fake.calls).filter((c) => c.startsWith("run"))).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("scale-down removes the surplus pod's container; an older generation is ignored", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      yield* apply(1, [pod(0), pod(1), pod(2)])
      yield* eventually(workload.statuses, (all) => all.length === 3 && all.every((s) => s.status === "running"))
      yield* apply(2, [pod(0), pod(1)])
      yield* eventually(containersOf(NODE), (cs) => cs.length === 2)
      expect((yield* containersOf(NODE)).map((c) => c.name).sort()).toEqual(["helyos-shop-api-0", "helyos-shop-api-1"])
      expect((yield* workload.statuses).map((s) => s.podId)).toEqual(["pod-0", "pod-1"])
      yield* eventually(workload.appliedGeneration, (g) => g === 2)
      // a late, older assignment must not bring pod-2 back
      yield* apply(1, [pod(0), pod(1), pod(2)])
      yield* TestClock.adjust("10 seconds")
      expect((yield* containersOf(NODE)).length).toBe(2)
      expect(yield* workload.appliedGeneration).toBe(2)
      // scaling to nothing removes everything
      yield* apply(3, [])
      yield* eventually(containersOf(NODE), (cs) => cs.length === 0)
      expect(yield* workload.statuses).toEqual([])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("restart policy always: restarts with backoff 1 s, 2 s, 4 s, counting restarts", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      let current = yield* waitFor("pod-0", (s) => s.status === "running")
      for (const [n, delay] of [[1, 1000], [2, 2000], [3, 4000], [4, 8000]] as const) {
        yield* fake.exit(current.containerId, n === 2 ? 0 : 1)
        const restarting = yield* waitFor("pod-0", (s) => s.status === "restarting")
        expect(restarting.restartCount).toBe(n)
        yield* TestClock.adjust(Duration.millis(delay - 1))
        yield* settle
        expect((yield* statusOf("pod-0"))!.status).toBe("restarting")
        yield* TestClock.adjust("1 millis")
        const next = yield* waitFor("pod-0", (s) => s.status === "running")
        expect(next.containerId).not.toBe(current.containerId)
        expect(next.restartCount).toBe(n)
        current = next
      }
      // restarted in place: one container, the old ones removed
      expect((yield* containersOf(NODE)).map((c) => c.id)).toEqual([current.containerId])
    }).pipe(Effect.provide(TestLayer)))

  it("restart delays are min(300 s, 1 s * 2^(n-1))", () => {
    expect([1, 2, 3, 4, 8, 9, 10, 20].map((n) => Duration.toSeconds(restartDelay(n)))).toEqual([1, 2, 4, 8, 128, 256, 300, 300])
  })

  it.scoped("an OOM kill is an exit like any other and says so", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.exit(running.containerId, 137, { oomKilled: true })
      const restarting = yield* waitFor("pod-0", (s) => s.status === "restarting")
      expect(restarting.message).toContain("OOMKilled")
      expect(restarting.restartCount).toBe(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("restart policy onfailure: exit 0 leaves the pod failed, a non-zero exit restarts", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0, { restartPolicy: "onfailure" }), pod(1, { restartPolicy: "onfailure" })])
      const clean = yield* waitFor("pod-0", (s) => s.status === "running")
      const crashing = yield* waitFor("pod-1", (s) => s.status === "running")
      yield* fake.exit(clean.containerId, 0)
      yield* fake.exit(crashing.containerId, 2)
      const failed = yield* waitFor("pod-0", (s) => s.status === "failed")
      expect(failed).toMatchObject({ message: "container exited with code 0", restartCount: 0, containerId: clean.containerId })
      yield* waitFor("pod-1", (s) => s.status === "restarting")
      yield* TestClock.adjust("5 minutes")
      expect((yield* statusOf("pod-0"))!.status).toBe("failed")
      expect((yield* waitFor("pod-1", (s) => s.status === "running")).restartCount).toBe(1)
      expect((yield* fake.calls).filter((c) => c === "run helyos-shop-api-0")).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("restart policy never: the pod is failed and its exited container kept for its logs", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0, { restartPolicy: "never" })])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.exit(running.containerId, 1)
      const failed = yield* waitFor("pod-0", (s) => s.status === "failed")
      expect(failed.message).toBe("container exited with code 1")
      yield* TestClock.adjust("5 minutes")
      expect((yield* statusOf("pod-0"))!.status).toBe("failed")
      expect((yield* containersOf(NODE)).map((c) => [c.id, c.state])).toEqual([[running.containerId, "exited"]])
      expect((yield* fake.calls).filter((c) => c.startsWith("run"))).toHaveLength(1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("after 10 restarts the next exit is crashloopbackoff and nothing restarts any more", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      let current = yield* waitFor("pod-0", (s) => s.status === "running")
      for (let n = 1; n <= 10; n++) {
        yield* fake.exit(current.containerId, 1)
        yield* waitFor("pod-0", (s) => s.status === "restarting" && s.restartCount === n)
        yield* TestClock.adjust(restartDelay(n))
        current = yield* waitFor("pod-0", (s) => s.status === "running" && s.containerId !== current.containerId)
      }
      yield* fake.exit(current.containerId, 1)
      const looping = yield* waitFor("pod-0", (s) => s.status === "crashloopbackoff")
      expect(looping.restartCount).toBe(10)
      expect(looping.message).toContain("crash loop")
      yield* TestClock.adjust("30 minutes")
      expect((yield* statusOf("pod-0"))!.status).toBe("crashloopbackoff")
      expect((yield* fake.calls).filter((c) => c.startsWith("run"))).toHaveLength(11)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the restart counter starts over after 10 minutes of running", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.exit(running.containerId, 1)
      yield* waitFor("pod-0", (s) => s.status === "restarting")
      yield* TestClock.adjust("1 second")
      expect((yield* waitFor("pod-0", (s) => s.status === "running")).restartCount).toBe(1)
      yield* TestClock.adjust("10 minutes")
      yield* waitFor("pod-0", (s) => s.restartCount === 0)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a missing image fails the pod with a readable message; it starts once the image exists", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0, { image: "registry.local:5000/shop/api:2" })])
      const failed = yield* waitFor("pod-0", (s) => s.status === "failed")
      expect(failed.message).toBe("image 'registry.local:5000/shop/api:2' not found")
      yield* fake.addImage("registry.local:5000/shop/api:2")
      yield* TestClock.adjust("5 seconds")
      yield* waitFor("pod-0", (s) => s.status === "running" && s.message === "")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("one pod failing to start does not hold back the others or stop the loop", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* fake.failRun("helyos-shop-api-0", "boom")
      yield* apply(1, [pod(0), pod(1)])
      const failed = yield* waitFor("pod-0", (s) => s.status === "failed")
      expect(failed.message).toContain("boom")
      yield* waitFor("pod-1", (s) => s.status === "running")
      yield* fake.failRun("helyos-shop-api-0", undefined)
      yield* TestClock.adjust("5 seconds")
      yield* waitFor("pod-0", (s) => s.status === "running")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("survives the engine being away and converges when it is back", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const fake = yield* MemoryEngine
      yield* fake.setAvailable(false)
      yield* apply(1, [pod(0)])
      yield* TestClock.adjust("12 seconds")
      expect(yield* workload.appliedGeneration).toBe(0)
      expect((yield* statusOf("pod-0"))!.status).toBe("pending")
      yield* fake.setAvailable(true)
      yield* TestClock.adjust("5 seconds")
      yield* waitFor("pod-0", (s) => s.status === "running")
      yield* eventually(workload.appliedGeneration, (g) => g === 1)
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a name held by another node's container on a shared engine: runs under a node suffix", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const theirs = yield* fake.seed({ name: "helyos-shop-api-0", labels: labelsOf(OTHER, "pod-0") })
      yield* apply(1, [pod(0)])
      yield* waitFor("pod-0", (s) => s.status === "running")
      expect((yield* containersOf(NODE)).map((c) => c.name)).toEqual([`helyos-shop-api-0-${NODE}`])
      expect((yield* containersOf(OTHER)).map((c) => c.id)).toEqual([theirs])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("logs stream the pod's current container, tail honoured; an unknown pod fails readably", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.writeLog(running.containerId, "one\n")
      yield* fake.writeLog(running.containerId, "two\n")
      const text = (chunks: Chunk.Chunk<Uint8Array>) =>
        Chunk.toReadonlyArray(chunks).map((c) => new TextDecoder().decode(c)).join("")
      const all = yield* Stream.runCollect(workload.logs({ requestId: "r1", podId: "pod-0", tail: 0, follow: false }))
      expect(text(all)).toBe("one\ntwo\n")
      const last = yield* Stream.runCollect(workload.logs({ requestId: "r2", podId: "pod-0", tail: 1, follow: false }))
      expect(text(last)).toBe("two\n")
      const unknown = yield* Effect.flip(
        Stream.runCollect(workload.logs({ requestId: "r3", podId: "nope", tail: 0, follow: false }))
      )
      expect(unknown).toBe("pod 'nope' not found on node 'node-a'")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("followed logs deliver later lines and end when the container exits", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0, { restartPolicy: "never" })])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.writeLog(running.containerId, "early\n")
      const fiber = yield* workload.logs({ requestId: "r1", podId: "pod-0", tail: 0, follow: true }).pipe(
        Stream.map((c) => new TextDecoder().decode(c)),
        Stream.runCollect,
        Effect.fork
      )
      yield* settle
      yield* fake.writeLog(running.containerId, "late\n")
      yield* fake.exit(running.containerId, 0)
      expect(Chunk.join(yield* Fiber.join(fiber), "")).toBe("early\nlate\n")
    }).pipe(Effect.provide(TestLayer)))
})

// ---------------------------------------------------------------------------------------------
// Restart ladder, health probes and pod events.

/** An exec probe every 10 s, 5 s timeout, 3 retries (the documented timings). */
const execProbe = (overrides: Partial<HealthCheck> = {}): HealthCheck => ({
  kind: "exec",
  path: "",
  port: 0,
  command: ["check"],
  intervalMs: 10_000,
  timeoutMs: 5_000,
  retries: 3,
  ...overrides
})

const takeEvents = Effect.flatMap(LocalWorkload, (w) => w.takeEvents)

/** Collects every event drained so far (takeEvents empties the buffer). */
const eventLog = Effect.map(Ref.make<ReadonlyArray<{ podId: string; action: string; message: string; exitCode: number }>>([]), (seen) => ({
  drain: Effect.flatMap(takeEvents, (fresh) => Ref.updateAndGet(seen, (all) => [...all, ...fresh])),
  actions: (podId: string) =>
    Effect.flatMap(takeEvents, (fresh) => Ref.updateAndGet(seen, (all) => [...all, ...fresh])).pipe(
      Effect.map((all) => all.filter((e) => e.podId === podId).map((e) => e.action))
    )
}))

const withRules = (rules: RestartRules) =>
  Layer.scoped(
    LocalWorkload,
    LocalWorkloadRuntime.make(NODE, { resyncInterval: "5 seconds", stopGrace: "1 second", restartRules: rules })
  ).pipe(Layer.provideMerge(ContainerRuntimeMemory.layerWith({ images: [IMAGE] })))

describe("LocalWorkloadRuntime restart ladder", () => {
  it.scoped("climbs the whole ladder 1, 2, 4 ... 256, 300 s, to the millisecond, then crash-loops", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const log = yield* eventLog
      yield* apply(1, [pod(0)])
      let current = yield* waitFor("pod-0", (s) => s.status === "running")
      const ladder = [1, 2, 4, 8, 16, 32, 64, 128, 256, 300]
      for (const [i, seconds] of ladder.entries()) {
        yield* fake.exit(current.containerId, 1)
        const restarting = yield* waitFor("pod-0", (s) => s.status === "restarting" && s.restartCount === i + 1)
        expect(restarting.message).toBe(`container exited with code 1; restart ${i + 1} in ${seconds === 300 ? "5m" : `${seconds}s`}`)
        yield* TestClock.adjust(Duration.millis(seconds * 1000 - 1))
        yield* settle
        expect((yield* statusOf("pod-0"))!.status).toBe("restarting")
        yield* TestClock.adjust("1 millis")
        current = yield* waitFor("pod-0", (s) => s.status === "running" && s.containerId !== current.containerId)
      }
      yield* fake.exit(current.containerId, 1)
      const looping = yield* waitFor("pod-0", (s) => s.status === "crashloopbackoff")
      expect(looping).toMatchObject({ restartCount: 10, exited: true, exitCode: 1, reason: "Error" })
      expect(looping.message).toBe("container exited with code 1; crash loop after 10 restarts, not restarting")
      yield* TestClock.adjust("1 hour")
      expect((yield* statusOf("pod-0"))!.status).toBe("crashloopbackoff")
      const actions = yield* log.actions("pod-0")
      expect(actions[0]).toBe("started")
      expect(actions.filter((a) => a === "restarted")).toHaveLength(10)
      expect(actions.filter((a) => a === "died")).toHaveLength(11)
      expect(actions.at(-1)).toBe("crashloop")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("takes its numbers from the rules it is given (200 ms doubling, cap 1 s, crash loop after 3)", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0)])
      let current = yield* waitFor("pod-0", (s) => s.status === "running")
      for (const [i, ms] of [200, 400, 800].entries()) {
        yield* fake.exit(current.containerId, 2)
        yield* waitFor("pod-0", (s) => s.status === "restarting" && s.restartCount === i + 1)
        yield* TestClock.adjust(Duration.millis(ms - 1))
        yield* settle
        expect((yield* statusOf("pod-0"))!.status).toBe("restarting")
        yield* TestClock.adjust("1 millis")
        current = yield* waitFor("pod-0", (s) => s.status === "running" && s.containerId !== current.containerId)
      }
      yield* fake.exit(current.containerId, 2)
      yield* waitFor("pod-0", (s) => s.status === "crashloopbackoff" && s.restartCount === 3)
    }).pipe(Effect.provide(withRules({
      backoffBase: Duration.millis(200),
      backoffCap: Duration.seconds(1),
      crashLoopAfter: 3,
      resetAfter: Duration.seconds(30)
    }))))

  it.scoped("reports the last exit: code, reason OOMKilled, when; and the current start", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const log = yield* eventLog
      yield* apply(1, [pod(0)])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      expect(running).toMatchObject({ exited: false, reason: "", health: "", lastExitAtMs: 0 })
      yield* TestClock.adjust("3 seconds")
      yield* fake.exit(running.containerId, 137, { oomKilled: true })
      const restarting = yield* waitFor("pod-0", (s) => s.status === "restarting")
      expect(restarting).toMatchObject({ exited: true, exitCode: 137, reason: "OOMKilled", lastExitAtMs: 3_000, startedAtMs: 0 })
      expect(restarting.message).toBe("container was OOMKilled (exit code 137); restart 1 in 1s")
      yield* TestClock.adjust("1 second")
      const again = yield* waitFor("pod-0", (s) => s.status === "running" && s.containerId !== running.containerId)
      // the last exit stays on record while the new container runs
      expect(again).toMatchObject({ exited: true, exitCode: 137, reason: "OOMKilled", startedAtMs: 4_000 })
      const events = (yield* log.drain).filter((e) => e.podId === "pod-0")
      expect(events.map((e) => [e.action, e.exitCode])).toEqual([["started", 0], ["OOMKilled", 137], ["restarted", 0]])
      expect(events[1]!.message).toBe("container was OOMKilled (exit code 137)")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("never and onfailure settle with a failed event and no restart", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const log = yield* eventLog
      yield* apply(1, [pod(0, { restartPolicy: "never" }), pod(1, { restartPolicy: "onfailure" })])
      const a = yield* waitFor("pod-0", (s) => s.status === "running")
      const b = yield* waitFor("pod-1", (s) => s.status === "running")
      yield* fake.exit(a.containerId, 0)
      yield* fake.exit(b.containerId, 0)
      expect(yield* waitFor("pod-0", (s) => s.status === "failed")).toMatchObject({ reason: "Completed", exitCode: 0, restartCount: 0 })
      expect(yield* waitFor("pod-1", (s) => s.status === "failed")).toMatchObject({ reason: "Completed", restartCount: 0 })
      yield* TestClock.adjust("10 minutes")
      expect((yield* fake.calls).filter((c) => c.startsWith("run"))).toHaveLength(2)
      expect(yield* log.actions("pod-0")).toEqual(["started", "died", "failed"])
      const failed = (yield* log.drain).find((e) => e.podId === "pod-1" && e.action === "failed")!
      expect(failed.message).toBe("container exited with code 0; restart policy onfailure: not restarting")
    }).pipe(Effect.provide(TestLayer)))
})

describe("LocalWorkloadRuntime health probes", () => {
  it.scoped("health is starting before the first verdict, then healthy; no probe reports \"\"", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* apply(1, [pod(0, { healthcheck: execProbe() }), pod(1)])
      const probed = yield* waitFor("pod-0", (s) => s.status === "running")
      expect(probed.health).toBe("starting")
      expect((yield* waitFor("pod-1", (s) => s.status === "running")).health).toBe("")
      yield* TestClock.adjust("10 seconds")
      yield* waitFor("pod-0", (s) => s.health === "healthy")
      expect((yield* fake.calls).filter((c) => c.startsWith("exec"))).toEqual([`exec ${probed.containerId} check`])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("retries consecutive failures make the pod unhealthy: stopped and restarted through the backoff", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const log = yield* eventLog
      yield* apply(1, [pod(0, { healthcheck: execProbe() })])
      const first = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* TestClock.adjust("10 seconds")
      yield* waitFor("pod-0", (s) => s.health === "healthy")
      yield* fake.onExec("helyos-shop-api-0", () => Effect.succeed(1))
      // two failures in a row are tolerated (retries: 3)...
      yield* TestClock.adjust("20 seconds")
      yield* settle
      expect(yield* statusOf("pod-0")).toMatchObject({ status: "running", health: "healthy", containerId: first.containerId })
      // ...the third is the verdict
      yield* TestClock.adjust("10 seconds")
      const restarting = yield* waitFor("pod-0", (s) => s.status === "restarting")
      expect(restarting).toMatchObject({ restartCount: 1, reason: "Unhealthy", health: "unhealthy", exited: true })
      expect(restarting.message).toBe(
        "container failed its health check (exec check: 'check' exited with code 1; 3 failures in a row); restart 1 in 1s"
      )
      // the container is stopped (the fake's SIGTERM exit), the reason stays Unhealthy
      yield* eventually(containersOf(NODE), (cs) => cs.some((c) => c.id === first.containerId && c.state === "exited"))
      yield* waitFor("pod-0", (s) => s.exitCode === 143 && s.reason === "Unhealthy")
      yield* TestClock.adjust("1 second")
      const second = yield* waitFor("pod-0", (s) => s.status === "running" && s.containerId !== first.containerId)
      expect(second).toMatchObject({ health: "starting", restartCount: 1 })
      // still failing: the same ladder counts on (restart 2 after 2 s), like a crash would
      yield* TestClock.adjust("30 seconds")
      const again = yield* waitFor("pod-0", (s) => s.status === "restarting" && s.restartCount === 2)
      expect(again.message).toContain("restart 2 in 2s")
      expect(yield* log.actions("pod-0")).toEqual(["started", "unhealthy", "restarted", "unhealthy"])
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("health-driven restarts reach crashloopbackoff too", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* fake.onExec("helyos-shop-api-0", () => Effect.succeed(1))
      yield* apply(1, [pod(0, { healthcheck: execProbe({ intervalMs: 1_000, retries: 1 }) })])
      for (let n = 1; n <= 3; n++) {
        yield* waitFor("pod-0", (s) => s.status === "running")
        yield* TestClock.adjust("1 second")
        yield* waitFor("pod-0", (s) => s.status === "restarting" && s.restartCount === n)
        yield* TestClock.adjust(Duration.millis(200 * 2 ** (n - 1)))
      }
      yield* waitFor("pod-0", (s) => s.status === "running")
      yield* TestClock.adjust("1 second")
      const looping = yield* waitFor("pod-0", (s) => s.status === "crashloopbackoff")
      expect(looping).toMatchObject({ reason: "Unhealthy", restartCount: 3 })
      yield* TestClock.adjust("10 minutes")
      expect((yield* fake.calls).filter((c) => c.startsWith("run"))).toHaveLength(4)
    }).pipe(Effect.provide(withRules({
      backoffBase: Duration.millis(200),
      backoffCap: Duration.seconds(5),
      crashLoopAfter: 3,
      resetAfter: Duration.minutes(10)
    }))))

  it.scoped("an unhealthy pod under restart policy never is failed, its container kept", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* fake.onExec("helyos-shop-api-0", () => Effect.succeed(2))
      yield* apply(1, [pod(0, { restartPolicy: "never", healthcheck: execProbe({ retries: 1 }) })])
      const running = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* TestClock.adjust("10 seconds")
      expect(yield* waitFor("pod-0", (s) => s.status === "failed")).toMatchObject({ reason: "Unhealthy", health: "unhealthy" })
      yield* eventually(containersOf(NODE), (cs) => cs.length === 1 && cs[0]!.state === "exited")
      yield* TestClock.adjust("10 minutes")
      expect((yield* containersOf(NODE)).map((c) => c.id)).toEqual([running.containerId])
      expect((yield* statusOf("pod-0"))!.status).toBe("failed")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a hung probe (timeout) of one pod does not delay another pod's probe", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* fake.onExec("helyos-shop-api-0", () => Effect.never)
      yield* apply(1, [pod(0, { healthcheck: execProbe() }), pod(1, { healthcheck: execProbe() })])
      const hung = yield* waitFor("pod-0", (s) => s.status === "running")
      const quick = yield* waitFor("pod-1", (s) => s.status === "running")
      const execsOf = (id: string) => Effect.map(fake.calls, (calls) => calls.filter((c) => c.startsWith(`exec ${id}`)).length)
      yield* TestClock.adjust("10 seconds")
      // pod-0's probe hangs until its 5 s timeout; pod-1's answered at once
      yield* waitFor("pod-1", (s) => s.health === "healthy")
      expect((yield* statusOf("pod-0"))!.health).toBe("starting")
      yield* TestClock.adjust("10 seconds")
      yield* eventually(execsOf(quick.containerId), (n) => n === 2)
      yield* TestClock.adjust("10 seconds")
      yield* eventually(execsOf(quick.containerId), (n) => n === 3)
      // the hung one timed out at 15 s and 30 s: two failures, still under retries
      expect(yield* execsOf(hung.containerId)).toBe(2)
      expect((yield* statusOf("pod-0"))!.status).toBe("running")
      yield* TestClock.adjust("15 seconds")
      const unhealthy = yield* waitFor("pod-0", (s) => s.status === "restarting")
      expect(unhealthy.message).toContain("'check' did not finish within 5s; 3 failures in a row")
      expect((yield* statusOf("pod-1"))!).toMatchObject({ status: "running", health: "healthy" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("the counter starts over after 600 s of continuous health; a failed probe restarts the clock", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const failNext = yield* Ref.make(0)
      yield* fake.onExec("helyos-shop-api-0", () =>
        Ref.modify(failNext, (n) => (n > 0 ? [1, n - 1] as const : [0, 0] as const)))
      yield* apply(1, [pod(0, { healthcheck: execProbe() })])
      const first = yield* waitFor("pod-0", (s) => s.status === "running")
      yield* fake.exit(first.containerId, 1)
      yield* waitFor("pod-0", (s) => s.status === "restarting")
      yield* TestClock.adjust("1 second")
      yield* waitFor("pod-0", (s) => s.status === "running" && s.restartCount === 1)
      // first pass of the new container at +10 s: healthy from then on
      yield* TestClock.adjust("10 seconds")
      yield* waitFor("pod-0", (s) => s.health === "healthy")
      yield* TestClock.adjust("300 seconds")
      yield* Ref.set(failNext, 1)
      yield* TestClock.adjust("10 seconds") // one failure: continuity broken
      yield* settle
      yield* TestClock.adjust("10 seconds") // healthy again, the 600 s start now
      yield* TestClock.adjust("300 seconds") // 600 s after the first healthy verdict, not after the failure
      yield* settle
      expect((yield* statusOf("pod-0"))!.restartCount).toBe(1)
      yield* TestClock.adjust("310 seconds")
      yield* waitFor("pod-0", (s) => s.restartCount === 0 && s.status === "running")
    }).pipe(Effect.provide(TestLayer)))
})

describe("pod events", () => {
  it.effect("are drained oldest first, and only the newest 256 wait when nobody drains", () =>
    Effect.gen(function*() {
      const buffer = yield* makePodEventBuffer()
      for (let i = 0; i < 300; i++) yield* buffer.push(`pod-${i}`, "died", `exit ${i}`, 1)
      const taken = yield* buffer.take
      expect(taken).toHaveLength(256)
      expect(taken[0]!.podId).toBe("pod-44")
      expect(taken.at(-1)).toEqual({ podId: "pod-299", action: "died", message: "exit 299", atMs: 0, exitCode: 1 })
      expect(yield* buffer.take).toEqual([])
    }))
})
