// The lab: a cluster of real hosts on one machine. Each host is a network namespace `hlab-NAME` with
// its own address from 198.51.100.0/24 on the bridge hlab-br0 (the root namespace, where the CLI runs,
// is 198.51.100.254), its own dockerd (data root, exec root, socket, pid file, config file, address
// pool) with the test image loaded offline, and real helyosd processes started through
// `nsenter --net=…`. Faults: cut/heal a host's link, packet loss, added latency (a relay), kill -9.
//
// Clean-up: everything is recorded under /tmp/hlab (pid files with start times) and removed by
// `lab.sh clean` — from destroy(), from exit/SIGINT/SIGTERM/SIGHUP handlers, and as a sweep at the
// start of the next run when an earlier one crashed. One lab runs at a time on the machine (an flock
// held by a helper process that dies with us), so parallel test files wait for each other rather than
// sweep each other away.
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process"
import { createHash, X509Certificate } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import { ensureBusyboxImage } from "../support/docker/busyboxImage.js"
import { eventually, type Proc, spawnProcess } from "../support/process/Processes.js"

export { eventually, type Proc }

// The repository root, found from here whether this module runs as test/lab/Lab.ts (vitest) or compiled
// as dist/test/lab/Lab.js (bench/failover.ts imports it): the scripts and bin/ are only in the source tree.
const findRoot = (from: string): string => {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, "package.json")) && existsSync(path.join(dir, "test", "lab", "lab.sh"))) return dir
    if (path.dirname(dir) === dir) throw new Error(`no repository root above ${from}`)
  }
}
const root = findRoot(import.meta.dirname)
export const labScript = path.join(root, "test", "lab", "lab.sh")
const relayScript = path.join(root, "test", "lab", "relay.mjs")
export const helyosdBin = path.join(root, "bin", "helyosd")
export const helyosBin = path.join(root, "bin", "helyos")
export const LAB_STATE = "/tmp/hlab"
const LOCK_FILE = "/tmp/hlab.lock"
export const LAB_IMAGE = "helyos-test/busybox:2"

/**
 * Compressed master timers for the lab, at the default ratio heartbeat : not-ready-after = 1 : 6
 * (heartbeat 500ms, scan 250ms, NotReady after 3s, dead after 6s). Slower than the loopback e2e
 * `fastTimers` so three engines and daemons on two cores do not produce false NotReady.
 */
export const labTimers = [
  "--heartbeat-interval", "500ms",
  "--monitor-interval", "250ms",
  "--not-ready-after", "3s",
  "--dead-after", "6s"
]
export const DEAD_AFTER_MS = 6_000

// ---------------------------------------------------------------------------------------------
// Processes

export interface ExecResult {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

const run = (cmd: string, args: ReadonlyArray<string>, options: { env?: Record<string, string>; timeoutMs?: number } = {}) =>
  new Promise<ExecResult>((resolve) => {
    execFile(cmd, [...args], {
      env: { ...process.env, ...options.env },
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024
    }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1
      resolve({ code, stdout: String(stdout), stderr: String(stderr) })
    })
  })

