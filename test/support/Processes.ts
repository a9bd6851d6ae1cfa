// e2e harness: real helyosd / helyos processes on 127.0.0.1, their output, and polling with deadlines.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { appendFileSync, mkdtempSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../..")
export const helyosdBin = path.join(root, "bin", "helyosd")
export const helyosBin = path.join(root, "bin", "helyos")

/** Compressed timers: heartbeat 200ms, scan 100ms, NotReady after 1s, dead after 2s. */
export const fastTimers = [
  "--heartbeat-interval", "200ms",
  "--monitor-interval", "100ms",
  "--not-ready-after", "1s",
  "--dead-after", "2s",
  "--reconnect-max", "1s"
]

export const tempDir = (prefix = "helyos-e2e-") => mkdtempSync(path.join(os.tmpdir(), prefix))

export const apiToken = () => `nxa-api_${randomBytes(32).toString("hex")}`

export const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const server = net.createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

/** Poll `check` until it stops throwing, or rethrow its last error at the deadline. */
export const eventually = async <A>(check: () => Promise<A> | A, timeoutMs = 10_000, everyMs = 100): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((r) => setTimeout(r, everyMs))
    }
  }
}

export interface Proc {
  readonly child: ChildProcess
  /** everything the process printed so far (stdout + stderr) */
  output(): string
  /** resolves with the matching line once printed; rejects after the timeout or when the process exits */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>
  readonly exited: Promise<number | null>
  kill(signal?: NodeJS.Signals): Promise<number | null>
}

export const spawnProc = (bin: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc => {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"]
  })
  let buffer = ""
  const listeners = new Set<() => void>()
  // HELYOS_E2E_LOG_DIR=dir keeps every process's output in a file there (for a failure seen in CI)
  const logDir = process.env.HELYOS_E2E_LOG_DIR
  const logFile = logDir ? path.join(logDir, `${path.basename(bin)}-${child.pid}.log`) : undefined
  if (logFile !== undefined) appendFileSync(logFile, `$ ${path.basename(bin)} ${args.join(" ")}\n`)
  const onData = (chunk: Buffer) => {
    if (logFile !== undefined) appendFileSync(logFile, chunk)
    buffer += chunk.toString()
    for (const l of listeners) l()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => {
    resolve(code)
    for (const l of listeners) l()
  }))
  const waitFor = (pattern: RegExp, timeoutMs = 15_000) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = buffer.split("\n").find((line) => pattern.test(line))
        if (match !== undefined) return done(() => resolve(match))
        if (child.exitCode !== null) {
          return done(() => reject(new Error(`process exited (${child.exitCode}) before ${pattern}:\n${buffer}`)))
        }
      }
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern}:\n${buffer}`))), timeoutMs)
      const done = (f: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        f()
      }
      listeners.add(check)
      check()
    })
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
    return exited
  }
  return { child, output: () => buffer, waitFor, exited, kill }
}

export interface CliResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

export const runCli = (args: ReadonlyArray<string>, env: Record<string, string>): Promise<CliResult> =>
  new Promise((resolve) => {
    execFile(process.execPath, [helyosBin, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout, stderr })
    })
  })
