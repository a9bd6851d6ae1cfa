// NodeRegistry on SQLite plus an in-memory heartbeat table: a ping updates memory only, and SQLite
// is written when liveness changes, when an operator acts, or when a node joins or leaves.
import { SqlClient, SqlSchema } from "@effect/sql"
import { createHash, randomBytes, randomUUID, timingSafeEqual } from "node:crypto"
import { Clock, Effect, HashMap, Layer, Option, Redacted, Ref, Schema } from "effect"
import { NodeNotFound, SessionInvalid } from "../domain/Errors.js"
import { Liveness, NodeId, NodeRecord, NodeResources, NodeRole, Schedulable } from "../domain/Node.js"
import { type JoinRequest, NodeRegistry } from "../services/NodeRegistry.js"

/** A `nodes` row as the client returns it (snake_case already mapped to camelCase). */
const NodeRow = Schema.Struct({
  id: NodeId,
  name: Schema.String,
  address: Schema.String,
  role: NodeRole,
  schedulable: Schedulable,
  liveness: Liveness,
  cpuCores: Schema.Number,
  memoryBytes: Schema.Number,
  cpuAvailable: Schema.Number,
  memoryAvailable: Schema.Number,
  lastHeartbeatMs: Schema.Number,
  joinedAtMs: Schema.Number,
  sessionHash: Schema.String
})
type NodeRow = typeof NodeRow.Type

/** What a ping leaves behind, kept off the disk. */
interface Seen {
  readonly lastHeartbeatMs: number
  readonly resources: NodeResources
}

const STALE_SESSION = "stale session: this node has re-registered since"

const sha256 = (text: string): Buffer => createHash("sha256").update(text, "utf8").digest()

/** Constant time: both sides are 32-byte digests; a corrupt stored hash simply never matches. */
const sessionMatches = (storedHex: string, presented: string): boolean => {
  const candidate = sha256(presented)
  const stored = Buffer.from(storedHex, "hex")
  return stored.length === candidate.length && timingSafeEqual(candidate, stored)
}

const rowResources = (row: NodeRow) =>
  new NodeResources({
    cpuCores: row.cpuCores,
    memoryBytes: row.memoryBytes,
    cpuAvailable: row.cpuAvailable,
    memoryAvailable: row.memoryAvailable
  })

const resourceColumns = (r: NodeResources) => ({
  cpuCores: r.cpuCores,
  memoryBytes: Math.round(r.memoryBytes),
  cpuAvailable: r.cpuAvailable,
  memoryAvailable: Math.round(r.memoryAvailable)
})

/** The record users see: the row, with the in-memory heartbeat time and resources when we have them. */
const toRecord = (row: NodeRow, seen: Option.Option<Seen>) =>
  new NodeRecord({
    id: row.id,
    name: row.name,
    address: row.address,
    role: row.role,
    schedulable: row.schedulable,
    liveness: row.liveness,
    resources: Option.match(seen, { onNone: () => rowResources(row), onSome: (s) => s.resources }),
    lastHeartbeatMs: Option.match(seen, { onNone: () => row.lastHeartbeatMs, onSome: (s) => s.lastHeartbeatMs }),
    joinedAtMs: row.joinedAtMs
  })