const runOk = async (cmd: string, args: ReadonlyArray<string>, options: { env?: Record<string, string>; timeoutMs?: number } = {}) => {
  const result = await run(cmd, args, options)
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${result.code}):\n${result.stdout}${result.stderr}`)
  return result
}

const lab = (...args: ReadonlyArray<string>) => runOk(labScript, args, { timeoutMs: 180_000 })

/** "PID STARTTIME", what lab.sh checks before it signals a recorded pid (pids get reused). */
const startTime = (pid: number): string | undefined => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19]
  } catch {
    return undefined
  }
}

let procSeq = 0

const spawnRecorded = (
  host: string,
  label: string,
  cmd: string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {}
): Proc => {
  const pidFile = path.join(LAB_STATE, host, "pids", `${label}-${++procSeq}`)
  const proc = spawnProcess(cmd, args, {
    env,
    label: `lab-${host}-${label}`,
    stdin: "pipe",
    killGraceMs: 10_000,
    stampLog: true,
    waitTimeoutMs: 30_000,
    onExit: () => rmSync(pidFile, { force: true })
  })
  const st = startTime(proc.pid)
  if (st !== undefined) writeFileSync(pidFile, `${proc.pid} ${st}\n`)
  return proc
}

const tail = (text: string, lines = 60) => text.split("\n").slice(-lines).join("\n")

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export interface Sample<A> {
  /** ms since the sampler started */
  readonly atMs: number
  readonly value: A
}

export interface Sampler<A> {
  /** the samples so far */
  readonly samples: ReadonlyArray<Sample<A>>
  /** stop sampling; resolves once the sample in flight is in */
  stop(): Promise<ReadonlyArray<Sample<A>>>
}

/**
 * Take `probe` every `everyMs` (never two at once: a slow probe delays the next) in the background
 * until stop(). A probe that throws is recorded as its error message, so a failing API shows up in the
 * samples rather than ending them.
 */
export const sampleEvery = <A>(everyMs: number, probe: () => Promise<A>): Sampler<A | { readonly error: string }> => {
  const samples: Array<Sample<A | { readonly error: string }>> = []
  const t0 = Date.now()
  let stopped = false
  const loop = (async () => {
    while (!stopped) {
      const started = Date.now()
      let value: A | { readonly error: string }
      try {
        value = await probe()
      } catch (error) {
        value = { error: error instanceof Error ? error.message : String(error) }
      }
      samples.push({ atMs: started - t0, value })
      const wait = everyMs - (Date.now() - started)
      if (wait > 0 && !stopped) await sleep(wait)
    }
  })()
  return {
    samples,
    stop: async () => {
      stopped = true
      await loop
      return samples
    }
  }
}

export const isSampleError = (v: unknown): v is { readonly error: string } =>
  typeof v === "object" && v !== null && "error" in v && Object.keys(v).length === 1

// ---------------------------------------------------------------------------------------------
// Hosts

export class LabHost {
  readonly netns: string
  readonly stateDir: string
  /** the engine's socket path (for --docker-socket) */
  readonly socketPath: string
  /** `unix://…` (for docker -H) */
  readonly dockerSocket: string
  /** where this host's helyosd keeps its data */
  readonly dataDir: string
  private relay: Proc | undefined
  private relayTarget: string | undefined
  private relayPort = 0
  private readonly procs = new Set<Proc>()

  constructor(readonly name: string, readonly addr: string, readonly pool: string) {
    this.netns = `hlab-${name}`
    this.stateDir = path.join(LAB_STATE, name)
    this.socketPath = path.join(this.stateDir, "docker.sock")
    this.dockerSocket = `unix://${this.socketPath}`
    this.dataDir = path.join(this.stateDir, "helyos")
  }

  private nsenter(cmd: string, args: ReadonlyArray<string>) {
    return ["--net=/run/netns/" + this.netns, "--", cmd, ...args]
  }

  /** Run a command inside this host's network namespace. */
  exec(cmd: string, args: ReadonlyArray<string> = [], options: { env?: Record<string, string>; timeoutMs?: number } = {}) {
    return run("nsenter", this.nsenter(cmd, args), options)
  }

  /** Start a long-running process inside this host's namespace; recorded so clean-up ends it by pid. */
  spawn(label: string, cmd: string, args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc {
    const proc = spawnRecorded(this.name, label, "nsenter", this.nsenter(cmd, args), env)
    this.procs.add(proc)
    void proc.exited.then(() => this.procs.delete(proc))
    return proc
  }

  /**
   * A real helyosd inside this host. HELYOS_CONFIG defaults to a file in the host's state dir, so a
   * daemon's seeded CLI context never touches the user's ~/.helyos.
   */
  spawnHelyosd(args: ReadonlyArray<string>, env: Record<string, string> = {}): Proc {
    return this.spawn("helyosd", process.execPath, [helyosdBin, ...args], {
      HELYOS_CONFIG: path.join(this.stateDir, "daemon-cli-config.toml"),
      ...env
    })
  }

  /** The docker CLI against this host's own engine. */
  docker(args: ReadonlyArray<string>, timeoutMs = 60_000) {
    return run("docker", ["-H", this.dockerSocket, ...args], { timeoutMs })
  }

  /** Pull this host's cable: its link on the bridge goes down; its processes stay alive. */
  async cut() {
    await lab("cut", this.name)
  }

  async heal() {
    await lab("heal", this.name)
  }

  /** Drop a share p (0..1) of this host's packets, in each direction; 0 removes the loss. */
  async loss(p: number) {
    await lab("loss", this.name, String(p))
  }

  /**
   * Start a delaying TCP relay in this host's namespace: it listens on 127.0.0.1:listenPort and
   * forwards to `target` (HOST:PORT). A daemon of this host that dials the relay instead of the target
   * gets `delay()` added to its round trip. Returns the address to dial.
   */
  async startRelay(target: string, listenPort = 16444, delayMs = 0): Promise<string> {
    if (this.relay !== undefined) {
      if (this.relayTarget === target && this.relay.child.exitCode === null) return `127.0.0.1:${this.relayPort}`
      throw new Error(`${this.name} already has a relay (to ${this.relayTarget})`)
    }
    this.relayTarget = target
    this.relayPort = listenPort
    const at = target.lastIndexOf(":")
    this.relay = this.spawn("relay", process.execPath, [
      relayScript, "127.0.0.1", String(listenPort), target.slice(0, at), target.slice(at + 1), String(delayMs)
    ])
    await this.relay.waitFor(/relay listening on/, 10_000)
    return `127.0.0.1:${listenPort}`
  }

  /** Added round-trip latency (ms) on the relayed path (half each way); 0 removes it. */
  async delay(ms: number) {
    if (this.relay === undefined) throw new Error(`${this.name} has no relay: start the cluster with relay: ["${this.name}"]`)
    const from = this.relay.output().length
    this.relay.send(JSON.stringify({ delay: ms }))
    await this.relay.waitFor(new RegExp(`relay delay ${ms} ms`), 5_000, from)
  }

  /** End every process this host started (SIGTERM, SIGKILL after 10 s). */
  async stopAll(signal: NodeJS.Signals = "SIGTERM") {
    await Promise.all([...this.procs].map((p) => p.kill(signal)))
    this.relay = undefined
    this.relayTarget = undefined
  }

  /** Helyos' containers in this host's engine (running or not). */
  async containers(): Promise<ReadonlyArray<EngineContainer>> {
    const result = await this.docker([
      "ps", "-a", "--no-trunc", "--filter", "label=managed-by=helyos",
      "--format", "{{json .}}"
    ])
    if (result.code !== 0) throw new Error(`docker ps on ${this.name} failed: ${result.stderr}`)
    return result.stdout.split("\n").filter((l) => l.trim() !== "").map((line) => {
      const raw = JSON.parse(line) as { ID: string; Names: string; State: string; Labels: string }
      const labels = Object.fromEntries(raw.Labels.split(",").map((kv) => {
        const i = kv.indexOf("=")
        return [kv.slice(0, i), kv.slice(i + 1)]
      }))
      return { host: this.name, id: raw.ID, name: raw.Names, state: raw.State, labels }
    })
  }
}

