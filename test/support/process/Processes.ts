// e2e harness: real helyosd / helyos processes on 127.0.0.1, their output, and polling with deadlines.
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { appendFileSync, mkdtempSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

const root = path.resolve(import.meta.dirname, "../../..")
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

/** The one `eventually` of process tests: poll `check` until it stops throwing, or rethrow its last error at the deadline. */
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
  readonly pid: number
  /** everything the process printed so far (stdout + stderr) */
  output(): string
  /** resolves with the first matching line printed after offset `from` of output(); rejects after the timeout or when the process exits */
  waitFor(pattern: RegExp, timeoutMs?: number, from?: number): Promise<string>
  readonly exited: Promise<number | null>
  /** signal it (SIGTERM by default, then SIGKILL after `killGraceMs` if given) and wait for the exit */
  kill(signal?: NodeJS.Signals): Promise<number | null>
  /** write a line to its stdin (only with `stdin: "pipe"`) */
  send(line: string): void
}

export interface SpawnOptions {
  readonly env?: Record<string, string>
  /** names the process in messages and in the HELYOS_E2E_LOG_DIR file */
  readonly label?: string
  readonly stdin?: "pipe" | "ignore"
  /** a SIGTERM not obeyed within this many ms becomes SIGKILL */
  readonly killGraceMs?: number
  /** stamp each logged line with the time (for daemons whose lines carry none) */
  readonly stampLog?: boolean
  readonly onExit?: () => void
  /** default timeout of waitFor; 15 s unless given */
  readonly waitTimeoutMs?: number
}

const tail = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n")

/** Start `cmd args` with its output captured; the one process wrapper of e2e and lab tests. */
export const spawnProcess = (cmd: string, args: ReadonlyArray<string>, options: SpawnOptions = {}): Proc => {
  const child = spawn(cmd, [...args], {
    env: { ...process.env, ...options.env },
    stdio: [options.stdin ?? "ignore", "pipe", "pipe"]
  })
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`)
  const pid = child.pid
  const label = options.label ?? path.basename(args[0] ?? cmd)
  let buffer = ""
  const listeners = new Set<() => void>()
  // HELYOS_E2E_LOG_DIR=dir keeps every process's output in a file there (for a failure seen in CI)
  const logDir = process.env.HELYOS_E2E_LOG_DIR
  const logFile = logDir ? path.join(logDir, `${label}-${pid}.log`) : undefined
  if (logFile !== undefined) appendFileSync(logFile, `$ ${cmd} ${args.join(" ")}\n`)
  let partial = ""
  const onData = (chunk: Buffer) => {
    if (logFile !== undefined) {
      if (options.stampLog === true) {
        const lines = (partial + chunk.toString()).split("\n")
        partial = lines.pop() ?? ""
        const stamp = new Date().toISOString().slice(11, 23)
        if (lines.length > 0) appendFileSync(logFile, lines.map((l) => `${stamp} ${l}\n`).join(""))
      } else {
        appendFileSync(logFile, chunk)
      }
    }
    buffer += chunk.toString()
    for (const l of listeners) l()
  }
  child.stdout!.on("data", onData)
  child.stderr!.on("data", onData)
  child.stdin?.on("error", () => {})
  const exited = new Promise<number | null>((resolve) =>
    child.on("exit", (code, signal) => {
      options.onExit?.()
      resolve(code ?? (signal === null ? null : 128))
      for (const l of listeners) l()
    }))
  const waitFor = (pattern: RegExp, timeoutMs = options.waitTimeoutMs ?? 15_000, from = 0) =>
    new Promise<string>((resolve, reject) => {
      const check = () => {
        const match = buffer.slice(from).split("\n").find((line) => pattern.test(line))
        if (match !== undefined) return done(() => resolve(match))
        if (child.exitCode !== null || child.signalCode !== null) {
          return done(() => reject(new Error(`${label} exited (${child.exitCode ?? child.signalCode}) before ${pattern}:\n${tail(buffer)}`)))
        }
      }
      const timer = setTimeout(() => done(() => reject(new Error(`timed out waiting for ${pattern} from ${label}:\n${tail(buffer)}`))), timeoutMs)
      const done = (f: () => void) => {
        clearTimeout(timer)
        listeners.delete(check)
        f()
      }
      listeners.add(check)
      check()
    })
  const kill = async (signal: NodeJS.Signals = "SIGTERM") => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill(signal)
      if (signal !== "SIGKILL" && options.killGraceMs !== undefined) {
        const timer = setTimeout(() => child.kill("SIGKILL"), options.killGraceMs)
        void exited.then(() => clearTimeout(timer))
      }
    }
    return exited
  }
  const send = (line: string) => {
    child.stdin?.write(`${line}\n`)
  }
  return { child, pid, output: () => buffer, waitFor, exited, kill, send }
}

/** A node script (bin/helyosd, bin/helyos) as a process. */
export const spawnProc = (bin: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc =>
  spawnProcess(process.execPath, [bin, ...args], { env })

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
