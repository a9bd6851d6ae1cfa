// CLI start-up benchmark (issue 14): how long `helyos --version` and `helyos nodes` take as a user
// runs them, beside `node -e 0` (the floor: starting Node at all) measured in the same run.
// 1. starts a local daemon (`node bin/helyosd --data-dir <tmp> --port <free>`, HELYOS_CONFIG a temp
//    file, which the daemon seeds with the context `helyos nodes` then uses) and times its start-up
//    to GET /health answering: a first start (fresh data dir) and restarts on the same dir;
// 2. runs anchor, `helyos --version` and `helyos nodes` in turn, BENCH_RUNS times (20) after two
//    warm-up rounds, each through /usr/bin/time -v (peak RSS, CPU), wall time measured here;
// 3. prints median/min/max wall, median CPU and peak RSS of each.
// BENCH_CLI_BEFORE=/path/to/bin/helyos adds another CLI build (e.g. a checkout of the previous
// commit) to the same rounds, for a before/after beside the same anchor.
// Prints figures only, no assertions. Run with: npm run build && npm run bench:cli
import { spawn, spawnSync } from "node:child_process"
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"

const root = path.resolve(import.meta.dirname, "../..")
const helyosd = path.join(root, "bin", "helyosd")
const helyos = path.join(root, "bin", "helyos")
const before = process.env.BENCH_CLI_BEFORE
const runs = Number(process.env.BENCH_RUNS ?? 20)
const restarts = Number(process.env.BENCH_RESTARTS ?? 5)
const TIME = "/usr/bin/time"

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

const healthy = (port: number) =>
  new Promise<boolean>((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false }, (res) => {
      res.resume()
      resolve(res.statusCode === 200)
    })
    req.on("error", () => resolve(false))
    req.setTimeout(1_000, () => req.destroy())
  })

/** Start the daemon and time spawn → first 200 from /health. */
const startDaemon = async (dataDir: string, port: number, env: NodeJS.ProcessEnv) => {
  const started = performance.now()
  const child = spawn(process.execPath, [helyosd, "--data-dir", dataDir, "--port", String(port)], {
    env,
    stdio: ["ignore", "pipe", "pipe"]
  })
  let output = ""
  child.stdout.on("data", (c: Buffer) => (output += c.toString()))
  child.stderr.on("data", (c: Buffer) => (output += c.toString()))
  for (;;) {
    if (child.exitCode !== null) throw new Error(`helyosd exited (${child.exitCode}):\n${output}`)
    if (await healthy(port)) return { child, ms: performance.now() - started }
    if (performance.now() - started > 60_000) throw new Error(`helyosd did not answer /health in 60 s:\n${output}`)
    await new Promise((r) => setTimeout(r, 5))
  }
}

const stop = (child: ReturnType<typeof spawn>) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once("exit", () => resolve())
    child.kill("SIGTERM")
  })

interface Sample {
  readonly wallMs: number
  readonly cpuMs: number
  readonly rssKiB: number
  readonly status: number | null
  readonly stderr: string
}

/** Without /usr/bin/time: the child reports its own peak RSS and CPU on exit (preloaded). */
const reporter = path.join(mkdtempSync(path.join(os.tmpdir(), "helyos-bench-cli-")), "report.cjs")
writeFileSync(reporter, [
  "process.on('exit', () => {",
  "  const u = process.resourceUsage()",
  "  require('fs').writeSync(2, `\\nBENCH ${u.maxRSS} ${(u.userCPUTime + u.systemCPUTime) / 1000}\\n`)",
  "})"
].join("\n"))
const hasTime = existsSync(TIME)

