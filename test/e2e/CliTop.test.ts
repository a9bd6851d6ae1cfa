// e2e: `helyos top` on a real terminal — tmux gives it a pseudo-terminal — against a real single-node
// helyosd running real containers: the documented keys (Tab, j/k, l for logs, s to scale, d to
// delete, ? for help, q to quit) do what they say, checked on the screen and through the API.
import { execFileSync } from "node:child_process"
import { readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { removeProjectLeftovers } from "../support/docker/Docker.js"
import { apiToken, eventually, freePort, helyosBin, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"

const project = `top${process.pid}`
const nodeName = `top-e2e-${process.pid}`
/** this test's own tmux server: nothing else's sessions are touched */
const socket = `helyos-top-e2e-${process.pid}`
const session = "top"
let daemon: Proc
let env: Record<string, string>
let exitFile: string

const tmux = (...args: ReadonlyArray<string>) => execFileSync("tmux", ["-L", socket, ...args]).toString()

/** What the terminal shows now. */
const screen = () => tmux("capture-pane", "-p", "-t", session)

/** Wait until the screen shows `pattern`; return the screen. */
const shows = (pattern: RegExp, timeoutMs = 20_000) =>
  eventually(() => {
    const text = screen()
    if (!pattern.test(text)) throw new Error(`the screen never showed ${pattern}:\n${text}`)
    return text
  }, timeoutMs, 100)

/** Type keys (tmux key names: Tab, BTab, Escape, Enter, or characters). */
const press = (...keys: ReadonlyArray<string>) => {
  for (const key of keys) tmux("send-keys", "-t", session, key)
}

/** The row marked as selected (`> …`). */
const selected = (text: string) => text.split("\n").find((line) => line.startsWith("> "))

const deploymentsJson = async (): Promise<ReadonlyArray<{ name: string; replicas: number }>> => {
  const result = await runCli(["deployments", "-p", project, "--json"], env)
  if (result.code !== 0) throw new Error(`helyos deployments failed: ${result.stderr}`)
  return JSON.parse(result.stdout)
}

const hasTmux = (() => {
  try {
    execFileSync("tmux", ["-V"])
    return true
  } catch {
    return false
  }
})()

beforeAll(async () => {
  if (!hasTmux) throw new Error("this test needs tmux (apt-get install -y --no-install-recommends tmux; .ci/run installs it)")
  const image = await ensureBusyboxImage()
  const dataDir = tempDir("helyos-e2e-top-")
  const port = await freePort()
  env = {
    HELYOS_SERVER: `http://127.0.0.1:${port}`,
    HELYOS_API_TOKEN: apiToken(),
    HELYOS_CONFIG: path.join(dataDir, "cli-config.toml"),
    NO_COLOR: "1"
  }
  daemon = spawnProc(helyosdBin, ["--host", "127.0.0.1", "--port", String(port), "--data-dir", dataDir, "--node-name", nodeName], env)
  await daemon.waitFor(/listening on http/, 30_000)
  const spec = path.join(dataDir, "talker.yaml")
  writeFileSync(spec, [
    `project: ${project}`,
    "deployment:",
    "  name: talker",
    `image: ${image}`,
    "replicas: 2",
    `command: ["sh", "-c", "i=0; while true; do echo line-$i from $HOSTNAME; i=$((i+1)); sleep 1; done"]`,
    "resources: { cpu: 0.1, memory: 32m }"
  ].join("\n"))
  const deployed = await runCli(["deploy", spec, "--timeout", "60"], env)
  if (deployed.code !== 0) throw new Error(`deploy failed: ${deployed.stderr}`)
  // a 120x40 terminal running `helyos top`, its exit code written to a file; the pane stays after it
  const quote = (word: string) => `'${word.replace(/'/g, "'\\''")}'`
  const top = ["env", ...Object.entries(env).map(([k, v]) => `${k}=${v}`), process.execPath, helyosBin, "top"].map(quote).join(" ")
  exitFile = path.join(dataDir, "top-exit-code")
  tmux("-f", "/dev/null", "new-session", "-d", "-s", session, "-x", "120", "-y", "40", `${top}; echo $? > ${quote(exitFile)}`)
  tmux("set-option", "-t", session, "remain-on-exit", "on")
}, 120_000)

afterAll(async () => {
  try {
    if (hasTmux) tmux("kill-server")
  } catch {
    // the server already ended with its session
  }
  await daemon?.kill("SIGKILL")
  removeProjectLeftovers(project)
})

describe("helyos top on a terminal (tmux), against a real daemon", () => {
  it("shows nodes, pods and events, with the pods panel focused and its first pod selected", async () => {
    const text = await shows(/\[PODS \(2\)\][\s\S]*talker-1/)
    expect(text).toMatch(/^ NODES \(1\)$/m)
    expect(text).toContain(nodeName)
    expect(text).toMatch(/^ EVENTS \((live|polled)\)$/m)
    expect(selected(text)).toMatch(/^> talker-0 +top\d+ +top-e2e-\d+ +Running/)
    expect(text).toContain("Tab panel · j/k move · l logs · s scale · d delete · ? help · q quit")
  })

  it("j and k move the selection; Tab and Shift+Tab cycle the panels", async () => {
    press("j")
    expect(selected(await shows(/^> talker-1 /m))).toMatch(/^> talker-1 /)
    press("k")
    await shows(/^> talker-0 /m)
    press("Tab")
    await shows(/^\[EVENTS \((live|polled)\)\]$/m)
    press("Tab")
    expect(selected(await shows(/^\[NODES \(1\)\]$/m))).toMatch(new RegExp(`^> ${nodeName} `))
    press("BTab")
    await shows(/^\[EVENTS /m)
    press("Tab", "Tab")
    await shows(/^\[PODS \(2\)\]$/m)
  })

  it("l shows the selected pod's logs, Esc goes back", async () => {
    press("j", "l")
    const logs = await shows(/line-\d+ from/)
    expect(logs).toMatch(new RegExp(`^LOGS ${project}/talker-1 \\(last lines; Esc or l goes back\\)$`, "m"))
    press("Escape")
    await shows(/^\[PODS \(2\)\]$/m)
    press("k")
    await shows(/^> talker-0 /m)
  })

  it("? toggles the help", async () => {
    press("?")
    const help = await shows(/^KEYS$/m)
    expect(help).toContain("s                   scale the selected pod's deployment")
    press("?")
    await shows(/^\[PODS \(2\)\]$/m)
  })

  it("s scales the selected pod's deployment to the typed count", async () => {
    press("s")
    await shows(new RegExp(`scale ${project}/talker to \\(now 2\\): _`))
    press("3", "Enter")
    await shows(new RegExp(`deployment ${project}/talker scaled to 3 replica\\(s\\)`))
    expect((await deploymentsJson()).map((d) => [d.name, d.replicas])).toEqual([["talker", 3]])
    await shows(/^\[PODS \(3\)\]$/m, 30_000)
  })

  it("d asks first: n keeps everything, y removes the deployment with its pods", async () => {
    press("d")
    await shows(new RegExp(`delete pod talker-0: this removes deployment ${project}/talker and its 3 pod\\(s\\)\\. Sure\\? y/N`))
    press("n")
    await shows(/^nothing deleted$/m)
    expect(await deploymentsJson()).toHaveLength(1)
    press("d")
    await shows(/Sure\? y\/N/)
    press("y")
    await shows(new RegExp(`^deployment ${project}/talker removed$`, "m"))
    await eventually(async () => expect(await deploymentsJson()).toEqual([]), 20_000)
    await shows(/^\[PODS \(0\)\]$/m, 30_000)
  })

  it("q quits with status 0 and gives the terminal back", async () => {
    press("q")
    expect(await eventually(() => readFileSync(exitFile, "utf8"), 20_000)).toBe("0\n")
    // the alternate screen is gone: the normal screen is back as it was (empty but for tmux's note)
    expect(screen()).not.toContain("helyos top ·")
  })
})