export interface EngineContainer {
  readonly host: string
  readonly id: string
  readonly name: string
  /** running, exited, created, … */
  readonly state: string
  readonly labels: Readonly<Record<string, string>>
}

/** helyos-<project>-<deployment>-<index>-<pod id prefix> → the replica index */
export const replicaIndexOf = (c: EngineContainer): number | undefined => {
  const prefix = `helyos-${c.labels["helyos.project"]}-${c.labels["helyos.deployment"]}-`
  if (!c.name.startsWith(prefix)) return undefined
  const index = Number(c.name.slice(prefix.length).split("-")[0])
  return Number.isInteger(index) ? index : undefined
}

// ---------------------------------------------------------------------------------------------
// The lab

export interface LabOptions {
  /** host names (1-10 of [a-z0-9]); the first gets 198.51.100.1, the next .2, … */
  readonly hosts: ReadonlyArray<string>
  /** load the test image into every engine (default true) */
  readonly image?: boolean
}

/** The machine-wide lock: a helper process holds an flock on LOCK_FILE until its stdin closes. */
const acquireLock = async (timeoutMs: number): Promise<ChildProcess> => {
  const holder = spawn("flock", ["--exclusive", "--timeout", String(Math.ceil(timeoutMs / 1000)), LOCK_FILE,
    "sh", "-c", "echo locked; exec cat >/dev/null"], { stdio: ["pipe", "pipe", "inherit"] })
  await new Promise<void>((resolve, reject) => {
    let out = ""
    holder.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes("locked")) resolve()
    })
    holder.on("exit", (code) => reject(new Error(`another lab held ${LOCK_FILE} for more than ${timeoutMs} ms (flock exit ${code})`)))
  })
  return holder
}

