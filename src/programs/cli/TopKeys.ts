// What `helyos top`'s keys do, as pure functions: the bytes a terminal sends read as keys, and a key
// turns the view (focused panel, selections, the overlay or prompt shown) into the next one, with at
// most one action for TopCommand to carry out (fetch logs, scale, remove, quit).
import type { PodView } from "../../domain/Workload.js"

export type Panel = "nodes" | "pods" | "events"

export const PANELS: ReadonlyArray<Panel> = ["nodes", "pods", "events"]

/** The deployment a pod belongs to, as the API names it. */
export interface DeploymentRef {
  readonly project: string
  readonly name: string
}

export type Overlay =
  | { readonly _tag: "None" }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Logs"; readonly pod: PodView; readonly lines: ReadonlyArray<string> | undefined; readonly problem: string | undefined }
  /** typing the new replica count */
  | { readonly _tag: "Scale"; readonly deployment: DeploymentRef; readonly current: number | undefined; readonly typed: string }
  /** y/N before removing */
  | { readonly _tag: "Delete"; readonly pod: PodView; readonly pods: number }

export interface TopView {
  readonly focus: Panel
  /** the selected row of each panel; undefined: the first (for events: the newest, the last) */
  readonly selected: Readonly<Record<Panel, number | undefined>>
  readonly overlay: Overlay
  /** what the last action did, or why it failed */
  readonly message: string | undefined
}

export const initialView: TopView = {
  focus: "pods",
  selected: { nodes: undefined, pods: undefined, events: undefined },
  overlay: { _tag: "None" },
  message: undefined
}

export type Key =
  | "Tab"
  | "BackTab"
  | "Up"
  | "Down"
  | "Enter"
  | "Escape"
  | "Backspace"
  | "CtrlC"
  | { readonly char: string }

const SEQUENCES: ReadonlyArray<readonly [string, Key]> = [
  ["\u001b[Z", "BackTab"],
  ["\u001b[A", "Up"],
  ["\u001bOA", "Up"],
  ["\u001b[B", "Down"],
  ["\u001bOB", "Down"],
  ["\u001b[C", { char: "" }],
  ["\u001b[D", { char: "" }],
  ["\t", "Tab"],
  ["\r", "Enter"],
  ["\n", "Enter"],
  ["\u007f", "Backspace"],
  ["\b", "Backspace"],
  ["\u0003", "CtrlC"]
]

