// `helyos nodes` and `helyos node drain|undrain|rm`.
import { Clock, Console, DateTime, Effect, Schema } from "effect"
import { NodesApi, NodeView } from "../../services/api/NodesApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect } from "./Connection.js"
import { age, colourEnabled, gauge, printEncoded, renderTable } from "./Render.js"

const Api = clientApi(NodesApi)

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

export const nodes = ({ json }: { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const list = yield* request((api) => api.nodes.list())
    if (json) return yield* printEncoded(NodeList, list)
    const now = yield* Clock.currentTimeMillis
    yield* Console.log(nodesTable(list, now, colourEnabled(process.stdout, process.env)))
  })

export const drain = ({ name }: { readonly name: string }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const node = yield* request((api) => api.nodes.drain({ path: { name } }))
    yield* Console.log(`node '${node.name}' drained (status: ${node.status}): no new pods will be placed on it`)
  })

export const undrain = ({ name }: { readonly name: string }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const node = yield* request((api) => api.nodes.undrain({ path: { name } }))
    yield* Console.log(`node '${node.name}' undrained (status: ${node.status})`)
  })

export const remove = ({ force, name }: { readonly name: string; readonly force: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.nodes.remove({ path: { name }, urlParams: { force } }))
    yield* Console.log(`node '${name}' removed`)
  })