let active: Lab | undefined
let handlersInstalled = false

/** Synchronous last-resort clean-up (exit and signal handlers cannot wait for promises). */
const cleanSync = () => {
  const lab = active
  if (lab === undefined) return
  active = undefined
  try {
    execFileSync(labScript, ["clean"], { stdio: "ignore", timeout: 120_000 })
  } catch {
    // nothing more we can do here; the next run's sweep removes what is left
  }
  lab.releaseLock()
}

const installHandlers = () => {
  if (handlersInstalled) return
  handlersInstalled = true
  process.on("exit", cleanSync)
  const handlers: Array<[NodeJS.Signals, () => void]> = []
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
    const handler = () => {
      cleanSync()
      // Die of the signal, as without us. A vitest worker intercepts process.exit (it throws there
      // and the worker would run on), so: drop our handlers and re-raise; reallyExit as the fallback.
      for (const [s, h] of handlers) process.removeListener(s, h)
      const reallyExit = (process as unknown as { reallyExit?: (code: number) => never }).reallyExit
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
      setTimeout(() => (reallyExit ?? process.exit)(code), process.listenerCount(signal) === 0 ? 1_000 : 0)
    }
    handlers.push([signal, handler])
    process.on(signal, handler)
  }
}

export class Lab {
  private constructor(readonly hosts: ReadonlyArray<LabHost>, private lock: ChildProcess | undefined) {}

  /** Build the hosts; first sweeps leftovers of an earlier crashed run (anything hlab-). */
  static async create(options: LabOptions): Promise<Lab> {
    if (process.getuid?.() !== 0) throw new Error("the lab needs root (network namespaces, bridges, dockerd)")
    for (const tool of ["ip", "iptables", "nsenter", "dockerd", "docker", "flock"]) {
      if ((await run("sh", ["-c", `command -v ${tool}`])).code !== 0) throw new Error(`the lab needs '${tool}' on PATH`)
    }
    if (options.hosts.length === 0 || options.hosts.length > 40) throw new Error("a lab has 1..40 hosts")
    if (new Set(options.hosts).size !== options.hosts.length) throw new Error("host names must be unique")
    if (active !== undefined) throw new Error("one lab per process: destroy the other first")
    const lock = await acquireLock(15 * 60_000)
    const hosts = options.hosts.map((name, i) => new LabHost(name, `198.51.100.${i + 1}`, `10.${201 + i}.0.0/16`))
    const created = new Lab(hosts, lock)
    active = created
    installHandlers()
    try {
      // the sweep: we hold the lock, so anything with the prefix is a crashed run's
      await lab("clean")
      mkdirSync(LAB_STATE, { recursive: true })
      for (const host of hosts) await lab("up", host.name, host.addr)
      await Promise.all(hosts.map((host) => lab("dockerd", host.name, host.pool)))
      if (options.image !== false) await created.loadImage()
    } catch (error) {
      await created.destroy()
      throw error
    }
    return created
  }