/** The keys in one chunk of raw terminal input (a paste or a fast typist sends several at once). */
export const keysOf = (data: string): ReadonlyArray<Key> => {
  const keys: Array<Key> = []
  for (let i = 0; i < data.length;) {
    const sequence = SEQUENCES.find(([bytes]) => data.startsWith(bytes, i))
    if (sequence !== undefined) {
      const [bytes, key] = sequence
      if (typeof key === "string" || key.char !== "") keys.push(key)
      i += bytes.length
      continue
    }
    if (data[i] === "\u001b") {
      // a lone Esc; an unknown sequence (Esc [ …) is skipped whole
      const unknown = /^\u001b\[[0-9;]*[A-Za-z~]/.exec(data.slice(i))
      if (unknown !== null) i += unknown[0].length
      else {
        keys.push("Escape")
        i++
      }
      continue
    }
    keys.push({ char: data[i]! })
    i++
  }
  return keys
}

/** What the key asks TopCommand to do besides showing the next view. */
export type Action =
  | { readonly _tag: "Quit" }
  | { readonly _tag: "Logs"; readonly pod: PodView }
  | { readonly _tag: "Scale"; readonly deployment: DeploymentRef; readonly replicas: number }
  | { readonly _tag: "Remove"; readonly deployment: DeploymentRef }

/** What the view is drawn from, as the panels show it (pods in their displayed order). */
export interface Shown {
  readonly rows: Readonly<Record<Panel, number>>
  readonly pods: ReadonlyArray<PodView>
  /** desired replicas by `project/name`, when known */
  readonly replicas: ReadonlyMap<string, number>
}

/** The selected row of `panel`, within its rows. */
export const selectedRow = (view: TopView, panel: Panel, rows: number): number => {
  if (rows === 0) return 0
  const chosen = view.selected[panel] ?? (panel === "events" ? rows - 1 : 0)
  return Math.min(Math.max(0, chosen), rows - 1)
}

const deploymentOf = (pod: PodView): DeploymentRef => ({ project: pod.project, name: pod.deployment_name })

export const deploymentKey = (d: DeploymentRef) => `${d.project}/${d.name}`

type Step = { readonly view: TopView; readonly action?: Action }

const is = (key: Key, char: string) => typeof key !== "string" && key.char === char

const move = (view: TopView, shown: Shown, by: number): TopView => {
  const rows = shown.rows[view.focus]
  const row = selectedRow(view, view.focus, rows)
  return { ...view, selected: { ...view.selected, [view.focus]: Math.min(Math.max(0, row + by), Math.max(0, rows - 1)) } }
}

/** The pod a pod action applies to, or the message saying why there is none. */
const podInFocus = (view: TopView, shown: Shown): PodView | string => {
  if (view.focus !== "pods") return "l, s and d act on a pod: Tab to PODS and pick one"
  const pod = shown.pods[selectedRow(view, "pods", shown.pods.length)]
  return pod ?? "no pod to act on"
}

/** The next view after `key`, and what to do. */
export const onKey = (view: TopView, key: Key, shown: Shown): Step => {
  const overlay = view.overlay
  if (key === "CtrlC") return { view, action: { _tag: "Quit" } }
  switch (overlay._tag) {
    case "Scale": {
      if (key === "Escape") return { view: { ...view, overlay: { _tag: "None" }, message: "scale cancelled" } }
      if (key === "Backspace") return { view: { ...view, overlay: { ...overlay, typed: overlay.typed.slice(0, -1) } } }
      if (key === "Enter") {
        if (overlay.typed === "") return { view: { ...view, overlay: { _tag: "None" }, message: "scale cancelled" } }
        const replicas = Number(overlay.typed)
        return {
          view: { ...view, overlay: { _tag: "None" }, message: `scaling ${deploymentKey(overlay.deployment)} to ${replicas}…` },
          action: { _tag: "Scale", deployment: overlay.deployment, replicas }
        }
      }
      if (typeof key !== "string" && /^[0-9]$/.test(key.char) && overlay.typed.length < 4) {
        return { view: { ...view, overlay: { ...overlay, typed: overlay.typed + key.char } } }
      }
      return { view }
    }
    case "Delete": {
      if (is(key, "y") || is(key, "Y")) {
        const deployment = deploymentOf(overlay.pod)
        return {
          view: { ...view, overlay: { _tag: "None" }, message: `removing ${deploymentKey(deployment)}…` },
          action: { _tag: "Remove", deployment }
        }
      }
      return { view: { ...view, overlay: { _tag: "None" }, message: "nothing deleted" } }
    }
    case "Help":
      if (is(key, "q") || is(key, "Q")) return { view, action: { _tag: "Quit" } }
      // any key closes the help
      return { view: { ...view, overlay: { _tag: "None" } } }
    case "Logs":
      if (is(key, "q") || is(key, "Q")) return { view, action: { _tag: "Quit" } }
      if (key === "Escape" || is(key, "l") || key === "Enter") return { view: { ...view, overlay: { _tag: "None" } } }
      if (is(key, "?")) return { view: { ...view, overlay: { _tag: "Help" } } }
      return { view }
    case "None":
      break
  }
  if (key === "Escape" || is(key, "q") || is(key, "Q")) return { view, action: { _tag: "Quit" } }
  if (key === "Tab" || key === "BackTab") {
    const at = PANELS.indexOf(view.focus)
    const focus = PANELS[(at + (key === "Tab" ? 1 : PANELS.length - 1)) % PANELS.length]!
    return { view: { ...view, focus, message: undefined } }
  }
  if (key === "Down" || is(key, "j")) return { view: move(view, shown, 1) }
  if (key === "Up" || is(key, "k")) return { view: move(view, shown, -1) }
  if (is(key, "?")) return { view: { ...view, overlay: { _tag: "Help" } } }
  if (key === "Enter" || is(key, "l") || is(key, "s") || is(key, "d")) {
    const pod = podInFocus(view, shown)
    if (typeof pod === "string") return { view: { ...view, message: pod } }
    if (is(key, "s")) {
      const deployment = deploymentOf(pod)
      return { view: { ...view, overlay: { _tag: "Scale", deployment, current: shown.replicas.get(deploymentKey(deployment)), typed: "" } } }
    }
    if (is(key, "d")) {
      const pods = shown.pods.filter((p) => p.project === pod.project && p.deployment_name === pod.deployment_name).length
      return { view: { ...view, overlay: { _tag: "Delete", pod, pods } } }
    }
    return { view: { ...view, overlay: { _tag: "Logs", pod, lines: undefined, problem: undefined } }, action: { _tag: "Logs", pod } }
  }
  return { view }
}

/** The key hint of the live view's last line. */
export const KEY_HINT = "Tab panel · j/k move · l logs · s scale · d delete · ? help · q quit"

/** What `?` shows. */
export const HELP_LINES: ReadonlyArray<string> = [
  "KEYS",
  "  Tab / Shift+Tab     next / previous panel (NODES, PODS, EVENTS)",
  "  j / k, Down / Up    move the selection",
  "  l / Enter           logs of the selected pod (Esc or l goes back)",
  "  s                   scale the selected pod's deployment (type the count, Enter)",
  "  d                   delete the selected pod: helyosd removes pods with their deployment, so",
  "                      d removes the deployment and all its pods (asks y/N first)",
  "  ?                   show / hide this help",
  "  q / Esc / Ctrl-C    quit",
  "",
  "Refreshes every 2 s and on every event. Any key closes this help."
]
