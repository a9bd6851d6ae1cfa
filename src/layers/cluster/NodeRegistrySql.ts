// NodeRegistry on SQLite plus an in-memory heartbeat table: a ping updates memory only, and SQLite
// is written when liveness changes, when an operator acts, or when a node joins or leaves.
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlSchema from "@effect/sql/SqlSchema"
import { randomBytes, randomUUID } from "node:crypto"
import { Clock, Effect, Layer, Option, Redacted, Schema } from "effect"
import { NodeNotFound, SessionInvalid } from "../../domain/Errors.js"
import { Liveness, NodeId, NodeRecord, NodeResources, NodeRole, Schedulable } from "../../domain/Node.js"
import { digestsEqual, tokenDigest } from "../../domain/Tokens.js"
import { type JoinRequest, NodeRegistry } from "../../services/cluster/NodeRegistry.js"

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

/** Constant time: both sides are 32-byte digests; a corrupt stored hash simply never matches. */
const sessionMatches = (storedHex: string, presented: string): boolean =>
  digestsEqual(tokenDigest(presented), Buffer.from(storedHex, "hex"))

// Rows are already decoded (or built from checked values): constructing them again with validation
// on would run the schema for every node on every `list`, which was most of the master's CPU under load.
const TRUSTED = true

const rowResources = (row: NodeRow) =>
  new NodeResources({
    cpuCores: row.cpuCores,
    memoryBytes: row.memoryBytes,
    cpuAvailable: row.cpuAvailable,
    memoryAvailable: row.memoryAvailable
  }, TRUSTED)

const resourceColumns = (r: NodeResources) => ({
  cpuCores: r.cpuCores,
  memoryBytes: Math.round(r.memoryBytes),
  cpuAvailable: r.cpuAvailable,
  memoryAvailable: Math.round(r.memoryAvailable)
})

/** The record users see: the row, with the in-memory heartbeat time and resources when we have them. */
const toRecord = (row: NodeRow, seen: Seen | undefined) =>
  new NodeRecord({
    id: row.id,
    name: row.name,
    address: row.address,
    role: row.role,
    schedulable: row.schedulable,
    liveness: row.liveness,
    resources: seen === undefined ? rowResources(row) : seen.resources,
    lastHeartbeatMs: seen === undefined ? row.lastHeartbeatMs : seen.lastHeartbeatMs,
    joinedAtMs: row.joinedAtMs
  }, TRUSTED)

const byName = (a: NodeRow, b: NodeRow) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)

