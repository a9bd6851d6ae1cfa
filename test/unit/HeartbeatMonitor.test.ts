// The heartbeat monitor in virtual time: NotReady after 30 s, dead after 60 s (one NodeDead per death),
// drains and masters left alone, a fresh grace period after a master restart, millisecond timers.
import { describe, expect, it } from "@effect/vitest"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Duration, Effect, Fiber, Layer, Logger, Queue, Schedule, TestClock } from "effect"
import type { ClusterEvent } from "../../src/domain/ClusterEvent.js"
import { type NodeId, NodeResources, nodeStatus } from "../../src/domain/Node.js"
import * as NodeRegistryMemory from "../../src/layers/cluster/NodeRegistryMemory.js"
import { DaemonConfig, defaults } from "../../src/services/DaemonConfig.js"
import { Events } from "../../src/services/observability/Events.js"
import { type JoinRequest, NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import * as HeartbeatMonitorLive from "../../src/layers/cluster/HeartbeatMonitorLive.js"
import * as EventsLive from "../../src/layers/observability/EventsLive.js"

interface Timers {
  readonly heartbeatInterval: Duration.Duration
  readonly monitorInterval: Duration.Duration
  readonly notReadyAfter: Duration.Duration
  readonly deadAfter: Duration.Duration
}

const configLayer = (timers: Timers) =>
  DaemonConfig.layer({ mode: "master", dataDir: tmpdir(), nodeName: "master", cliConfigPath: join(tmpdir(), "helyos-cli.toml"), ...timers })

/** The documented defaults: heartbeat 5 s, scan 10 s, NotReady 30 s, dead 60 s. */
const standard: Timers = defaults

/** Monitor + registry + events on one node table (no SQLite); each build is one "master lifetime". */
const masterOn = (table: NodeRegistryMemory.NodeTable, timers: Timers = standard) =>
  HeartbeatMonitorLive.layer.pipe(
    Layer.provideMerge(Layer.mergeAll(NodeRegistryMemory.layerWith(table), EventsLive.layer, configLayer(timers)))
  )

const resources = new NodeResources({ cpuCores: 2, memoryBytes: 2 ** 31, cpuAvailable: 2, memoryAvailable: 2 ** 31 })
const worker = (name: string): JoinRequest => ({ name, address: "127.0.0.1:7001", role: "Worker", resources })

/** Subscribe (before anything happens) and return a function draining what arrived so far, by tag. */
const recordEvents = Effect.gen(function*() {
  const queue = yield* Effect.flatMap(Events, (events) => events.subscribe)
  const seen: Array<ClusterEvent> = []
  return (tag: ClusterEvent["_tag"]) =>
    Effect.map(Queue.takeAll(queue), (batch) => {
      seen.push(...batch)
      return seen.filter((event) => event._tag === tag)
    })
})

const livenessOf = (id: NodeId) => Effect.flatMap(NodeRegistry, (registry) => Effect.map(registry.get(id), (n) => n.liveness))

/** WARN lines logged while its layer is provided (tests run without the default logger). */
const warningLog = () => {
  const lines: Array<string> = []
  const layer = Logger.add(Logger.make(({ logLevel, message }) => {
    if (logLevel._tag === "Warning") lines.push((Array.isArray(message) ? message : [message]).map(String).join(" "))
  }))
  return { lines, layer }
}

/** A worker agent in virtual time: ping every `every` until interrupted. */
const keepPinging = (id: NodeId, every: Duration.DurationInput) =>
  Effect.flatMap(NodeRegistry, (registry) =>
    registry.heartbeat(id, resources).pipe(Effect.repeat(Schedule.spaced(every)), Effect.forkScoped))

describe("HeartbeatMonitorLive", () => {
  it.scoped("a worker silent for 31 s is NotReady (and Ready at 29 s)", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const notReady = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      yield* TestClock.adjust("29 seconds")
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* TestClock.adjust("2 seconds") // t = 31 s: the scan at 30 s saw 30 s of silence
      expect(yield* livenessOf(node.id)).toBe("NotReady")
      expect(nodeStatus(yield* registry.get(node.id))).toBe("NotReady")
      expect(yield* notReady("NodeNotReady")).toHaveLength(1)
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("a worker silent for 61 s is dead, announced by exactly one NodeDead even 3 minutes on", () => {
    const warnings = warningLog()
    return Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      yield* TestClock.adjust("61 seconds")
      expect(yield* livenessOf(node.id)).toBe("Dead")
      const dead = yield* events("NodeDead")
      expect(dead).toHaveLength(1)
      expect(dead[0]).toMatchObject({ nodeId: node.id, name: "w1" })
      yield* TestClock.adjust("119 seconds") // t = 3 min
      expect(yield* events("NodeDead")).toHaveLength(1)
      expect(yield* livenessOf(node.id)).toBe("Dead")
      const deaths = warnings.lines.filter((line) => line.includes("is dead"))
      expect(deaths).toEqual(["node 'w1' is dead (no heartbeat for 60s): its pods will be rescheduled"])
    }).pipe(
      Effect.provide(masterOn(NodeRegistryMemory.makeTable())),
      // outside the master's layer, so the monitor fiber forked while building it inherits this logger
      Effect.provide(warnings.layer)
    )
  })

  it.scoped("a heartbeat at 25 s restarts the count: Ready at 31 s and at 55 s, NotReady only by 61 s", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const { node } = yield* registry.join(worker("w1"))
      yield* TestClock.adjust("25 seconds")
      yield* registry.heartbeat(node.id, resources)
      yield* TestClock.adjust("6 seconds") // t = 31 s
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* TestClock.adjust("24 seconds") // t = 55 s, silent 30 s but the next scan is at 60 s
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* TestClock.adjust("6 seconds") // t = 61 s: the scan at 60 s saw 35 s of silence
      expect(yield* livenessOf(node.id)).toBe("NotReady")
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("a drained worker that keeps heartbeating stays Draining for minutes", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      yield* registry.setSchedulable("w1", "draining")
      yield* keepPinging(node.id, "5 seconds")
      for (let minute = 1; minute <= 5; minute++) {
        yield* TestClock.adjust("1 minute")
        const now = yield* registry.get(node.id)
        expect(nodeStatus(now)).toBe("Draining")
        expect(now.liveness).toBe("Ready")
      }
      expect(yield* events("NodeNotReady")).toEqual([])
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("a draining worker that falls silent is still declared dead (its pods must move)", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      yield* registry.setSchedulable("w1", "draining")
      yield* TestClock.adjust("61 seconds")
      expect(yield* livenessOf(node.id)).toBe("Dead")
      expect(nodeStatus(yield* registry.get(node.id))).toBe("Draining")
      expect(yield* events("NodeDead")).toHaveLength(1)
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("a master is never marked, however long it stays silent", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join({ ...worker("master"), role: "Master" })
      yield* TestClock.adjust("3 minutes")
      expect(yield* livenessOf(node.id)).toBe("Ready")
      expect(yield* events("NodeNotReady")).toEqual([])
      expect(yield* events("NodeDead")).toEqual([])
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("a master restart grants a grace period (not-ready-after + the workers' reconnect window): last seen at 0, restart at 50 s, Ready at 115 s, NotReady by 121 s", () =>
    Effect.gen(function*() {
      const table = NodeRegistryMemory.makeTable()
      // first lifetime: the worker joins at t = 0, then the master stops
      const id = yield* Effect.scoped(
        Effect.provide(Effect.flatMap(NodeRegistry, (r) => Effect.map(r.join(worker("w1")), ({ node }) => node.id)), masterOn(table))
      )
      yield* TestClock.adjust("50 seconds") // the master is down; the worker is silent meanwhile
      // second lifetime, built only now (the clock reads 50 s); all synchronous, so its scan loop
      // registers its first sleep before the next adjust
      const restarted = yield* Layer.build(masterOn(table))
      const registry = Context.get(restarted, NodeRegistry)
      const liveness = Effect.map(registry.get(id), (n) => n.liveness)
      expect(yield* liveness).toBe("Ready")
      yield* TestClock.adjust("25 seconds") // t = 75 s: 25 s since the restart
      expect(yield* liveness).toBe("Ready")
      // a worker in its reconnect backoff (cap 30 s, +20 % jitter) may need 36 s more to reach us
      yield* TestClock.adjust("40 seconds") // t = 115 s: 65 s since the restart, inside 30 s + 36 s
      expect(yield* liveness).toBe("Ready")
      yield* TestClock.adjust("6 seconds") // t = 121 s: the scan at 120 s saw 70 s since the restart
      expect(yield* liveness).toBe("NotReady")
    }))

  it.scoped("a dead worker that heartbeats is Ready again, and a later silence is a second NodeDead", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      yield* TestClock.adjust("61 seconds")
      expect(yield* livenessOf(node.id)).toBe("Dead")
      const back = yield* registry.heartbeat(node.id, resources) // t = 61 s
      expect(back.liveness).toBe("Ready")
      yield* TestClock.adjust("29 seconds") // t = 90 s: the scan at 90 s saw 29 s
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* TestClock.adjust("32 seconds") // t = 122 s: the scan at 120 s saw 59 s, NotReady
      expect(yield* livenessOf(node.id)).toBe("NotReady")
      yield* TestClock.adjust("10 seconds") // t = 132 s: the scan at 130 s saw 69 s
      expect(yield* livenessOf(node.id)).toBe("Dead")
      expect(yield* events("NodeDead")).toHaveLength(2)
    }).pipe(Effect.provide(masterOn(NodeRegistryMemory.makeTable()))))

  it.scoped("thresholds work in milliseconds: 200 ms pings keep a worker Ready; silence gives NotReady past 1 s, dead past 2 s", () =>
    Effect.gen(function*() {
      const registry = yield* NodeRegistry
      const events = yield* recordEvents
      const { node } = yield* registry.join(worker("w1"))
      const agent = yield* keepPinging(node.id, "200 millis")
      yield* TestClock.adjust("3 seconds")
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* Fiber.interrupt(agent) // last ping at t = 3 s
      yield* TestClock.adjust("900 millis")
      expect(yield* livenessOf(node.id)).toBe("Ready")
      yield* TestClock.adjust("200 millis") // t = 4.1 s: the scan at 4.0 s saw 1 s of silence
      expect(yield* livenessOf(node.id)).toBe("NotReady")
      yield* TestClock.adjust("1 second") // t = 5.1 s: the scan at 5.0 s saw 2 s
      expect(yield* livenessOf(node.id)).toBe("Dead")
      expect(yield* events("NodeDead")).toHaveLength(1)
    }).pipe(
      Effect.provide(masterOn(NodeRegistryMemory.makeTable(), {
        heartbeatInterval: Duration.millis(200),
        monitorInterval: Duration.millis(100),
        notReadyAfter: Duration.seconds(1),
        deadAfter: Duration.seconds(2)
      }))
    ))
})
