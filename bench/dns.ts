// DNS resolver benchmark: the node-local resolver (layers/dns/DnsServer) in a child process on
// 127.0.0.1, and this process as the client: one raw UDP socket, pre-encoded A queries over 1,000
// `.internal` names (10 % of them unknown: NXDOMAIN), kept at 1, 16 and 64 in flight. Beside it, the
// anchor measured the same way in the same run: a bare dgram echo server (no DNS at all), i.e. what
// loopback, two event loops and this client cost by themselves. Prints queries/s and latency
// percentiles, and the server's CPU time per query (from /proc: its capacity on a core of its own is
// about 1 / that); no assertions. Run with: npm run build && npm run bench:dns
import { spawn } from "node:child_process"
import * as dgram from "node:dgram"
import { readFileSync } from "node:fs"
import * as os from "node:os"
import { performance } from "node:perf_hooks"
import { fileURLToPath } from "node:url"
import * as dnsPacket from "dns-packet"
import { Effect, Logger, LogLevel, Option } from "effect"
import { NodeId } from "../src/domain/Node.js"
import type { DnsRecord } from "../src/domain/dns/Records.js"
import { PodId } from "../src/domain/Workload.js"
import * as DnsServer from "../src/layers/dns/DnsServer.js"

const queries = Number(process.env.BENCH_QUERIES ?? 20_000)
const warmup = Number(process.env.BENCH_WARMUP ?? 2_000)
const levels = (process.env.BENCH_IN_FLIGHT ?? "1,16,64").split(",").map(Number)
// each row is run this many times and the median of each figure printed (the machine is shared)
const repeat = Number(process.env.BENCH_REPEAT ?? 3)
const NAMES = 1_000
const PROJECTS = 10

// ---------------------------------------------------------------------------------------------
// The servers (child processes: BENCH_DNS_ROLE=resolver | echo)

const records = (): ReadonlyArray<DnsRecord> =>
  Array.from({ length: NAMES }, (_, i) => ({
    podId: PodId.make(`pod-${i}`),
    project: `p${i % PROJECTS}`,
    deployment: `d${i}`,
    replicaIndex: 0,
    nodeId: NodeId.make("bench"),
    nodeName: "bench",
    ipv4: `10.${(i >> 8) & 255}.${i & 255}.1`,
    ready: true
  }))

const serveResolver = () =>
  Effect.runFork(
    Effect.gen(function*() {
      const resolver = yield* DnsServer.make({ listen: { host: "127.0.0.1", port: 0 }, upstreams: [], initial: { revision: 1, records: records() } })
      process.stdout.write(`PORT ${Option.getOrThrow(resolver.endpoint).port}\n`)
      return yield* Effect.never
    }).pipe(Effect.scoped, Logger.withMinimumLogLevel(LogLevel.Error))
  )

const serveEcho = () => {
  const socket = dgram.createSocket("udp4")
  socket.on("message", (message, from) => socket.send(message, from.port, from.address))
  socket.bind(0, "127.0.0.1", () => process.stdout.write(`PORT ${socket.address().port}\n`))
}

// ---------------------------------------------------------------------------------------------
// The client

const clockTicks = 100 // USER_HZ on Linux
/** CPU seconds (user + system) a process has used. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) / clockTicks
}

const startServer = (role: "resolver" | "echo") =>
  new Promise<{ readonly port: number; readonly pid: number; readonly stop: () => void }>((resolve, reject) => {
    const child = spawn(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, BENCH_DNS_ROLE: role },
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk) => {
      out += chunk
      const port = /PORT (\d+)/.exec(out)?.[1]
      if (port !== undefined) resolve({ port: Number(port), pid: child.pid!, stop: () => child.kill("SIGTERM") })
    })
    child.on("exit", (code) => reject(new Error(`${role} server exited (${code}): ${out}`)))
  })

/** 1,000 names: 90 % existing deployments, 10 % unknown ones, in a fixed shuffled order. */
const workload = (count: number): ReadonlyArray<Buffer> => {
  let seed = 42
  const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff)
  return Array.from({ length: count }, (_, i) => {
    const n = Math.floor(rand() * NAMES)
    const name = rand() < 0.1 ? `missing${n}.p${n % PROJECTS}.internal` : `d${n}.p${n % PROJECTS}.internal`
    return dnsPacket.encode({ type: "query", id: i & 0xffff, flags: dnsPacket.RECURSION_DESIRED, questions: [{ name, type: "A" }] })
  })
}

