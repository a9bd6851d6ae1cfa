// `helyos status`: the counting on the daemon (summarizeCluster), the box the CLI prints, and the
// per-node figures of GET /api/v1/nodes/stats.
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { ClusterStatus, summarizeCluster } from "../../src/domain/ClusterStatus.js"
import { NodeId, NodeRecord, NodeResources } from "../../src/domain/Node.js"
import { statusBox } from "../../src/programs/cli/StatusCommand.js"
import { nodeStats } from "../../src/services/api/NodesApi.js"

const ANSI = /\u001b\[[0-9;]*m/g

describe("summarizeCluster", () => {
  it("counts nodes, deployments and pods by status; single mode is a single-node cluster", () => {
    const status = summarizeCluster({
      mode: "single",
      nodes: [{ status: "Ready" }],
      projects: 2,
      deployments: [{ status: "running" }, { status: "running" }, { status: "stopped" }, { status: "degraded" }],
      pods: [{ status: "running" }, { status: "running" }, { status: "restarting" }, { status: "crashloopbackoff" }]
    })
    expect(status).toEqual({
      cluster: "single-node",
      nodes: 1,
      nodes_by_status: { ready: 1, notready: 0, draining: 0 },
      projects: 2,
      deployments: { total: 4, running: 2, stopped: 1, pending: 0, degraded: 1, failed: 0 },
      pods: {
        total: 4,
        running: 2,
        restarting: 1,
        crashloopbackoff: 1,
        pending: 0,
        creating: 0,
        stopping: 0,
        stopped: 0,
        failed: 0
      },
      dns: { mode: "noop", listen: null, records: 0, revision: 0 }
    })
  })

  it("shows DNS as the daemon reports it, and an older daemon's status (no dns) as off", () => {
    const dns = { mode: "embedded", listen: "169.254.20.10:53", records: 3, revision: 7 } as const
    const status = summarizeCluster({ mode: "master", nodes: [], projects: 0, deployments: [], pods: [], dns })
    expect(status.dns).toEqual(dns)
    const { dns: _, ...older } = Schema.encodeSync(ClusterStatus)(status)
    expect(Schema.decodeUnknownSync(ClusterStatus)(older).dns).toEqual({ mode: "noop", listen: null, records: 0, revision: 0 })
  })

  it("a master is a cluster, even alone", () => {
    const status = summarizeCluster({ mode: "master", nodes: [{ status: "Ready" }, { status: "Draining" }, { status: "NotReady" }], projects: 0, deployments: [], pods: [] })
    expect(status.cluster).toBe("cluster")
    expect(status.nodes_by_status).toEqual({ ready: 1, notready: 1, draining: 1 })
  })
})

describe("statusBox", () => {
  const healthy = summarizeCluster({
    mode: "single",
    nodes: [{ status: "Ready" }],
    projects: 2,
    deployments: [{ status: "running" }, { status: "running" }, { status: "running" }],
    pods: Array.from({ length: 7 }, () => ({ status: "running" as const }))
  })

  it("prints the documented rows in a closed box whose lines all have the same width", () => {
    const box = statusBox(healthy, false)
    expect(box).toBe([
      "┌─ Cluster Status ──────────────────────┐",
      "│ Mode         single-node              │",
      "│ Status       ● running                │",
      "│ Nodes        1 (1 ready)              │",
      "│ Projects     2                        │",
      "│ Deployments  3 running · 0 stopped    │",
      "│ Pods         7 running · 0 restarting │",
      "│ DNS          off                      │",
      "└───────────────────────────────────────┘"
    ].join("\n"))
  })

  it("shows the troubles only when there are some, and calls the cluster degraded", () => {
    const box = statusBox(
      summarizeCluster({
        mode: "master",
        nodes: [{ status: "Ready" }, { status: "NotReady" }],
        projects: 1,
        deployments: [{ status: "degraded" }],
        pods: [{ status: "running" }, { status: "crashloopbackoff" }]
      }),
      true
    )
    const plain = box.replace(ANSI, "")
    expect(plain).toContain("● degraded")
    expect(plain).toContain("2 (1 ready · 1 not ready)")
    expect(plain).toContain("0 running · 0 stopped · 1 degraded")
    expect(plain).toContain("1 running · 0 restarting · 1 crash-looping")
    expect(box).toContain("\u001b[33m● degraded\u001b[0m")
    // colour codes take no room: every line still ends at the same column
    const widths = new Set(box.split("\n").map((line) => line.replace(ANSI, "").length))
    expect(widths.size).toBe(1)
  })
})

describe("statusBox: DNS", () => {
  it("says where the node's resolver answers and from how many records with --dns-mode embedded, off otherwise", () => {
    const on = statusBox(
      summarizeCluster({
        mode: "master",
        nodes: [{ status: "Ready" }],
        projects: 1,
        deployments: [],
        pods: [],
        dns: { mode: "embedded", listen: "169.254.20.10:53", records: 12, revision: 7 }
      }),
      false
    )
    expect(on).toContain("│ DNS          on · 169.254.20.10:53 · 12 records │")
    const widths = new Set(on.split("\n").map((line) => line.length))
    expect(widths.size).toBe(1)
    const off = statusBox(summarizeCluster({ mode: "single", nodes: [], projects: 0, deployments: [], pods: [] }), false)
    expect(off).toMatch(/│ DNS +off +│/)
  })
})

describe("nodeStats", () => {
  const node = (role: "Master" | "Worker", schedulable: "active" | "draining" = "active") =>
    new NodeRecord({
      id: NodeId.make("n1"),
      name: "n1",
      address: "127.0.0.1:7001",
      role,
      schedulable,
      liveness: "Ready",
      resources: NodeResources.empty,
      lastHeartbeatMs: 0,
      joinedAtMs: 0
    })

  it("turns resources into usage: lowercase role and status, percent to one decimal, bytes used", () => {
    const resources = new NodeResources({ cpuCores: 3, memoryBytes: 1000, cpuAvailable: 2, memoryAvailable: 250 })
    expect(nodeStats(node("Worker", "draining"), resources, 4)).toEqual({
      name: "n1",
      role: "worker",
      status: "draining",
      cpu_cores: 3,
      cpu_usage_percent: 33.3,
      memory_total_bytes: 1000,
      memory_used_bytes: 750,
      pod_count: 4
    })
  })

  it("never reports more than 100% or less than 0, and 0% for a node that has not reported", () => {
    const overloaded = new NodeResources({ cpuCores: 2, memoryBytes: 100, cpuAvailable: -3, memoryAvailable: 200 })
    expect(nodeStats(node("Master"), overloaded, 0)).toMatchObject({ role: "master", cpu_usage_percent: 100, memory_used_bytes: 0 })
    expect(nodeStats(node("Worker"), NodeResources.empty, 0)).toMatchObject({ cpu_usage_percent: 0, memory_used_bytes: 0 })
  })
})
