// What `helyos top` draws, as a pure function of its state and the screen size.
import { describe, expect, it } from "vitest"
import type { PodView } from "../../src/domain/Workload.js"
import {
  initialView,
  type Key,
  KEY_HINT,
  keysOf,
  onKey,
  type Shown,
  type TopView
} from "../../src/programs/cli/TopKeys.js"
import { clip, panelRows, renderTop, sortedPods, type TopState } from "../../src/programs/cli/TopRender.js"
import type { NodeStatsView } from "../../src/services/api/NodesApi.js"

const ANSI = /\u001b\[[0-9;]*m/g

const node = (name: string, role: "master" | "worker", cpu: number, memUsedGiB: number, pods: number): NodeStatsView => ({
  name,
  role,
  status: "ready",
  cpu_cores: 4,
  cpu_usage_percent: cpu,
  memory_total_bytes: 8 * 2 ** 30,
  memory_used_bytes: memUsedGiB * 2 ** 30,
  pod_count: pods
})

const pod = (name: string, status: PodView["status"], restarts = 0, project = "shop"): PodView => ({
  id: `id-${name}`,
  name,
  project,
  deployment_name: name.replace(/-\d+$/, ""),
  replica_index: Number(name.split("-").pop()),
  node: "w1",
  node_id: "n-w1",
  container_id: null,
  container_ip: null,
  status,
  image: "busybox",
  restart_count: restarts,
  exit_code: null,
  reason: null,
  last_exit_at: null,
  health: null,
  started_at: null,
  created_at: "2026-11-24T22:00:00.000Z",
  dns_name: null
})

const event = (time: string, name: string, action: string, message: string) => ({
  _tag: "Event" as const,
  event: { timestamp: `2026-11-24T${time}.000Z`, kind: "pod" as const, name, action, message }
})

const state: TopState = {
  server: "http://127.0.0.1:6443",
  nodes: [node("master", "master", 25, 2, 1), node("w1", "worker", 80, 6, 2)],
  pods: [pod("web-1", "running"), pod("web-0", "crashloopbackoff", 5), pod("db-0", "running", 0, "data")],
  events: [
    event("22:03:04", "web-0", "died", "container exited with code 1"),
    { _tag: "Note", text: "missed 5 events" },
    event("22:03:09", "web-0", "crashloop", "backing off")
  ],
  eventSource: "live",
  problem: undefined,
  refreshedAtMs: Date.parse("2026-11-24T22:03:10.000Z")
}

describe("renderTop", () => {
  it("a snapshot shows every panel in plain text: gauges, pods by project and name, events with their time", () => {
    const lines = renderTop(state, { rows: undefined, columns: undefined, colour: false, interactive: false })
    expect(lines.join("\n")).toBe([
      "helyos top · http://127.0.0.1:6443 · 22:03:10 UTC",
      "",
      "NODES (2)",
      "NAME    ROLE    STATUS  CPU              MEM              PODS",
      "master  master  ready   ███░░░░░░░  25%  ███░░░░░░░  25%  1",
      "w1      worker  ready   ████████░░  80%  ████████░░  75%  2",
      "",
      "PODS (3)",
      "NAME   PROJECT  NODE  STATUS            RESTARTS",
      "db-0   data     w1    Running           0",
      "web-0  shop     w1    CrashLoopBackoff  5",
      "web-1  shop     w1    Running           0",
      "",
      "EVENTS (live)",
      "22:03:04  pod  web-0  died  container exited with code 1",
      "! missed 5 events",
      "22:03:09  pod  web-0  crashloop  backing off"
    ].join("\n"))
    expect(lines.join("\n")).not.toMatch(ANSI)
  })

  it("fits a small screen: never more rows than it has, newest events kept, the pods left out counted", () => {
    const many: TopState = {
      ...state,
      pods: Array.from({ length: 40 }, (_, i) => pod(`api-${i}`, "running")),
      events: Array.from({ length: 30 }, (_, i) => event(`22:00:${String(i).padStart(2, "0")}`, `api-${i}`, "started", "ok"))
    }
    const lines = renderTop(many, { rows: 24, columns: 80, colour: false, interactive: true })
    expect(lines).toHaveLength(24)
    expect(lines.at(-1)).toBe(KEY_HINT)
    expect(lines.some((line) => /^ {2}… \d+ more$/.test(line))).toBe(true)
    expect(lines).toContain("  22:00:29  pod  api-29  started  ok")
    expect(lines).not.toContain("  22:00:00  pod  api-0  started  ok")
    expect(lines.every((line) => line.replace(ANSI, "").length <= 80)).toBe(true)
  })

  it("says why the last refresh failed, keeps what it showed, and tells when events are unavailable", () => {
    const lines = renderTop(
      { ...state, problem: "cannot reach helyosd at http://127.0.0.1:6443", events: [], eventSource: "unavailable" },
      { rows: undefined, columns: undefined, colour: false, interactive: false }
    )
    expect(lines[1]).toBe("! cannot reach helyosd at http://127.0.0.1:6443")
    expect(lines).toContain("w1      worker  ready   ████████░░  80%  ████████░░  75%  2")
    expect(lines).toContain("EVENTS (unavailable)")
    expect(lines).toContain("Events are unavailable on this helyosd.")
  })

  it("before the first answer it shows it is loading, not an empty cluster", () => {
    const lines = renderTop(
      { ...state, nodes: [], pods: [], events: [], refreshedAtMs: undefined },
      { rows: 30, columns: 100, colour: true, interactive: true }
    )
    expect(lines.filter((line) => line === "  Loading…")).toHaveLength(2)
    expect(lines).not.toContain("No nodes.")
  })

  it("colours gauges and titles only when asked", () => {
    const coloured = renderTop(state, { rows: 40, columns: 120, colour: true, interactive: true })
    expect(coloured.join("\n")).toMatch(ANSI)
    expect(coloured.map((line) => line.replace(ANSI, ""))).toContain(" NODES (2)")
    expect(coloured.map((line) => line.replace(ANSI, ""))).toContain("[PODS (3)]")
  })
})

describe("clip", () => {
  it("cuts to visible width, skipping colour codes, and closes a colour it cut", () => {
    expect(clip("abcdef", 4)).toBe("abcd")
    expect(clip("abc", 4)).toBe("abc")
    expect(clip("\u001b[31mabcdef\u001b[0m", 3)).toBe("\u001b[31mabc\u001b[0m")
    expect(clip("abc", undefined)).toBe("abc")
  })
})

describe("the live view", () => {
  const screen = { rows: 40, columns: 120, colour: false, interactive: true } as const
  const shown: Shown = {
    rows: panelRows(state),
    pods: sortedPods(state.pods),
    replicas: new Map([["shop/web", 2]])
  }
  /** Press the keys in turn, as the live view does. */
  const press = (view: TopView, ...keys: ReadonlyArray<Key>) => {
    let current = view
    const actions = []
    for (const key of keys) {
      const step = onKey(current, key, shown)
      current = step.view
      if (step.action !== undefined) actions.push(step.action)
    }
    return { view: current, actions }
  }
  const char = (c: string): Key => ({ char: c })

  it("starts on the pods panel with the first pod selected, marked with >", () => {
    const lines = renderTop(state, screen, initialView)
    expect(lines).toContain("[PODS (3)]")
    expect(lines.filter((line) => line.startsWith("> "))).toEqual(["> db-0   data     w1    Running           0"])
  })

  it("j/k and Down/Up move the selection within the panel; Tab and Shift+Tab cycle the panels", () => {
    const down = press(initialView, char("j"), "Down").view
    expect(renderTop(state, screen, down).filter((l) => l.startsWith("> "))).toEqual(["> web-1  shop     w1    Running           0"])
    expect(press(down, char("j")).view.selected.pods).toBe(2) // the last row stays selected
    expect(press(down, char("k")).view.selected.pods).toBe(1)
    const events = press(initialView, "Tab").view
    expect(events.focus).toBe("events")
    expect(renderTop(state, screen, events)).toContain("[EVENTS (live)]")
    // events start at the newest
    expect(renderTop(state, screen, events).filter((l) => l.startsWith("> "))).toEqual(["> 22:03:09  pod  web-0  crashloop  backing off"])
    expect(press(initialView, "BackTab").view.focus).toBe("nodes")
    expect(press(initialView, "Tab", "Tab", "Tab").view.focus).toBe("pods")
  })

  it("l or Enter opens the selected pod's logs, Esc or l goes back; ? toggles the help", () => {
    const opened = press(initialView, char("j"), char("l"))
    expect(opened.actions).toEqual([{ _tag: "Logs", pod: shown.pods[1] }])
    const withLines = { ...opened.view, overlay: { ...opened.view.overlay, lines: ["hello", "world"] } } as TopView
    const logs = renderTop(state, screen, withLines)
    expect(logs).toContain("LOGS shop/web-0 (last lines; Esc or l goes back)")
    expect(logs).toContain("world")
    expect(press(opened.view, "Escape").view.overlay._tag).toBe("None")
    expect(press(initialView, "Enter").actions[0]?._tag).toBe("Logs")
    const help = press(initialView, char("?")).view
    expect(renderTop(state, screen, help).join("\n")).toContain("d                   delete the selected pod")
    expect(press(help, char("?")).view.overlay._tag).toBe("None")
  })

  it("s asks for the replica count of the pod's deployment and scales on Enter; Esc cancels", () => {
    const asking = press(initialView, char("j"), char("s")).view
    expect(renderTop(state, screen, asking)).toContain("scale shop/web to (now 2): _   Enter applies · Esc cancels")
    const typed = press(asking, char("3"), char("x"), char("0"), "Backspace")
    expect(typed.view.overlay).toMatchObject({ _tag: "Scale", typed: "3" })
    expect(press(typed.view, "Enter").actions).toEqual([{ _tag: "Scale", deployment: { project: "shop", name: "web" }, replicas: 3 }])
    expect(press(asking, "Escape")).toMatchObject({ view: { overlay: { _tag: "None" }, message: "scale cancelled" }, actions: [] })
  })

  it("d asks y/N before removing the selected pod's deployment (helyosd removes pods with it)", () => {
    const asking = press(initialView, char("j"), char("d")).view
    expect(renderTop(state, screen, asking).join("\n")).toContain(
      "delete pod web-0: this removes deployment shop/web and its 2 pod(s). Sure? y/N"
    )
    expect(press(asking, char("y")).actions).toEqual([{ _tag: "Remove", deployment: { project: "shop", name: "web" } }])
    expect(press(asking, char("n"))).toMatchObject({ view: { message: "nothing deleted" }, actions: [] })
  })

  it("pod keys on another panel say where to go; q, Esc and Ctrl-C quit", () => {
    expect(press(initialView, "BackTab", char("d")).view.message).toBe("l, s and d act on a pod: Tab to PODS and pick one")
    for (const key of [char("q"), "Escape", "CtrlC"] as const) {
      expect(press(initialView, key).actions).toEqual([{ _tag: "Quit" }])
    }
  })
})

describe("keysOf", () => {
  it("reads what a terminal sends: arrows, Shift+Tab, Enter, Esc alone, Ctrl-C, and several keys at once", () => {
    expect(keysOf("\u001b[A\u001b[B\u001b[Z\t\r")).toEqual(["Up", "Down", "BackTab", "Tab", "Enter"])
    expect(keysOf("\u001b")).toEqual(["Escape"])
    expect(keysOf("\u0003")).toEqual(["CtrlC"])
    expect(keysOf("jjk?")).toEqual([{ char: "j" }, { char: "j" }, { char: "k" }, { char: "?" }])
    // arrows that do nothing here and unknown sequences are skipped, not read as Esc
    expect(keysOf("\u001b[C\u001b[15~q")).toEqual([{ char: "q" }])
  })
})