  host(name: string): LabHost {
    const host = this.hosts.find((h) => h.name === name)
    if (host === undefined) throw new Error(`no lab host '${name}'`)
    return host
  }

  /** The test image, built in the root engine, saved once and loaded offline into every host's engine. */
  private async loadImage() {
    await ensureBusyboxImage()
    const tar = path.join(LAB_STATE, "image.tar")
    if (!existsSync(tar)) await runOk("docker", ["save", "-o", tar, LAB_IMAGE], { timeoutMs: 120_000 })
    await Promise.all(this.hosts.map((h) => runOk("docker", ["-H", h.dockerSocket, "load", "-i", tar], { timeoutMs: 120_000 })))
  }

  /** Every Helyos container in every host's engine. */
  async containers(): Promise<ReadonlyArray<EngineContainer>> {
    return (await Promise.all(this.hosts.map((h) => h.containers()))).flat()
  }

  releaseLock() {
    const lock = this.lock
    this.lock = undefined
    if (lock !== undefined) {
      lock.stdin?.end()
      lock.kill("SIGTERM")
    }
  }

  /** Remove everything: processes, engines (they stop their containers), mounts, namespaces, bridge, files. */
  async destroy() {
    if (active !== this) return
    await Promise.all(this.hosts.map((h) => h.stopAll("SIGKILL")))
    try {
      await lab("clean")
    } finally {
      active = undefined
      this.releaseLock()
    }
  }

  /**
   * A cluster as a user builds one: a master on `master` bound to 0.0.0.0 and advertising its
   * address, workers on the other hosts started with the join command it printed, and the CLI in the
   * root namespace logged in with the printed fingerprint (config in the lab's state dir).
   */
  async startCluster(options: ClusterOptions = {}): Promise<LabCluster> {
    return LabCluster.start(this, options)
  }
}

// ---------------------------------------------------------------------------------------------
// A cluster on the lab

export interface ClusterOptions {
  /** the master's host (default: the first) */
  readonly master?: string
  /** worker hosts (default: all the others) */
  readonly workers?: ReadonlyArray<string>
  /** master timer flags (default labTimers) */
  readonly timers?: ReadonlyArray<string>
  readonly masterArgs?: ReadonlyArray<string>
  readonly workerArgs?: ReadonlyArray<string>
  /** workers that dial the master through a delaying relay in their own namespace (see LabHost.delay) */
  readonly relay?: ReadonlyArray<string>
}

export interface NodeJson {
  readonly id: string
  readonly name: string
  readonly role: "Master" | "Worker"
  readonly status: "Ready" | "NotReady" | "Draining"
  readonly address: string
  readonly [key: string]: unknown
}

export interface PodJson {
  readonly id: string
  readonly name: string
  readonly project: string
  readonly deployment_name: string
  readonly replica_index: number
  readonly node: string | null
  readonly container_id: string | null
  readonly status: string
  readonly [key: string]: unknown
}

export class LabCluster {
  masterProc: Proc
  readonly workers = new Map<string, Proc>()

  private constructor(
    readonly lab: Lab,
    readonly master: LabHost,
    readonly options: ClusterOptions,
    masterProc: Proc,
    /** the printed join command, without the leading `helyosd` */
    readonly joinArgs: ReadonlyArray<string>,
    /** the API token printed at first start */
    readonly apiToken: string,
    /** the printed `helyos login …` command, without the leading `helyos` */
    readonly loginArgs: ReadonlyArray<string>,
    /** env for `helyos` in the root namespace: HELYOS_CONFIG in the lab's state dir */
    readonly cliEnv: Record<string, string>
  ) {
    this.masterProc = masterProc
  }

