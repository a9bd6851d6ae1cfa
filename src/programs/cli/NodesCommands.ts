// `helyos nodes` and `helyos node drain|undrain|rm`.
import { Args, Command, Options } from "@effect/cli"
import { Clock, Console, DateTime, Effect, Schema } from "effect"
import { NodeView } from "../../services/api/NodesApi.js"
import { connect, connectionOptions } from "./Connection.js"
import { age, colourEnabled, gauge, printEncoded, renderTable } from "./Render.js"

const NodeList = Schema.Array(NodeView)

/** The table `helyos nodes` prints; masters are not heartbeat-monitored, so they show "-". */
export const nodesTable = (nodes: ReadonlyArray<NodeView>, nowMs: number, colour: boolean): string =>
  nodes.length === 0
    ? "No nodes registered."
    : renderTable(
      ["NAME", "ROLE", "STATUS", "CPU", "MEM", "PODS", "HEARTBEAT"],
      nodes.map((n) => [
        n.name,
        n.role,
        n.status,
        gauge(n.resources.cpuCores, n.resources.cpuAvailable, colour),
        gauge(n.resources.memoryBytes, n.resources.memoryAvailable, colour),
        String(n.pods),
        n.role === "Master" ? "-" : age(DateTime.toEpochMillis(n.lastHeartbeat), nowMs)
      ])
    )

export const nodes = Command.make(
  "nodes",
  { json: Options.boolean("json").pipe(Options.withDescription("print the API's JSON (an array of nodes)")), ...connectionOptions },
  ({ json, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      const list = yield* request((api) => api.nodes.list())
      if (json) return yield* printEncoded(NodeList, list)
      const now = yield* Clock.currentTimeMillis
      yield* Console.log(nodesTable(list, now, colourEnabled(process.stdout, process.env)))
    })
).pipe(Command.withDescription("List the cluster's nodes: role, status, CPU and memory use, pods, last heartbeat"))

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("the node's name"))

const drain = Command.make("drain", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    const node = yield* request((api) => api.nodes.drain({ path: { name } }))
    yield* Console.log(`node '${node.name}' drained (status: ${node.status}): no new pods will be placed on it`)
  })).pipe(Command.withDescription("Stop placing pods on a node (required before `node rm`)"))

const undrain = Command.make("undrain", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    const node = yield* request((api) => api.nodes.undrain({ path: { name } }))
    yield* Console.log(`node '${node.name}' undrained (status: ${node.status})`)
  })).pipe(Command.withDescription("Let pods be placed on a drained node again"))

const rm = Command.make(
  "rm",
  {
    name,
    force: Options.boolean("force").pipe(Options.withDescription("remove the node even if it is not drained")),
    ...connectionOptions
  },
  ({ force, name, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      yield* request((api) => api.nodes.remove({ path: { name }, urlParams: { force } }))
      yield* Console.log(`node '${name}' removed`)
    })
).pipe(Command.withDescription("Remove a drained node from the cluster (its worker is told and exits)"))

export const node = Command.make("node").pipe(
  Command.withDescription("Drain, undrain or remove one node"),
  Command.withSubcommands([drain, undrain, rm])
)
