// What `helyos nodes` looks like: columns, gauges, ages, colour only on a terminal, the empty case.
import { describe, expect, it } from "@effect/vitest"
import { DateTime } from "effect"
import { NodeId } from "../../src/domain/Node.js"
import { NodeResourcesView, NodeView } from "../../src/services/api/NodesApi.js"
import { nodesTable } from "../../src/programs/cli/NodesCommands.js"
import { age, colourEnabled, gauge, renderTable } from "../../src/programs/cli/Render.js"

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0)

const view = (name: string, role: "Master" | "Worker", heartbeatAgoMs: number, cpu: [number, number], mem: [number, number]) =>
  new NodeView({
    id: NodeId.make(`id-${name}`),
    name,
    address: "127.0.0.1:7000",
    role,
    status: "Ready",
    resources: new NodeResourcesView({
      cpuCores: cpu[0],
      cpuAvailable: cpu[1],
      memoryBytes: mem[0],
      memoryAvailable: mem[1],
      runningPods: 2
    }),
    pods: 2,
    lastHeartbeat: DateTime.unsafeMake(NOW - heartbeatAgoMs),
    joinedAt: DateTime.unsafeMake(NOW - 60_000)
  })

describe("renderTable", () => {
  it("pads every column to its widest cell, two spaces apart, with no trailing spaces", () => {
    expect(renderTable(["A", "BB", "C"], [["xxx", "y", "z"], ["1", "22222", "3"]])).toBe(
      ["A    BB     C", "xxx  y      z", "1    22222  3"].join("\n")
    )
  })

  it("colour codes take no width", () => {
    const red = "\u001b[31mab\u001b[0m"
    expect(renderTable(["X", "Y"], [[red, "1"], ["abc", "2"]]).split("\n")[1]).toBe(`${red}   1`)
  })
})

describe("gauge", () => {
  it("shows the used share as ten cells and a percentage", () => {
    expect(gauge(4, 3, false)).toBe("███░░░░░░░  25%")
    expect(gauge(8, 0, false)).toBe("██████████ 100%")
    expect(gauge(8, 8, false)).toBe("░░░░░░░░░░   0%")
  })

  it("is '-' when the total is unknown, and clamps nonsense availability", () => {
    expect(gauge(0, 0, false)).toBe("-")
    expect(gauge(4, 9, false)).toBe("░░░░░░░░░░   0%")
    expect(gauge(4, -1, false)).toBe("██████████ 100%")
  })

  it("is green below 60%, yellow from 60%, red from 80% when colour is on", () => {
    expect(gauge(10, 5, true)).toContain("\u001b[32m")
    expect(gauge(10, 4, true)).toContain("\u001b[33m")
    expect(gauge(10, 2, true)).toContain("\u001b[31m")
  })
})

describe("age", () => {
  it("reads seconds, minutes, hours, days", () => {
    expect([0, 3_400, 59_999, 60_000, 3_599_000, 3_600_000, 86_400_000 * 3].map((ago) => age(NOW - ago, NOW)))
      .toEqual(["0s ago", "3s ago", "59s ago", "1m ago", "59m ago", "1h ago", "3d ago"])
  })

  it("a heartbeat stamped in the future (clock skew) reads 0s ago", () => {
    expect(age(NOW + 5_000, NOW)).toBe("0s ago")
  })
})

describe("colourEnabled", () => {
  it("only on a terminal, and never with NO_COLOR", () => {
    expect(colourEnabled({ isTTY: true }, {})).toBe(true)
    expect(colourEnabled({ isTTY: true }, { NO_COLOR: "" })).toBe(false)
    expect(colourEnabled({ isTTY: false }, {})).toBe(false)
    expect(colourEnabled({}, {})).toBe(false)
  })
})

describe("nodesTable", () => {
  it("an empty cluster prints one sentence", () => {
    expect(nodesTable([], NOW, false)).toBe("No nodes registered.")
  })

  it("one row per node; a master's heartbeat is '-', a worker's is its age", () => {
    const lines = nodesTable(
      [view("master", "Master", 0, [8, 6], [16, 4]), view("w1", "Worker", 4_000, [2, 0], [4, 4])],
      NOW,
      false
    ).split("\n")
    expect(lines).toEqual([
      "NAME    ROLE    STATUS  CPU              MEM              PODS  HEARTBEAT",
      "master  Master  Ready   ███░░░░░░░  25%  ████████░░  75%  2     -",
      "w1      Worker  Ready   ██████████ 100%  ░░░░░░░░░░   0%  2     4s ago"
    ])
  })
})