  private static masterArgs(master: LabHost, options: ClusterOptions) {
    return [
      "--mode", "master", "--host", "0.0.0.0", "--advertise-addr", master.addr,
      "--data-dir", master.dataDir, "--node-name", master.name, "--docker-socket", master.socketPath,
      ...(options.timers ?? labTimers), ...(options.masterArgs ?? [])
    ]
  }

  static async start(lab: Lab, options: ClusterOptions): Promise<LabCluster> {
    const master = lab.host(options.master ?? lab.hosts[0]!.name)
    const proc = master.spawnHelyosd(LabCluster.masterArgs(master, options))
    await proc.waitFor(/listening on https/, 60_000)
    // the login hint follows the listening line
    await proc.waitFor(/INFO helyos login https:/, 10_000)
    const out = proc.output()
    const join = /INFO (helyosd --mode worker --join \S+ --token nxa_[0-9a-f]{64} --ca-fingerprint sha256:[0-9a-f]{64})\s*$/m.exec(out)
    const token = /HELYOS_API_TOKEN=(nxa-api_[0-9a-f]+)/.exec(out)
    const login = /INFO (helyos login https:\/\/\S+ --ca-fingerprint \S+)\s*$/m.exec(out)
    if (join === null || token === null || login === null) {
      await proc.kill("SIGKILL")
      throw new Error(`the master did not print its join command, API token and login command:\n${tail(out)}`)
    }
    const cliDir = path.join(LAB_STATE, "_cli")
    mkdirSync(cliDir, { recursive: true })
    const cliEnv = { HELYOS_CONFIG: path.join(cliDir, "config.toml"), HELYOS_SERVER: "", HELYOS_API_TOKEN: "" }
    const cluster = new LabCluster(
      lab, master, options, proc, join[1]!.split(" ").slice(1), token[1]!, login[1]!.split(" ").slice(1), cliEnv
    )
    const loggedIn = await cluster.cli([...cluster.loginArgs, "--token", cluster.apiToken, "--name", "lab"])
    if (loggedIn.code !== 0) throw new Error(`helyos login failed (${loggedIn.code}):\n${loggedIn.stdout}${loggedIn.stderr}`)
    const workers = options.workers ?? lab.hosts.filter((h) => h !== master).map((h) => h.name)
    for (const name of workers) await cluster.startWorker(name)
    await eventually(async () => {
      const ready = (await cluster.nodes()).filter((n) => n.status === "Ready").map((n) => n.name)
      for (const name of [master.name, ...workers]) if (!ready.includes(name)) throw new Error(`${name} is not Ready yet`)
    }, 60_000)
    return cluster
  }

  /** The printed join command plus this host's own flags; through the host's relay when configured. */
  async startWorker(
    name: string,
    extraArgs: ReadonlyArray<string> = [],
    options: { readonly relay?: boolean } = {}
  ): Promise<Proc> {
    const host = this.lab.host(name)
    let args = [...this.joinArgs]
    if (options.relay ?? this.options.relay?.includes(name) ?? false) {
      const at = args.indexOf("--join")
      args[at + 1] = await host.startRelay(args[at + 1]!)
    }
    args = [
      ...args, "--node-name", name, "--data-dir", host.dataDir, "--docker-socket", host.socketPath,
      ...(this.options.workerArgs ?? []), ...extraArgs
    ]
    const proc = host.spawnHelyosd(args)
    this.workers.set(name, proc)
    return proc
  }

  /** kill (default -9) a worker's helyosd; its containers keep running in its engine. */
  async killWorker(name: string, signal: NodeJS.Signals = "SIGKILL") {
    await this.workers.get(name)?.kill(signal)
  }

  /** Start a worker again on its data dir (it then uses the saved CA, as a user's restart would). */
  restartWorker(name: string, extraArgs: ReadonlyArray<string> = [], options: { readonly relay?: boolean } = {}) {
    return this.startWorker(name, extraArgs, options)
  }