export const make = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  // The registry is the only writer of the `nodes` table, so it keeps every row in memory too
  // (write-through: a row changes in memory only after its SQL statement succeeded). Reads and
  // heartbeats are served from memory; SQLite is read once, here.
  const rows = new Map<NodeId, NodeRow>()
  /** rows sorted by name, rebuilt lazily after a write */
  let sorted: ReadonlyArray<NodeRow> | undefined
  /** what pings leave behind, kept off the disk */
  const seen = new Map<NodeId, Seen>()
  // one writer at a time, so read-check-write sequences (join, transitions) don't interleave
  const writer = yield* Effect.makeSemaphore(1)
  const serialized = writer.withPermits(1)

  const rowByName = SqlSchema.findOne({ Request: Schema.String, Result: NodeRow, execute: (name) => sql`SELECT * FROM nodes WHERE name = ${name}` })
  const allRows = SqlSchema.findAll({ Request: Schema.Void, Result: NodeRow, execute: () => sql`SELECT * FROM nodes ORDER BY name` })
  /** the one row an INSERT/UPDATE ... RETURNING * produced */
  const returned = <E>(statement: Effect.Effect<ReadonlyArray<unknown>, E>) =>
    statement.pipe(Effect.flatMap((rows) => Schema.decodeUnknown(NodeRow)(rows[0])), Effect.orDie)

  const remember = (row: NodeRow) => {
    rows.set(row.id, row)
    sorted = undefined
    return row
  }
  const forget = (id: NodeId) => {
    rows.delete(id)
    seen.delete(id)
    records.delete(id)
    sorted = undefined
  }
  for (const row of yield* allRows(undefined).pipe(Effect.orDie)) remember(row)

  // The last record built per node, reused while its row and its last ping are the same objects:
  // `list` (several times a second, for every node) then builds only the records that changed.
  const records = new Map<NodeId, { readonly row: NodeRow; readonly seen: Seen | undefined; readonly record: NodeRecord }>()
  const recordOf = (row: NodeRow, s: Seen | undefined) => {
    const known = records.get(row.id)
    if (known !== undefined && known.row === row && known.seen === s) return known.record
    const built = toRecord(row, s)
    records.set(row.id, { row, seen: s, record: built })
    return built
  }
  const record = (row: NodeRow) => recordOf(row, seen.get(row.id))

  const requireById = (id: NodeId) =>
    Effect.suspend(() => {
      const row = rows.get(id)
      return row === undefined ? Effect.fail(new NodeNotFound({ name: id })) : Effect.succeed(row)
    })
  const findRowByName = (name: string): NodeRow | undefined => {
    for (const row of rows.values()) if (row.name === name) return row
    return undefined
  }
  const requireByName = (name: string) =>
    Effect.suspend(() => {
      const row = findRowByName(name)
      return row === undefined ? Effect.fail(new NodeNotFound({ name })) : Effect.succeed(row)
    })
  const update = (id: NodeId, changes: Record<string, string | number>) =>
    returned(sql`UPDATE nodes SET ${sql.update(changes)} WHERE id = ${id} RETURNING *`).pipe(Effect.map(remember))

  const join = (req: JoinRequest) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const session = randomBytes(32).toString("hex")
      const sessionHash = tokenDigest(session).toString("hex")
      const previous = yield* rowByName(req.name).pipe(Effect.orDie)
      const row = yield* Option.match(previous, {
        // a re-join keeps id, role, admin intent, join time and liveness (a NotReady or dead node is
        // Ready again only once it has applied its assignment: its pods may have moved meanwhile);
        // the new session hash makes the old one stale
        onSome: (old) =>
          update(old.id, {
            address: req.address,
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
          } RETURNING *`).pipe(Effect.map(remember))
      })
      seen.set(row.id, { lastHeartbeatMs: now, resources: req.resources })
      yield* Effect.logInfo(
        Option.isSome(previous)
          ? `node '${row.name}' re-joined (${row.role}, ${row.address}): its previous session is revoked` +
            (row.liveness === "Ready" ? "" : `; ${row.liveness} until it has applied its assignment`)
          : `node '${row.name}' joined (${row.role}, ${row.address})`
      )
      return { node: toRecord(row, undefined), session: Redacted.make(session) }
    }).pipe(serialized)

  const authenticate = (id: NodeId, session: string) =>
    Effect.flatMap(requireById(id), (row) =>
      sessionMatches(row.sessionHash, session)
        ? Effect.sync(() => record(row))
        : Effect.fail(new SessionInvalid({ reason: STALE_SESSION })))

  /** NotReady/Dead -> Ready: the only heartbeat that touches the disk (never `schedulable`). */
  const backToReady = (id: NodeId, resources: NodeResources) =>
    Effect.gen(function*() {
      const row = yield* requireById(id)
      const now = yield* Clock.currentTimeMillis
      seen.set(id, { lastHeartbeatMs: now, resources })
      if (row.liveness === "Ready") return toRecord(row, seen.get(id))
      const back = yield* update(id, { liveness: "Ready", lastHeartbeatMs: now, ...resourceColumns(resources) })
      yield* Effect.logInfo(`node '${row.name}' is Ready again (was ${row.liveness})`)
      return toRecord(back, undefined)
    }).pipe(serialized)

  // A ping from a Ready node (or a returning one not caught up yet) touches memory only: no SQL, no lock.
  const heartbeat = (id: NodeId, resources: NodeResources, caughtUp = true) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.suspend(() => {
        const row = rows.get(id)
        if (row === undefined) return Effect.fail(new NodeNotFound({ name: id }))
        if (row.liveness !== "Ready" && caughtUp) return backToReady(id, resources)
        const s = { lastHeartbeatMs: now, resources }
        seen.set(id, s)
        return Effect.succeed(recordOf(row, s))
      }))

  const setLiveness = (id: NodeId, liveness: Liveness) =>
    Effect.gen(function*() {
      const row = yield* requireById(id)
      const s = seen.get(id)
      if (row.liveness === liveness) return toRecord(row, s)
      // persist what memory knows too, so the file tells when the node was last heard from
      const persisted = s === undefined ? {} : { lastHeartbeatMs: s.lastHeartbeatMs, ...resourceColumns(s.resources) }
      return toRecord(yield* update(id, { liveness, ...persisted }), seen.get(id))
    }).pipe(serialized)

  const setSchedulable = (name: string, schedulable: Schedulable) =>
    Effect.gen(function*() {
      const row = yield* requireByName(name)
      if (row.schedulable === schedulable) return record(row)
      yield* Effect.logInfo(`node '${name}' is now ${schedulable}`)
      return record(yield* update(row.id, { schedulable }))
    }).pipe(serialized)

  const remove = (name: string) =>
    Effect.gen(function*() {
      const row = yield* requireByName(name)
      const last = record(row)
      yield* sql`DELETE FROM nodes WHERE id = ${row.id}`.pipe(Effect.orDie)
      forget(row.id)
      yield* Effect.logInfo(`node '${name}' removed: its session is revoked`)
      return last
    }).pipe(serialized)

  const list = Effect.sync(() => {
    if (sorted === undefined) sorted = Array.from(rows.values()).sort(byName)
    return sorted.map(record)
  })

  /** last heartbeat = now for every node; resources stay whatever was last known */
  const grantGrace = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    for (const node of yield* list) seen.set(node.id, { lastHeartbeatMs: now, resources: node.resources })
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
    get: (id) => Effect.map(requireById(id), record),
    findByName: (name) => Effect.map(requireByName(name), record),
    list,
    grantGrace
  })
})

/** NodeRegistry on a migrated SqlClient (Database.layerWith). Building it grants every node a grace period. */
export const layer = Layer.effect(NodeRegistry, make)