const runOnce = (args: ReadonlyArray<string>, env: NodeJS.ProcessEnv): Sample => {
  const command = hasTime ? [TIME, "-v", process.execPath, ...args] : [process.execPath, "-r", reporter, ...args]
  const started = performance.now()
  const result = spawnSync(command[0]!, command.slice(1), { env, encoding: "utf8" })
  const wallMs = performance.now() - started
  const stderr = result.stderr
  if (hasTime) {
    const field = (name: string) => Number(new RegExp(`${name}: ([\\d.]+)`).exec(stderr)?.[1] ?? NaN)
    return {
      wallMs,
      cpuMs: (field("User time \\(seconds\\)") + field("System time \\(seconds\\)")) * 1000,
      rssKiB: field("Maximum resident set size \\(kbytes\\)"),
      status: result.status,
      stderr: stderr.split("\n\tCommand being timed")[0]!
    }
  }
  const report = /BENCH (\d+) ([\d.]+)/.exec(stderr)
  return {
    wallMs,
    cpuMs: Number(report?.[2] ?? NaN),
    rssKiB: Number(report?.[1] ?? NaN),
    status: result.status,
    stderr: stderr.replace(/\nBENCH .*\n?/, "")
  }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

const main = async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "helyos-bench-cli-"))
  const config = path.join(dir, "config.toml")
  const dataDir = path.join(dir, "data")
  const port = await freePort()
  // the CLI must find its server and token in the seeded context only
  const env: NodeJS.ProcessEnv = { ...process.env, HELYOS_CONFIG: config, NO_COLOR: "1" }
  delete env.HELYOS_SERVER
  delete env.HELYOS_API_TOKEN
  delete env.HELYOS_CONTEXT

  console.log(`CLI start-up — Node ${process.version}, ${os.cpus().length} cores, load ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  console.log(`RSS and CPU from ${hasTime ? "/usr/bin/time -v" : "the child's process.resourceUsage() (no /usr/bin/time)"}`)

  const first = await startDaemon(dataDir, port, env)
  let daemon = first.child
  const restartMs: Array<number> = []
  for (let i = 0; i < restarts; i++) {
    await stop(daemon)
    const again = await startDaemon(dataDir, port, env)
    daemon = again.child
    restartMs.push(again.ms)
  }
  console.log(
    `helyosd start-up to /health answering: first start ${first.ms.toFixed(0)} ms; restarts (${restarts}): ` +
      `median ${median(restartMs).toFixed(0)} ms, min ${Math.min(...restartMs).toFixed(0)}, max ${Math.max(...restartMs).toFixed(0)}`
  )

  const subjects: ReadonlyArray<readonly [string, ReadonlyArray<string>]> = [
    ["node -e 0 (anchor)", ["-e", "0"]],
    ["helyos --version", [helyos, "--version"]],
    ["helyos nodes", [helyos, "nodes"]],
    ...(before === undefined
      ? []
      : [["before: helyos --version", [before, "--version"]], ["before: helyos nodes", [before, "nodes"]]] as const)
  ]
  try {
    for (const [name, args] of subjects) {
      const check = runOnce(args, env)
      if (check.status !== 0) throw new Error(`${name} failed (${check.status}): ${check.stderr}`)
    }
    const samples = new Map(subjects.map(([name]) => [name, [] as Array<Sample>]))
    for (let round = -2; round < runs; round++) {
      for (const [name, args] of subjects) {
        const sample = runOnce(args, env)
        if (round >= 0) samples.get(name)!.push(sample)
      }
    }
    console.log(`\n${runs} runs each, interleaved (after 2 warm-up rounds):`)
    console.log("command                      wall median   min    max   |  CPU median  |  peak RSS")
    for (const [name, list] of samples) {
      const wall = list.map((s) => s.wallMs)
      const peak = Math.max(...list.map((s) => s.rssKiB)) / 1024
      console.log(
        `${name.padEnd(28)} ${median(wall).toFixed(0).padStart(6)} ms ${Math.min(...wall).toFixed(0).padStart(6)} ` +
          `${Math.max(...wall).toFixed(0).padStart(6)}   |  ${median(list.map((s) => s.cpuMs)).toFixed(0).padStart(6)} ms   |  ` +
          `${peak.toFixed(1)} MiB`
      )
    }
  } finally {
    await stop(daemon)
    rmSync(dir, { recursive: true, force: true })
    rmSync(path.dirname(reporter), { recursive: true, force: true })
  }
}

await main()
