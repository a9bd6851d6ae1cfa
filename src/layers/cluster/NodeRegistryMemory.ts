// NodeRegistry in memory, with the same rules as NodeRegistrySql: a `NodeTable` plays the part of the
// `nodes` table (it outlives a registry, so a "master restart" is a new registry on the same table),
// and last-heartbeat times live beside it and are lost on restart, exactly as on SQLite.
import { randomBytes, randomUUID } from "node:crypto"
import { Clock, Effect, Layer, Redacted } from "effect"
import { NodeNotFound, SessionInvalid } from "../../domain/Errors.js"
import { type Liveness, NodeId, NodeRecord, type NodeResources, type Schedulable } from "../../domain/Node.js"
import { digestsEqual, tokenDigest } from "../../domain/Tokens.js"
import { type JoinRequest, NodeRegistry } from "../../services/cluster/NodeRegistry.js"

/** What survives a master restart: the node record as last persisted, and its session digest. */
interface StoredNode {
  readonly record: NodeRecord
  readonly sessionDigest: Buffer
}

/** The durable part of the registry; share one between builds to restart a master on the same store. */
export interface NodeTable {
  readonly rows: Map<NodeId, StoredNode>
}

export const makeTable = (): NodeTable => ({ rows: new Map() })

const STALE_SESSION = "stale session: this node has re-registered since"

export const make = (table: NodeTable) =>
  Effect.gen(function*() {
    const { rows } = table
    /** what pings leave behind: never "persisted", so a restart forgets it (grantGrace refills it) */
    const seen = new Map<NodeId, { readonly lastHeartbeatMs: number; readonly resources: NodeResources }>()

    const recordOf = (stored: StoredNode): NodeRecord => {
      const s = seen.get(stored.record.id)
      return s === undefined ? stored.record : new NodeRecord({ ...stored.record, ...s })
    }
    const requireById = (id: NodeId) =>
      Effect.suspend(() => {
        const stored = rows.get(id)
        return stored === undefined ? Effect.fail(new NodeNotFound({ name: id })) : Effect.succeed(stored)
      })
    const requireByName = (name: string) =>
      Effect.suspend(() => {
        for (const stored of rows.values()) if (stored.record.name === name) return Effect.succeed(stored)
        return Effect.fail(new NodeNotFound({ name }))
      })
    const persist = (stored: StoredNode, fields: Partial<NodeRecord>): StoredNode => {
      const next = { ...stored, record: new NodeRecord({ ...stored.record, ...fields }) }
      rows.set(next.record.id, next)
      return next
    }

    const join = (req: JoinRequest) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const session = randomBytes(32).toString("hex")
        const previous = Array.from(rows.values()).find((s) => s.record.name === req.name)
        // a re-join keeps id, role, admin intent, join time and liveness; the new digest makes the old session stale
        const record = new NodeRecord({
          id: previous?.record.id ?? NodeId.make(randomUUID()),
          name: req.name,
          address: req.address,
          role: previous?.record.role ?? req.role,
          schedulable: previous?.record.schedulable ?? "active",
          // a NotReady or dead node is Ready again only once it has applied its assignment
          liveness: previous?.record.liveness ?? "Ready",
          resources: req.resources,
          lastHeartbeatMs: now,
          joinedAtMs: previous?.record.joinedAtMs ?? now
        })
        rows.set(record.id, { record, sessionDigest: tokenDigest(session) })
        seen.set(record.id, { lastHeartbeatMs: now, resources: req.resources })
        return { node: record, session: Redacted.make(session) }
      })

    const heartbeat = (id: NodeId, resources: NodeResources, caughtUp = true) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.map(requireById(id), (stored) => {
          seen.set(id, { lastHeartbeatMs: now, resources })
          // NotReady/Dead -> Ready is a transition, persisted as on SQLite
          const current = stored.record.liveness === "Ready" || !caughtUp ? stored : persist(stored, { liveness: "Ready", lastHeartbeatMs: now, resources })
          return recordOf(current)
        }))

    const setLiveness = (id: NodeId, liveness: Liveness) =>
      Effect.map(requireById(id), (stored) => {
        if (stored.record.liveness === liveness) return recordOf(stored)
        return recordOf(persist(stored, { liveness, ...seen.get(id) }))
      })

    const setSchedulable = (name: string, schedulable: Schedulable) =>
      Effect.map(requireByName(name), (stored) =>
        recordOf(stored.record.schedulable === schedulable ? stored : persist(stored, { schedulable })))

    const remove = (name: string) =>
      Effect.map(requireByName(name), (stored) => {
        const last = recordOf(stored)
        rows.delete(stored.record.id)
        seen.delete(stored.record.id)
        return last
      })

    const list = Effect.sync(() =>
      Array.from(rows.values(), recordOf).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)))

    const grantGrace = Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        for (const stored of rows.values()) seen.set(stored.record.id, { lastHeartbeatMs: now, resources: recordOf(stored).resources })
      }))

    // master start: nobody has had a chance to ping us yet, so everybody starts with a full grace period
    yield* grantGrace

    return NodeRegistry.of({
      join,
      authenticate: (id, session) =>
        Effect.flatMap(requireById(id), (stored) =>
          digestsEqual(tokenDigest(session), stored.sessionDigest)
            ? Effect.sync(() => recordOf(stored))
            : Effect.fail(new SessionInvalid({ reason: STALE_SESSION }))),
      heartbeat,
      setLiveness,
      setSchedulable,
      remove,
      get: (id) => Effect.map(requireById(id), recordOf),
      findByName: (name) => Effect.map(requireByName(name), recordOf),
      list,
      grantGrace
    })
  })

/** A registry on `table`: build it again on the same table to simulate a master restart. */
export const layerWith = (table: NodeTable) => Layer.effect(NodeRegistry, make(table))

/** A registry on a fresh table. */
export const layer = Layer.suspend(() => layerWith(makeTable()))
