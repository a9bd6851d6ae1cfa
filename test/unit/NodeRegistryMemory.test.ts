// The in-memory NodeRegistry keeps NodeRegistrySql's rules: sessions, re-joins, drains that survive a
// restart on the same table, transitions persisted, heartbeat times forgotten (and re-granted) on restart.
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Redacted, TestClock } from "effect"
import { NodeResources } from "../../src/domain/Node.js"
import * as NodeRegistryMemory from "../../src/layers/cluster/NodeRegistryMemory.js"
import type { JoinRequest } from "../../src/services/cluster/NodeRegistry.js"

const resources = new NodeResources({ cpuCores: 2, memoryBytes: 2 ** 31, cpuAvailable: 2, memoryAvailable: 2 ** 31 })
const worker = (name: string, address = "198.51.100.2"): JoinRequest => ({ name, address, role: "Worker", resources })

describe("NodeRegistryMemory", () => {
  it.effect("joined nodes are listed by name, Ready and active", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistryMemory.make(NodeRegistryMemory.makeTable())
      yield* registry.join(worker("w2"))
      yield* registry.join(worker("w1"))
      const nodes = yield* registry.list
      expect(nodes.map((n) => [n.name, n.liveness, n.schedulable])).toEqual([["w1", "Ready", "active"], ["w2", "Ready", "active"]])
    }))

  it.effect("re-joining keeps the id and join time, takes the new address and makes the old session stale", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistryMemory.make(NodeRegistryMemory.makeTable())
      const first = yield* registry.join(worker("w1"))
      yield* TestClock.adjust("10 seconds")
      const second = yield* registry.join(worker("w1", "198.51.100.3"))
      expect(second.node.id).toBe(first.node.id)
      expect(second.node.joinedAtMs).toBe(first.node.joinedAtMs)
      expect(second.node.address).toBe("198.51.100.3")
      const stale = yield* Effect.exit(registry.authenticate(first.node.id, Redacted.value(first.session)))
      expect(Exit.isFailure(stale)).toBe(true)
      expect((yield* registry.authenticate(second.node.id, Redacted.value(second.session))).name).toBe("w1")
    }))

  it.effect("a drain and a NotReady survive a restart on the same table; a heartbeat makes the node Ready, never active", () =>
    Effect.gen(function*() {
      const table = NodeRegistryMemory.makeTable()
      const before = yield* NodeRegistryMemory.make(table)
      const { node } = yield* before.join(worker("w1"))
      yield* before.setSchedulable("w1", "draining")
      yield* before.setLiveness(node.id, "NotReady")
      const after = yield* NodeRegistryMemory.make(table)
      expect((yield* after.get(node.id)).liveness).toBe("NotReady")
      const back = yield* after.heartbeat(node.id, resources)
      expect([back.liveness, back.schedulable]).toEqual(["Ready", "draining"])
    }))

  it.effect("a dead node that re-joins stays dead until a heartbeat shows it caught up with its assignment", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistryMemory.make(NodeRegistryMemory.makeTable())
      const { node } = yield* registry.join(worker("w1"))
      yield* registry.setLiveness(node.id, "Dead")
      const again = yield* registry.join(worker("w1"))
      expect(again.node.liveness).toBe("Dead")
      expect((yield* registry.heartbeat(node.id, resources, false)).liveness).toBe("Dead")
      expect((yield* registry.heartbeat(node.id, resources, true)).liveness).toBe("Ready")
    }))

  it.effect("heartbeat times are not persisted: a restart grants every node a grace period from now", () =>
    Effect.gen(function*() {
      const table = NodeRegistryMemory.makeTable()
      const before = yield* NodeRegistryMemory.make(table)
      const { node } = yield* before.join(worker("w1"))
      yield* TestClock.adjust("5 seconds")
      yield* before.heartbeat(node.id, resources)
      yield* TestClock.adjust("50 seconds")
      const after = yield* NodeRegistryMemory.make(table)
      expect((yield* after.get(node.id)).lastHeartbeatMs).toBe(55_000)
    }))

  it.effect("a removed node is gone and fails authentication", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistryMemory.make(NodeRegistryMemory.makeTable())
      const { node, session } = yield* registry.join(worker("w1"))
      yield* registry.remove("w1")
      expect(yield* registry.list).toEqual([])
      const refused = yield* Effect.flip(registry.authenticate(node.id, Redacted.value(session)))
      expect(refused._tag).toBe("NodeNotFound")
    }))
})
