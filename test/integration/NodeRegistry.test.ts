// NodeRegistrySql on a real SQLite file: joins, sessions, drain across restarts, removal, cheap heartbeats.
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { createHash } from "node:crypto"
import { Effect, Exit, Layer, Redacted, TestClock } from "effect"
import { NodeResources, nodeStatus } from "../../src/domain/Node.js"
import * as NodeRegistrySql from "../../src/layers/cluster/NodeRegistrySql.js"
import { type JoinRequest, NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { tempDbFile } from "../support/harness/TempDb.js"
import * as Database from "../../src/layers/state/Database.js"

const tempRegistryDb = tempDbFile("helyos-registry-")

/** One master lifetime on the file; closing the scope closes the database ("the master stops"). */
const inLifetime = <A, E>(file: string, body: Effect.Effect<A, E, NodeRegistry | SqlClient.SqlClient>) =>
  Effect.scoped(Effect.provide(body, NodeRegistrySql.layer.pipe(Layer.provideMerge(Database.layerWith(file)))))

/** One master lifetime on a fresh file, for the tests that never restart. */
const inFreshLifetime = <A, E>(body: Effect.Effect<A, E, NodeRegistry | SqlClient.SqlClient>) =>
  Effect.flatMap(tempRegistryDb, (file) => inLifetime(file, body))

const resources = (cpuAvailable: number) =>
  new NodeResources({ cpuCores: 4, memoryBytes: 8 * 2 ** 30, cpuAvailable, memoryAvailable: 6 * 2 ** 30 })

const worker = (name: string, address = "127.0.0.1:7001"): JoinRequest => ({
  name,
  address,
  role: "Worker",
  resources: resources(3.5)
})

const storedRow = (id: string) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const rows = yield* sql<{ liveness: string; lastHeartbeatMs: number; sessionHash: string; schedulable: string }>`
      SELECT liveness, last_heartbeat_ms, session_hash, schedulable FROM nodes WHERE id = ${id}`
    return rows[0]
  })