interface Run {
  readonly perSecond: number
  readonly p50: number
  readonly p99: number
  readonly p999: number
  readonly lost: number
}

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN

/** Send `messages` keeping `inFlight` outstanding (ids are the index mod 65536); a query unanswered for 1 s is lost. */
const load = (port: number, messages: ReadonlyArray<Buffer>, inFlight: number) =>
  new Promise<Run>((resolve) => {
    const socket = dgram.createSocket("udp4")
    const sentAt = new Map<number, number>()
    const latencies: Array<number> = []
    let next = 0
    let lost = 0
    let started = 0
    const sendNext = () => {
      if (next >= messages.length) return
      const message = messages[next++]!
      sentAt.set(message.readUInt16BE(0), performance.now())
      socket.send(message, port, "127.0.0.1")
    }
    const finish = () => {
      clearInterval(sweeper)
      socket.close()
      const elapsed = (performance.now() - started) / 1000
      latencies.sort((a, b) => a - b)
      resolve({
        perSecond: latencies.length / elapsed,
        p50: percentile(latencies, 0.5),
        p99: percentile(latencies, 0.99),
        p999: percentile(latencies, 0.999),
        lost
      })
    }
    socket.on("message", (answer) => {
      const at = sentAt.get(answer.readUInt16BE(0))
      if (at === undefined) return
      sentAt.delete(answer.readUInt16BE(0))
      latencies.push(performance.now() - at)
      if (latencies.length + lost === messages.length) finish()
      else sendNext()
    })
    const sweeper = setInterval(() => {
      const now = performance.now()
      for (const [id, at] of sentAt) {
        if (now - at < 1000) continue
        sentAt.delete(id)
        lost++
        if (latencies.length + lost === messages.length) return finish()
        sendNext()
      }
    }, 100)
    socket.bind(0, "127.0.0.1", () => {
      started = performance.now()
      for (let i = 0; i < inFlight; i++) sendNext()
    })
  })

const ms = (value: number) => (value < 1 ? `${(value * 1000).toFixed(0)} µs` : `${value.toFixed(2)} ms`)

const main = async () => {
  const messages = workload(queries)
  const warm = workload(warmup)
  console.log(`DNS on loopback: ${queries} A queries per run, median of ${repeat} runs per row (${NAMES} names, 10 % NXDOMAIN), client and server are separate processes on ${os.cpus().length} cores`)
  console.log(`load average before: ${os.loadavg().map((l) => l.toFixed(2)).join(" ")}`)
  console.log("server                        in flight      q/s        p50        p99      p99.9   lost   server CPU/query")
  for (const role of ["echo", "resolver"] as const) {
    const server = await startServer(role)
    try {
      await load(server.port, warm, 16)
      for (const inFlight of levels) {
        const runs: Array<Run & { readonly cpuPerQuery: number }> = []
        for (let i = 0; i < repeat; i++) {
          const cpuBefore = cpuSeconds(server.pid)
          const one = await load(server.port, messages, inFlight)
          runs.push({ ...one, cpuPerQuery: (cpuSeconds(server.pid) - cpuBefore) / queries })
        }
        const median = (pick: (r: (typeof runs)[number]) => number) => percentile(runs.map(pick).sort((a, b) => a - b), 0.5)
        const run = { perSecond: median((r) => r.perSecond), p50: median((r) => r.p50), p99: median((r) => r.p99), p999: median((r) => r.p999) }
        const lost = runs.reduce((sum, r) => sum + r.lost, 0)
        const cpuPerQuery = median((r) => r.cpuPerQuery)
        console.log(
          [
            (role === "echo" ? "dgram echo (anchor)" : "helyos resolver").padEnd(28),
            String(inFlight).padStart(10),
            run.perSecond.toFixed(0).padStart(8),
            ms(run.p50).padStart(10),
            ms(run.p99).padStart(10),
            ms(run.p999).padStart(10),
            String(lost).padStart(6),
            `${(cpuPerQuery * 1e6).toFixed(1)} µs`.padStart(18)
          ].join(" ")
        )
      }
    } finally {
      server.stop()
    }
  }
}

const role = process.env.BENCH_DNS_ROLE
if (role === "resolver") serveResolver()
else if (role === "echo") serveEcho()
else {
  main().catch((error) => {
    console.error(error)
    process.exit(1)
  })
}
