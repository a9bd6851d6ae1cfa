// Heartbeat load benchmark: one real master process, and this process as the load generator that
// registers N simulated workers and heartbeats each over its own real gRPC Connect stream.
// Prints master CPU %, RSS and ping→ack latency percentiles for each N. No assertions.
import * as grpc from "@grpc/grpc-js"
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"
import { ClusterClient, type MasterMessage, type WorkerMessage } from "../src/generated/cluster.js"
import { CLUSTER_SERVER_NAME, pinnedCaCredentials } from "../src/layers/cluster/grpc/PeerCa.js"

// the daemon built alongside this file (dist/src/programs/helyosd.js for dist/bench/heartbeat-load.js)
const daemon = path.resolve(import.meta.dirname, "../src/programs/helyosd.js")
const sizes = (process.env.BENCH_SIZES ?? "500,1000,2000").split(",").map(Number)
const intervalMs = Number(process.env.BENCH_INTERVAL_MS ?? 1000)
const warmupMs = Number(process.env.BENCH_WARMUP_MS ?? 5000)
const windowMs = Number(process.env.BENCH_WINDOW_MS ?? 20000)
// extra node flags for the master, e.g. BENCH_MASTER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"
const masterNodeArgs = (process.env.BENCH_MASTER_NODE_ARGS ?? "").split(" ").filter((a) => a !== "")
const streamsPerChannel = 100
const clockTicks = 100 // USER_HZ on Linux

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

const cpuTicks = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return Number(fields[11]) + Number(fields[12]) // utime + stime (fields 14 and 15 of stat)
}
const rssMiB = (pid: number) => {
  const line = readFileSync(`/proc/${pid}/status`, "utf8").split("\n").find((l) => l.startsWith("VmRSS:"))!
  return Number(line.replace(/\D+/g, "")) / 1024
}
const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN

const startMaster = async () => {
  const port = await freePort()
  const grpcPort = await freePort()
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "helyos-bench-"))
  const child = spawn(process.execPath, [
    ...masterNodeArgs, daemon, "--mode", "master", "--host", "127.0.0.1", "--port", String(port),
    "--grpc-port", String(grpcPort), "--data-dir", dataDir, "--node-name", "bench-master",
    "--heartbeat-interval", `${intervalMs}ms`, "--log-level", "warn"
  ], { env: { ...process.env, HELYOS_CONFIG: path.join(dataDir, "cli.toml") }, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  child.stdout.on("data", (d) => (out += d))
  child.stderr.on("data", (d) => (out += d))
  for (let i = 0; i < 300 && !/--token (nxa_[0-9a-f]{64})/.test(out); i++) await sleep(100)
  const token = /--token (nxa_[0-9a-f]{64})/.exec(out)?.[1]
  if (token === undefined) throw new Error(`master did not print a join token:\n${out}`)
  // the cluster port is TLS only: trust the CA the master wrote to its data dir (as a pinned worker would)
  const caPem = readFileSync(path.join(dataDir, "grpc-ca.pem"), "utf8")
  return { child, grpcPort, token, caPem }
}

const run = async (n: number) => {
  const master = await startMaster()
  const channels = Array.from({ length: Math.ceil(n / streamsPerChannel) }, () =>
    new ClusterClient(`127.0.0.1:${master.grpcPort}`, pinnedCaCredentials(master.caPem), {
      "grpc.ssl_target_name_override": CLUSTER_SERVER_NAME,
      "grpc.use_local_subchannel_pool": 1 // a connection per channel, like separate worker hosts
    }))
  const resources = { cpuCores: 4, memoryBytes: 8 * 2 ** 30, cpuAvailable: 4, memoryAvailable: 8 * 2 ** 30 }
  const latencies: Array<number> = []
  let measuring = false
  let acks = 0
  const calls: Array<grpc.ClientDuplexStream<WorkerMessage, MasterMessage>> = []
  const timers: Array<NodeJS.Timeout> = []

  const register = (i: number) =>
    new Promise<{ nodeId: string; sessionSecret: string }>((resolve, reject) =>
      channels[i % channels.length]!.register(
        { joinToken: master.token, nodeName: `sim-${i}`, address: `127.0.0.1:${10_000 + i}`, resources },
        (err, reply) => (err ? reject(err) : resolve(reply))
      ))

  const registered: Array<{ nodeId: string; sessionSecret: string }> = []
  for (let i = 0; i < n; i += 50) {
    registered.push(...await Promise.all(Array.from({ length: Math.min(50, n - i) }, (_, k) => register(i + k))))
  }

  registered.forEach((reg, i) => {
    const metadata = new grpc.Metadata()
    metadata.set("x-helyos-node-id", reg.nodeId)
    metadata.set("x-helyos-session", reg.sessionSecret)
    const call = channels[i % channels.length]!.connect(metadata)
    const sentAt = new Map<number, number>()
    call.on("data", (message: MasterMessage) => {
      if (message.kind?.$case !== "ack") return
      const t0 = sentAt.get(message.kind.value.seq)
      sentAt.delete(message.kind.value.seq)
      if (t0 !== undefined && measuring) {
        latencies.push(performance.now() - t0)
        acks++
      }
    })
    call.on("error", () => undefined)
    calls.push(call)
    let seq = 0
    const ping = () => {
      seq++
      sentAt.set(seq, performance.now())
      call.write({ kind: { $case: "ping", value: { seq, resources, pods: [], appliedGeneration: 0, events: [] } } })
    }
    // spread the workers' phases over the interval, as real workers would be
    timers.push(setTimeout(() => timers.push(setInterval(ping, intervalMs)), Math.random() * intervalMs))
  })

  await sleep(warmupMs)
  const pid = master.child.pid!
  const ticks0 = cpuTicks(pid)
  const t0 = performance.now()
  measuring = true
  await sleep(windowMs)
  measuring = false
  const seconds = (performance.now() - t0) / 1000
  const cpu = ((cpuTicks(pid) - ticks0) / clockTicks / seconds) * 100
  const rss = rssMiB(pid)

  for (const t of timers) clearInterval(t)
  for (const c of calls) c.cancel()
  for (const ch of channels) ch.close()
  master.child.kill("SIGTERM")
  await new Promise((r) => master.child.once("exit", r))

  const sorted = latencies.sort((a, b) => a - b)
  return { n, cpu, rss, acksPerSec: acks / seconds, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) }
}

const main = async () => {
  console.log(`heartbeat load: interval ${intervalMs} ms, warm-up ${warmupMs} ms, window ${windowMs} ms, ${os.cpus().length} cores`)
  console.log("| workers | acks/s | master CPU % | master RSS MiB | p50 ms | p99 ms |")
  console.log("|---:|---:|---:|---:|---:|---:|")
  for (const n of sizes) {
    const r = await run(n)
    console.log(`| ${r.n} | ${r.acksPerSec.toFixed(0)} | ${r.cpu.toFixed(1)} | ${r.rss.toFixed(0)} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} |`)
  }
  process.exit(0)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
