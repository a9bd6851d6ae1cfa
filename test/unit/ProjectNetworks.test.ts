// Project networks on one node (in memory, TestClock): a network goes once the node runs none of its
// project's pods, another node's network on a shared engine is left alone while in use or young, and a
// network the engine refuses leaves the pod failed with one line saying so.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, TestClock } from "effect"
import type { PodAssignment } from "../../src/domain/PodAssignment.js"
import type { PodReport } from "../../src/domain/PodReport.js"
import { ContainerRuntime } from "../../src/services/workload/ContainerRuntime.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { eventually } from "../support/harness/Eventually.js"

const NODE = "node-a"
const OTHER = "node-b"
const IMAGE = "helyos-test/busybox:latest"

const pod = (project: string, index: number): PodAssignment => ({
  podId: `${project}-${index}`,
  containerName: `helyos-${project}-api-${index}`,
  project,
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
  restartPolicy: "always"
})

const TestLayer = Layer.scoped(
  LocalWorkload,
  LocalWorkloadRuntime.make(NODE, { resyncInterval: "5 seconds", stopGrace: "1 second" })
).pipe(Layer.provideMerge(ContainerRuntimeMemory.layerWith({ images: [IMAGE] })))

const apply = (generation: number, pods: ReadonlyArray<PodAssignment>) =>
  Effect.flatMap(LocalWorkload, (w) => w.apply({ generation, pods: [...pods] }))

const statusOf = (podId: string) =>
  Effect.flatMap(LocalWorkload, (w) => Effect.map(w.statuses, (all) => all.find((s) => s.podId === podId)))

const waitFor = (podId: string, check: (s: PodReport) => boolean) =>
  Effect.map(eventually(statusOf(podId), (s) => s !== undefined && check(s)), (s) => s!)

const networks = Effect.flatMap(MemoryEngine, (fake) => fake.networks)

/** Until the node has applied a generation (its passes run in the background). */
const applied = (generation: number) =>
  eventually(Effect.flatMap(LocalWorkload, (w) => w.appliedGeneration), (g) => g >= generation)

describe("project networks", () => {
  it.scoped("a project's network goes once this node runs none of its pods, and the others stay", () =>
    Effect.gen(function*() {
      yield* apply(1, [pod("shop", 0), pod("blog", 0)])
      yield* waitFor("shop-0", (s) => s.status === "running")
      yield* waitFor("blog-0", (s) => s.status === "running")
      expect([...(yield* networks)].sort()).toEqual(["helyos-blog", "helyos-shop"])
      // the project is deleted (or its pods moved away): its pods go, then its network
      yield* apply(2, [pod("blog", 0)])
      yield* eventually(networks, (all) => !all.includes("helyos-shop"), { what: "helyos-shop removed" })
      expect(yield* networks).toEqual(["helyos-blog"])
      yield* apply(3, [])
      yield* eventually(networks, (all) => all.length === 0, { what: "every network removed" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a network made by another node stays while its container runs, and goes once it is empty and a minute old", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork("helyos-other")
      const foreign = yield* rt.run({
        name: "helyos-other-web-0",
        image: IMAGE,
        command: [],
        env: {},
        ports: [],
        publishPorts: false,
        volumes: [],
        network: "helyos-other",
        labels: { "managed-by": "helyos", "helyos.node": OTHER, "helyos.project": "other", "helyos.pod-id": "o-0" },
        cpu: 0,
        memoryBytes: 0
      })
      yield* apply(1, [pod("shop", 0)])
      yield* waitFor("shop-0", (s) => s.status === "running")
      yield* TestClock.adjust("2 minutes")
      yield* applied(1)
      expect([...(yield* networks)].sort()).toEqual(["helyos-other", "helyos-shop"])
      // the other node's container goes; its (now old) empty network is swept by this node
      yield* rt.remove(foreign.id)
      yield* TestClock.adjust("5 seconds")
      yield* eventually(networks, (all) => !all.includes("helyos-other"), { what: "helyos-other removed" })
      expect(yield* networks).toEqual(["helyos-shop"])
      expect(yield* fake.calls).toContain("remove network helyos-other")
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a young network this node never used is left alone (another node is about to start a pod there)", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork("helyos-fresh")
      yield* apply(1, [])
      yield* TestClock.adjust("30 seconds")
      yield* applied(1)
      expect(yield* networks).toEqual(["helyos-fresh"])
      yield* TestClock.adjust("35 seconds")
      yield* eventually(networks, (all) => all.length === 0, { what: "helyos-fresh removed after the grace" })
    }).pipe(Effect.provide(TestLayer)))

  it.scoped("a network the engine will not create leaves the pod failed with one line naming it", () =>
    Effect.gen(function*() {
      const fake = yield* MemoryEngine
      yield* fake.failNetwork(
        "helyos-shop",
        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
      )
      yield* apply(1, [pod("shop", 0)])
      const failed = yield* waitFor("shop-0", (s) => s.status === "failed")
      expect(failed.message).toBe(
        "cannot create network helyos-shop: could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network"
      )
      // fixed on the engine's side: the next pass creates it and the pod runs
      yield* fake.failNetwork("helyos-shop", undefined)
      yield* TestClock.adjust("5 seconds")
      yield* waitFor("shop-0", (s) => s.status === "running")
    }).pipe(Effect.provide(TestLayer)))
})
