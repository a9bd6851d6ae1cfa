// `helyos status [--json]`: the cluster at a glance in one box (GET /api/v1/status).
import { Console, Effect } from "effect"
import { ClusterStatus } from "../../domain/ClusterStatus.js"
import { StatusApi } from "../../services/api/StatusApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect } from "./Connection.js"
import { colourEnabled, printEncoded } from "./Render.js"

const ANSI = /\u001b\[[0-9;]*m/g
const visible = (text: string) => text.replace(ANSI, "").length
const paint = (code: number, text: string, colour: boolean) => colour ? `\u001b[${code}m${text}\u001b[0m` : text

/** `3 running · 0 stopped`: the first counts always, the others only when not zero. */
const counts = (always: ReadonlyArray<readonly [string, number]>, sometimes: ReadonlyArray<readonly [string, number]>) =>
  [...always, ...sometimes.filter(([, n]) => n > 0)].map(([label, n]) => `${n} ${label}`).join(" · ")

/** Something needs a look: a node not ready, a deployment not converging, a pod that gave up. */
const troubled = (status: ClusterStatus) =>
  status.nodes_by_status.notready > 0 ||
  status.deployments.degraded + status.deployments.failed > 0 ||
  status.pods.crashloopbackoff + status.pods.failed > 0

/** The box `helyos status` prints (its width follows the longest line). */
export const statusBox = (status: ClusterStatus, colour: boolean): string => {
  const { deployments: d, dns, nodes_by_status: n, pods: p } = status
  const health = troubled(status)
    ? paint(33, "● degraded", colour)
    : paint(32, "● running", colour)
  const rows: ReadonlyArray<readonly [string, string]> = [
    ["Mode", status.cluster],
    ["Status", health],
    ["Nodes", `${status.nodes} (${counts([["ready", n.ready]], [["not ready", n.notready], ["draining", n.draining]])})`],
    ["Projects", String(status.projects)],
    ["Deployments", counts([["running", d.running], ["stopped", d.stopped]], [["pending", d.pending], ["degraded", d.degraded], ["failed", d.failed]])],
    [
      "Pods",
      counts([["running", p.running], ["restarting", p.restarting]], [
        ["crash-looping", p.crashloopbackoff],
        ["failed", p.failed],
        ["pending", p.pending],
        ["creating", p.creating],
        ["stopping", p.stopping],
        ["stopped", p.stopped]
      ])
    ],
    ["DNS", dns.mode === "embedded" ? `on · ${dns.listen ?? "?"} · ${dns.records} ${dns.records === 1 ? "record" : "records"}` : "off"]
  ]
  const labelWidth = Math.max(...rows.map(([label]) => label.length))
  const lines = rows.map(([label, value]) => `${label.padEnd(labelWidth)}  ${value}`)
  const title = "─ Cluster Status "
  const inner = Math.max(title.length + 1, ...lines.map((line) => visible(line) + 2))
  return [
    `┌${title}${"─".repeat(inner - title.length)}┐`,
    ...lines.map((line) => `│ ${line}${" ".repeat(inner - 1 - visible(line))}│`),
    `└${"─".repeat(inner)}┘`
  ].join("\n")
}

export const status = ({ json }: { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, clientApi(StatusApi))
    const summary = yield* request((api) => api.status.summary())
    if (json) return yield* printEncoded(ClusterStatus, summary)
    yield* Console.log(statusBox(summary, colourEnabled(process.stdout, process.env)))
  })