  async killMaster(signal: NodeJS.Signals = "SIGKILL") {
    await this.masterProc.kill(signal)
  }

  /** Start the master again on its data dir (no token is printed twice). */
  async restartMaster() {
    this.masterProc = this.master.spawnHelyosd(LabCluster.masterArgs(this.master, this.options))
    await this.masterProc.waitFor(/listening on https/, 60_000)
    return this.masterProc
  }

  private apiCa: string | undefined

  /**
   * GET an API path straight from the root namespace (HTTPS, the master's CA pinned after checking it
   * against the printed fingerprint). For polling where the CLI's start-up time (≈1-2 s on this
   * machine) would blur a measurement; user-visible checks go through `cli`.
   */
  async api<A>(pathAndQuery: string): Promise<A> {
    if (this.apiCa === undefined) {
      const pem = readFileSync(path.join(this.master.dataDir, "http-ca.pem"), "utf8")
      const printed = this.loginArgs[this.loginArgs.indexOf("--ca-fingerprint") + 1]!.replace(/[:]/g, "").toLowerCase()
      // the documented fingerprint: SHA-256 of the CA certificate's DER (what `openssl x509 -fingerprint -sha256` prints)
      const actual = createHash("sha256").update(new X509Certificate(pem).raw).digest("hex")
      if (actual !== printed) throw new Error(`the master's API CA ${actual} is not the printed ${printed}`)
      this.apiCa = pem
    }
    const ca = this.apiCa
    return new Promise<A>((resolve, reject) => {
      const req = https.request({
        host: this.master.addr, port: 6443, path: pathAndQuery, method: "GET", ca, timeout: 10_000,
        headers: { authorization: `Bearer ${this.apiToken}` }
      }, (res) => {
        let body = ""
        res.on("data", (c: Buffer) => (body += c.toString()))
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`GET ${pathAndQuery}: ${res.statusCode} ${body}`))
          try {
            resolve(JSON.parse(body) as A)
          } catch (e) {
            reject(e)
          }
        })
      })
      req.on("timeout", () => req.destroy(new Error(`GET ${pathAndQuery} timed out`)))
      req.on("error", reject)
      req.end()
    })
  }

  apiNodes() {
    return this.api<ReadonlyArray<NodeJson>>("/api/v1/nodes")
  }

  apiPods(project: string) {
    return this.api<ReadonlyArray<PodJson>>(`/api/v1/pods?project=${encodeURIComponent(project)}`)
  }

  /** `helyos …` in the root namespace, against the logged-in context. */
  cli(args: ReadonlyArray<string>, timeoutMs = 60_000): Promise<ExecResult> {
    return run(process.execPath, [helyosBin, ...args], { env: this.cliEnv, timeoutMs })
  }

  async cliJson<A>(args: ReadonlyArray<string>): Promise<A> {
    const result = await this.cli([...args, "--json"])
    if (result.code !== 0) throw new Error(`helyos ${args.join(" ")} failed (${result.code}): ${result.stderr}${result.stdout}`)
    return JSON.parse(result.stdout) as A
  }

  nodes() {
    return this.cliJson<ReadonlyArray<NodeJson>>(["nodes"])
  }

  pods(project?: string) {
    return this.cliJson<ReadonlyArray<PodJson>>(project === undefined ? ["pods"] : ["pods", "-p", project])
  }

  async statusOf(name: string) {
    return (await this.nodes()).find((n) => n.name === name)?.status
  }

  /** `helyos deploy` of a YAML text (written to the lab's state dir). */
  async deploy(yaml: string, timeoutS = 120) {
    const file = path.join(LAB_STATE, "_cli", `app-${Date.now()}.yaml`)
    writeFileSync(file, yaml)
    return this.cli(["deploy", file, "--timeout", String(timeoutS)], (timeoutS + 30) * 1000)
  }
}
