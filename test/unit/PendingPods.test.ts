// A pod no node can run: its reason is in `helyos pods` and in ONE `pending` event per reason, not
// one per reconcile pass; a node big enough joining places it (`scheduled`).
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { NodeResources } from "../../src/domain/Node.js"
import { EventLog } from "../../src/services/observability/EventLog.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { join, masterOn, reconcile, spec, Wire } from "../support/harness/OrchestratorHarness.js"

const podEvents = Effect.map(
  Effect.flatMap(EventLog, (log) => log.recent(100)),
  (events) => events.filter((e) => e.kind === "pod")
)

const GiB = 2 ** 30

describe("pending pods", () => {
  it.scoped("one `pending` event with the reason over many passes; `scheduled` once a big node joins", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* join("w1")
      yield* join("w2")
      yield* orchestrator.deploy(spec({ resources: { cpu: 1, memory: "16g" } }))
      for (let i = 0; i < 5; i++) yield* reconcile

      const [pod] = yield* orchestrator.pods()
      expect(pod).toMatchObject({ name: "api-0", status: "pending", node: null })
      expect(pod?.message).toContain("no node can run this pod")
      expect(pod?.message).toContain("w1")
      const pending = (yield* podEvents).filter((e) => e.action === "pending")
      expect(pending).toHaveLength(1)
      expect(pending[0]).toMatchObject({ name: "api-0", message: pod?.message })

      const registry = yield* NodeRegistry
      const big = new NodeResources({ cpuCores: 8, memoryBytes: 32 * GiB, cpuAvailable: 8, memoryAvailable: 32 * GiB })
      const { node } = yield* registry.join({ name: "big", address: "127.0.0.1:7003", role: "Worker", resources: big })
      yield* (yield* Wire).connect(node.id)
      yield* reconcile
      yield* reconcile

      const [placed] = yield* orchestrator.pods()
      expect(placed).toMatchObject({ id: pod?.id, node: "big", status: "creating" })
      expect(placed?.message ?? null).toBeNull()
      const actions = (yield* podEvents).filter((e) => e.name === "api-0").map((e) => e.action)
      expect(actions).toEqual(["pending", "scheduled"])
    }).pipe(Effect.provide(masterOn(":memory:"))))

  it.scoped("a new reason is told again, the same one is not", () =>
    Effect.gen(function*() {
      const orchestrator = yield* Orchestrator
      yield* orchestrator.deploy(spec({ resources: { cpu: 1, memory: "16g" } }))
      yield* reconcile
      const first = (yield* orchestrator.pods())[0]?.message
      // a node joins that still cannot take it: the reason names it now
      yield* join("w1")
      yield* reconcile
      yield* reconcile
      const second = (yield* orchestrator.pods())[0]?.message
      expect(second).not.toEqual(first)
      expect(second).toContain("w1")
      const pending = (yield* podEvents).filter((e) => e.action === "pending").map((e) => e.message)
      expect(pending).toEqual([first, second])
    }).pipe(Effect.provide(masterOn(":memory:"))))
})
