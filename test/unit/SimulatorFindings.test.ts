// Bugs the cluster simulator (src/testkit) found, checked on the product's own pieces in virtual time.
// The worker agent's side is in test/integration/SimulatorFindings.test.ts.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { eventually } from "../support/harness/Eventually.js"

const NODE = "w1"

const labelsOf = (podId: string) => ({
  "managed-by": "helyos",
  "helyos.project": "shop",
  "helyos.deployment": "api",
  "helyos.pod-id": podId,
  "helyos.node": NODE
})

/** A restarted daemon's pod runtime on an engine that still runs the container of its previous run. */
const restarted = Layer.scoped(LocalWorkload, LocalWorkloadRuntime.make(NODE, { resyncInterval: "5 seconds", stopGrace: "1 second" })).pipe(
  Layer.provideMerge(ContainerRuntimeMemory.layerWith({ images: ["nginx:1"] }))
)

describe("found by the simulator", () => {
  it.scoped("fencing before the first assignment stops the containers a restarted daemon still runs", () =>
    Effect.gen(function*() {
      const engine = yield* MemoryEngine
      const left = yield* engine.seed({ name: "helyos-shop-api-0-aaaaaa", labels: labelsOf("pod-0"), network: "helyos-shop" })
      // cut off from the master since the restart: --stop-after-disconnect fences the node
      expect(yield* (yield* LocalWorkload).fence).toBe(0)
      yield* eventually(Effect.map(engine.containers, (all) => !all.some((c) => c.id === left)), { what: "the left-over container is removed" })
    }).pipe(Effect.provide(restarted)))
})