const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const seen = yield* Ref.make(HashMap.empty<NodeId, Seen>())
  // one writer at a time, so read-check-write sequences (join, transitions) don't interleave
  const writer = yield* Effect.makeSemaphore(1)
  const serialized = writer.withPermits(1)

  const rowById = SqlSchema.findOne({ Request: NodeId, Result: NodeRow, execute: (id) => sql`SELECT * FROM nodes WHERE id = ${id}` })
  const rowByName = SqlSchema.findOne({ Request: Schema.String, Result: NodeRow, execute: (name) => sql`SELECT * FROM nodes WHERE name = ${name}` })
  const allRows = SqlSchema.findAll({ Request: Schema.Void, Result: NodeRow, execute: () => sql`SELECT * FROM nodes ORDER BY name` })
  /** the one row an INSERT/UPDATE ... RETURNING * produced */
  const returned = <E>(statement: Effect.Effect<ReadonlyArray<unknown>, E>) =>
    statement.pipe(Effect.flatMap((rows) => Schema.decodeUnknown(NodeRow)(rows[0])), Effect.orDie)

  const seenOf = (id: NodeId) => Effect.map(Ref.get(seen), HashMap.get(id))
  const record = (row: NodeRow) => Effect.map(seenOf(row.id), (s) => toRecord(row, s))

  const requireById = (id: NodeId) =>
    rowById(id).pipe(
      Effect.orDie,
      Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NodeNotFound({ name: id })), onSome: Effect.succeed }))
    )
  const requireByName = (name: string) =>
    rowByName(name).pipe(
      Effect.orDie,
      Effect.flatMap(Option.match({ onNone: () => Effect.fail(new NodeNotFound({ name })), onSome: Effect.succeed }))
    )
  const update = (id: NodeId, changes: Record<string, string | number>) =>
    returned(sql`UPDATE nodes SET ${sql.update(changes)} WHERE id = ${id} RETURNING *`)

  const join = (req: JoinRequest) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const session = randomBytes(32).toString("hex")
      const sessionHash = sha256(session).toString("hex")
      const previous = yield* rowByName(req.name).pipe(Effect.orDie)
      const row = yield* Option.match(previous, {
        // a re-join keeps id, role, admin intent and join time; the new session hash makes the old one stale
        onSome: (old) =>
          update(old.id, {
            address: req.address,
            liveness: "Ready",
            ...resourceColumns(req.resources),
            lastHeartbeatMs: now,
            sessionHash
          }),
        onNone: () =>
          returned(sql`INSERT INTO nodes ${
            sql.insert({
              id: randomUUID(),
              name: req.name,
              address: req.address,
              role: req.role,
              schedulable: "active",
              liveness: "Ready",
              ...resourceColumns(req.resources),
              lastHeartbeatMs: now,
              joinedAtMs: now,
              sessionHash
            })
          } RETURNING *`)
      })
      yield* Ref.update(seen, HashMap.set(row.id, { lastHeartbeatMs: now, resources: req.resources }))
      yield* Effect.logInfo(
        Option.isSome(previous)
          ? `node '${row.name}' re-joined (${row.role}, ${row.address}): its previous session is revoked`
          : `node '${row.name}' joined (${row.role}, ${row.address})`
      )
      return { node: toRecord(row, Option.none()), session: Redacted.make(session) }
    }).pipe(serialized)

  const authenticate = (id: NodeId, session: string) =>
    Effect.gen(function*() {
      const row = yield* requireById(id)
      if (!sessionMatches(row.sessionHash, session)) return yield* new SessionInvalid({ reason: STALE_SESSION })
      return yield* record(row)
    })

  const heartbeat = (id: NodeId, resources: NodeResources) =>
    Effect.gen(function*() {
      const row = yield* requireById(id)
      const now = yield* Clock.currentTimeMillis
      yield* Ref.update(seen, HashMap.set(id, { lastHeartbeatMs: now, resources }))
      if (row.liveness === "Ready") return toRecord(row, Option.some({ lastHeartbeatMs: now, resources }))
      // the only heartbeat that touches the disk: NotReady/Dead -> Ready (never `schedulable`)
      const back = yield* update(id, { liveness: "Ready", lastHeartbeatMs: now, ...resourceColumns(resources) })
      yield* Effect.logInfo(`node '${row.name}' is Ready again (was ${row.liveness})`)
      return toRecord(back, Option.none())
    }).pipe(serialized)

  const setLiveness = (id: NodeId, liveness: Liveness) =>
    Effect.gen(function*() {
      const row = yield* requireById(id)
      const s = yield* seenOf(id)
      if (row.liveness === liveness) return toRecord(row, s)
      // persist what memory knows too, so the file tells when the node was last heard from
      const persisted = Option.match(s, {
        onNone: () => ({}),
        onSome: (x) => ({ lastHeartbeatMs: x.lastHeartbeatMs, ...resourceColumns(x.resources) })
      })
      return toRecord(yield* update(id, { liveness, ...persisted }), s)
    }).pipe(serialized)

  const setSchedulable = (name: string, schedulable: Schedulable) =>
    Effect.gen(function*() {
      const row = yield* requireByName(name)
      if (row.schedulable === schedulable) return yield* record(row)
      yield* Effect.logInfo(`node '${name}' is now ${schedulable}`)
      return yield* record(yield* update(row.id, { schedulable }))
    }).pipe(serialized)

  const remove = (name: string) =>
    Effect.gen(function*() {
      const row = yield* requireByName(name)
      const last = yield* record(row)
      yield* sql`DELETE FROM nodes WHERE id = ${row.id}`.pipe(Effect.orDie)
      yield* Ref.update(seen, HashMap.remove(row.id))
      yield* Effect.logInfo(`node '${name}' removed: its session is revoked`)
      return last
    }).pipe(serialized)

  const list = Effect.gen(function*() {
    const rows = yield* allRows(undefined).pipe(Effect.orDie)
    const memory = yield* Ref.get(seen)
    return rows.map((row) => toRecord(row, HashMap.get(memory, row.id)))
  })

  /** last heartbeat = now for every node; resources stay whatever was last known */
  const grantGrace = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const node of yield* list) {
      yield* Ref.update(seen, HashMap.set(node.id, { lastHeartbeatMs: now, resources: node.resources }))
    }
  }).pipe(serialized)

  // master start: nobody has had a chance to ping us yet, so everybody starts with a full grace period
  yield* grantGrace

  return NodeRegistry.of({
    join,
    authenticate,
    heartbeat,
    setLiveness,
    setSchedulable,
    remove,
    get: (id) => Effect.flatMap(requireById(id), record),
    findByName: (name) => Effect.flatMap(requireByName(name), record),
    list,
    grantGrace
  })
})

/** NodeRegistry on a migrated SqlClient (DatabaseLive). Building it grants every node a grace period. */
export const NodeRegistrySql = {
  make,
  layer: Layer.effect(NodeRegistry, make)
} as const

/** The same layer under the `XxxLive` name the programs use. */
export const NodeRegistrySqlLive = NodeRegistrySql.layer