describe("NodeRegistrySql", () => {
  it.scoped("joined nodes are listed by name and found by name, Ready and active", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const b = yield* registry.join(worker("worker-b"))
          const a = yield* registry.join({ ...worker("master-a", "10.0.0.1:6444"), role: "Master" })
          expect((yield* registry.list).map((n) => n.name)).toEqual(["master-a", "worker-b"])
          const found = yield* registry.findByName("worker-b")
          expect(found.id).toBe(b.node.id)
          expect(found).toMatchObject({ role: "Worker", schedulable: "active", liveness: "Ready", address: "127.0.0.1:7001" })
          expect(found.resources.cpuAvailable).toBe(3.5)
          expect((yield* registry.get(a.node.id)).role).toBe("Master")
          expect(a.node.id).not.toBe(b.node.id)
        })
      )
    }))

  it.scoped("the session secret is 64 hex and only its SHA-256 is stored", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const { node, session } = yield* registry.join(worker("w1"))
          const secret = Redacted.value(session)
          expect(secret).toMatch(/^[0-9a-f]{64}$/)
          expect(String(session)).toBe("<redacted>")
          const row = yield* storedRow(node.id)
          expect(row?.sessionHash).toBe(createHash("sha256").update(secret).digest("hex"))
          expect((yield* registry.authenticate(node.id, secret)).name).toBe("w1")
        })
      )
    }))

  it.scoped("re-joining under the same name keeps the id and makes the old session stale", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const first = yield* registry.join(worker("w1", "127.0.0.1:7001"))
          const second = yield* registry.join(worker("w1", "127.0.0.1:7002"))
          expect(second.node.id).toBe(first.node.id)
          expect(second.node.address).toBe("127.0.0.1:7002")
          expect((yield* registry.list).length).toBe(1)

          const stale = yield* registry.authenticate(first.node.id, Redacted.value(first.session)).pipe(Effect.flip)
          expect(stale._tag).toBe("SessionInvalid")
          expect(stale.message).toBe("stale session: this node has re-registered since")
          expect((yield* registry.authenticate(first.node.id, Redacted.value(second.session))).id).toBe(first.node.id)
        })
      )
    }))

  it.scoped("a NotReady node that re-joins stays NotReady until a heartbeat shows it caught up; a new node is Ready at once", () =>
    inFreshLifetime(Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const { node } = yield* registry.join(worker("w1"))
      expect(node.liveness).toBe("Ready")
      yield* registry.setLiveness(node.id, "NotReady")
      expect((yield* registry.join(worker("w1"))).node.liveness).toBe("NotReady")
      expect((yield* storedRow(node.id))!.liveness).toBe("NotReady")
      expect((yield* registry.heartbeat(node.id, resources(2), false)).liveness).toBe("NotReady")
      expect((yield* registry.heartbeat(node.id, resources(2), true)).liveness).toBe("Ready")
    })))

  it.scoped("authenticate refuses a garbage secret, and an unknown id with NodeNotFound", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const { node } = yield* registry.join(worker("w1"))
          for (const secret of ["", "zz", "0".repeat(64), "0".repeat(200)]) {
            expect((yield* registry.authenticate(node.id, secret).pipe(Effect.flip))._tag).toBe("SessionInvalid")
          }
          const unknown = yield* registry.authenticate(node.id.replace(/./, "x") as typeof node.id, "00").pipe(Effect.flip)
          expect(unknown._tag).toBe("NodeNotFound")
        })
      )
    }))

  it.scoped("a drain persists across a master restart and heartbeats never undo it", () =>
    Effect.gen(function*() {
      const file = yield* tempRegistryDb
      const id = yield* inLifetime(
        file,
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const { node } = yield* registry.join(worker("w1"))
          const drained = yield* registry.setSchedulable("w1", "draining")
          expect(nodeStatus(drained)).toBe("Draining")
          const afterPing = yield* registry.heartbeat(node.id, resources(2))
          expect(afterPing.schedulable).toBe("draining")
          return node.id
        })
      )
      yield* inLifetime(
        file,
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          expect((yield* registry.findByName("w1")).schedulable).toBe("draining")
          // a NotReady node coming back is a liveness change; the drain still stands
          yield* registry.setLiveness(id, "NotReady")
          const back = yield* registry.heartbeat(id, resources(2))
          expect(back.liveness).toBe("Ready")
          expect(nodeStatus(back)).toBe("Draining")
          // the node re-registers: admin intent is kept too
          yield* registry.join(worker("w1"))
          expect(nodeStatus(yield* registry.findByName("w1"))).toBe("Draining")
          // only the operator lifts it
          expect(nodeStatus(yield* registry.setSchedulable("w1", "active"))).toBe("Ready")
        })
      )
    }))

  it.scoped("a removed node fails authentication with NodeNotFound and is gone from the list", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const { node, session } = yield* registry.join(worker("w1"))
          const removed = yield* registry.remove("w1")
          expect(removed.id).toBe(node.id)
          const refused = yield* registry.authenticate(node.id, Redacted.value(session)).pipe(Effect.flip)
          expect(refused._tag).toBe("NodeNotFound")
          expect(refused.message).toBe(`node '${node.id}' not found`)
          expect(yield* registry.list).toEqual([])
          expect((yield* registry.heartbeat(node.id, resources(1)).pipe(Effect.flip))._tag).toBe("NodeNotFound")
          expect(Exit.isFailure(yield* Effect.exit(registry.remove("w1")))).toBe(true)
          expect(Exit.isFailure(yield* Effect.exit(registry.findByName("w1")))).toBe(true)
        })
      )
    }))

  it.scoped("a heartbeat of a Ready node changes memory only; coming back from NotReady is persisted", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          const { node } = yield* registry.join(worker("w1")) // t = 0
          yield* TestClock.adjust("7 seconds")
          const pinged = yield* registry.heartbeat(node.id, resources(1.25))
          expect(pinged.lastHeartbeatMs).toBe(7_000)
          const listed = (yield* registry.list)[0]
          expect(listed?.lastHeartbeatMs).toBe(7_000)
          expect(listed?.resources.cpuAvailable).toBe(1.25)
          expect((yield* storedRow(node.id))?.lastHeartbeatMs).toBe(0) // no write for that ping

          yield* registry.setLiveness(node.id, "NotReady")
          expect((yield* storedRow(node.id))?.liveness).toBe("NotReady")
          yield* TestClock.adjust("5 seconds")
          yield* registry.heartbeat(node.id, resources(1.25))
          expect(yield* storedRow(node.id)).toMatchObject({ liveness: "Ready", lastHeartbeatMs: 12_000 })
        })
      )
    }))

  it.scoped("grantGrace sets every node's last heartbeat to now", () =>
    Effect.gen(function*() {
      yield* inFreshLifetime(
        Effect.gen(function*() {
          const registry = yield* NodeRegistry
          yield* registry.join(worker("w1"))
          yield* registry.join(worker("w2"))
          yield* TestClock.adjust("40 seconds")
          yield* registry.grantGrace
          expect((yield* registry.list).map((n) => n.lastHeartbeatMs)).toEqual([40_000, 40_000])
        })
      )
    }))
})
