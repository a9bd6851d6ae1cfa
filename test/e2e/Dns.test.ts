// e2e: the seed's cluster guide commands with --dns-mode embedded, as real processes. The master's line
// exactly as the guide writes it (`--mode master --host 0.0.0.0 --advertise-addr 10.0.1.1 --dns-mode
// embedded --master-ip 10.0.1.1 --overlay`) plus what one machine needs (free ports, a temp data dir, the
// resolver on 127.0.0.1:<free port>, an upstream this test runs on loopback); the worker's line
// (`--mode worker --join … --token … --overlay`) plus its own resolver. Each answers dig, forwarding an
// external name to the upstream; `helyos status --json` says DNS is on; /metrics counts by answer code.
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import * as https from "node:https"
import * as path from "node:path"
import { Effect, Exit, Scope } from "effect"
import parsePrometheusText from "parse-prometheus-text-format"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, freePort, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"
import * as FakeUpstream from "../integration/dns/FakeUpstream.js"

// node names of their own: the Docker engine is shared with the other e2e files, and a node removes
// every container labelled with its name that it does not run itself
const MASTER_NAME = `dns-master-${process.pid}`
const WORKER_NAME = `dns-w1-${process.pid}`

const scope = Effect.runSync(Scope.make())
let upstream: FakeUpstream.FakeUpstream
let master: Proc
let worker: Proc | undefined
let dataDir: string
let port: number
let grpcPort: number
let dnsPort: number
const env: Record<string, string> = {}

/** `dig @127.0.0.1 -p PORT NAME`: status and the A records, sorted. */
const dig = (serverPort: number, name: string) =>
  new Promise<{ status: string | undefined; addresses: ReadonlyArray<string> }>((resolve, reject) => {
    execFile("/usr/bin/dig", ["@127.0.0.1", "-p", String(serverPort), name, "A", "+tries=1", "+time=2"], { timeout: 10_000 }, (error, stdout) => {
      if (error !== null && stdout === "") return reject(error)
      const status = /status: ([A-Z]+)/.exec(stdout)?.[1]
      const section = /;; ANSWER SECTION:\n([\s\S]*?)(?:\n\n|$)/.exec(stdout)?.[1] ?? ""
      const addresses = section.split("\n").map((l) => l.trim().split(/\s+/)).filter((f) => f[3] === "A").map((f) => f[4]!).sort()
      resolve({ status, addresses })
    })
  })

/** GET over HTTPS with the master's own CA (what the seeded CLI context pins). */
const getText = (url: string) =>
  new Promise<string>((resolve, reject) => {
    const ca = readFileSync(path.join(dataDir, "http-ca.pem"), "utf8")
    https.get(url, { ca, timeout: 10_000 }, (res) => {
      let body = ""
      res.on("data", (c: Buffer) => (body += c.toString()))
      res.on("end", () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode} ${body}`))))
    }).on("error", reject)
  })

const queries = (page: string, rcode: string) =>
  Number(parsePrometheusText(page).find((f) => f.name === "helyos_dns_queries_total")?.metrics.find((m) => m.labels?.rcode === rcode)?.value ?? NaN)

beforeAll(async () => {
  upstream = await Effect.runPromise(Scope.extend(FakeUpstream.start({ names: { "www.example.test": ["192.0.2.80"] } }), scope))
  dataDir = tempDir("helyos-dns-e2e-")
  ;[port, grpcPort, dnsPort] = [await freePort(), await freePort(), await freePort()]
  env.HELYOS_CONFIG = path.join(dataDir, "cli-config.toml")
  master = spawnProc(helyosdBin, [
    // the seed's command, as written
    "--mode", "master", "--host", "0.0.0.0", "--advertise-addr", "10.0.1.1", "--dns-mode", "embedded", "--master-ip", "10.0.1.1", "--overlay",
    // one machine's share
    "--port", String(port), "--grpc-port", String(grpcPort), "--data-dir", dataDir, "--node-name", MASTER_NAME,
    "--dns-listen", `127.0.0.1:${dnsPort}`, "--dns-upstream", `127.0.0.1:${upstream.address.port}`
  ], env)
  await master.waitFor(/listening on https/, 30_000)
}, 60_000)

afterAll(async () => {
  await worker?.kill("SIGKILL")
  await master?.kill("SIGTERM")
  await Effect.runPromise(Scope.close(scope, Exit.void))
})

describe("helyosd --dns-mode embedded (real processes)", () => {
  it("the seed's master command starts: its resolver answers, forwarding an external name to the upstream", async () => {
    expect(master.output()).toContain(`DNS resolver on 127.0.0.1:${dnsPort} (UDP and TCP), forwarding to 127.0.0.1:${upstream.address.port}`)
    expect(await dig(dnsPort, "www.example.test")).toEqual({ status: "NOERROR", addresses: ["192.0.2.80"] })
    expect(upstream.asked.udp).toBeGreaterThanOrEqual(1)
    expect((await dig(dnsPort, "nothing.example.test")).status).toBe("NXDOMAIN")
    // no pod yet: an unknown .internal name is answered here, never forwarded
    const asked = upstream.asked.udp
    expect((await dig(dnsPort, "web.shop.internal")).status).toBe("NXDOMAIN")
    expect(upstream.asked.udp).toBe(asked)
  })

  it("--master-ip is the advertised address (the join command names it), --overlay is accepted and says it is not in effect yet", () => {
    expect(master.output()).toMatch(new RegExp(`INFO helyosd --mode worker --join 10\\.0\\.1\\.1:${grpcPort} --token nxa_[0-9a-f]{64}`))
    expect(master.output()).toContain("--overlay is accepted but takes effect with the overlay network (not yet")
  })

  it("`helyos status --json` says DNS is on, and where", async () => {
    const result = await runCli(["status", "--json"], env)
    expect(result.code, result.stderr).toBe(0)
    const status = JSON.parse(result.stdout) as { cluster: string; dns: { mode: string; listen: string | null } }
    expect(status.cluster).toBe("cluster")
    expect(status.dns).toMatchObject({ mode: "embedded", listen: `127.0.0.1:${dnsPort}` })
  })

  it("/metrics counts the resolver's answers by response code", async () => {
    const page = await getText(`https://127.0.0.1:${port}/metrics`)
    expect(queries(page, "NOERROR")).toBeGreaterThanOrEqual(1)
    expect(queries(page, "NXDOMAIN")).toBeGreaterThanOrEqual(2)
    expect(queries(page, "SERVFAIL")).toBe(0)
  })

  it("the seed's worker command starts with its own resolver and joins", { timeout: 60_000 }, async () => {
    const join = /INFO helyosd --mode worker --join \S+ --token (nxa_[0-9a-f]{64}) --ca-fingerprint (sha256:[0-9a-f]{64})/.exec(master.output())!
    const workerDns = await freePort()
    worker = spawnProc(helyosdBin, [
      // the seed's worker command (the join address is this machine's, not 10.0.1.1)
      "--mode", "worker", "--join", `127.0.0.1:${grpcPort}`, "--token", join[1]!, "--overlay",
      "--ca-fingerprint", join[2]!, "--node-name", WORKER_NAME, "--data-dir", tempDir("helyos-dns-w1-"), "--metrics-port", "0",
      "--dns-mode", "embedded", "--dns-listen", `127.0.0.1:${workerDns}`, "--dns-upstream", `127.0.0.1:${upstream.address.port}`
    ], { HELYOS_CONFIG: env.HELYOS_CONFIG! })
    await worker.waitFor(/connected to the master/, 30_000)
    expect(await dig(workerDns, "www.example.test")).toEqual({ status: "NOERROR", addresses: ["192.0.2.80"] })
    await eventually(async () => {
      const nodes = JSON.parse((await runCli(["nodes", "--json"], env)).stdout) as Array<{ name: string; status: string }>
      expect(nodes.find((n) => n.name === WORKER_NAME)?.status).toBe("Ready")
    }, 20_000)
    const url = /worker metrics on (http:\/\/\S+)\/metrics/.exec(worker.output())![1]!
    const page = await (await fetch(`${url}/metrics`)).text()
    expect(queries(page, "NOERROR")).toBe(1)
  })

  it("a wildcard --dns-listen is refused at once, in one line", async () => {
    const refused = spawnProc(helyosdBin, ["--dns-mode", "embedded", "--dns-listen", "0.0.0.0:53", "--data-dir", tempDir()], env)
    expect(await refused.exited).toBe(1)
    expect(refused.output().trim()).toMatch(/^error: --dns-listen must be one address, not 0\.0\.0\.0 or ::/)
  })

  it("`helyosd --help` documents the DNS flags and their defaults", async () => {
    const help = spawnProc(helyosdBin, ["--help"])
    await help.exited
    const text = help.output()
    for (const flag of ["--dns-mode", "--dns-listen", "--dns-upstream", "--dns-ttl", "--master-ip", "--overlay", "--cluster-cidr", "--wg-port"]) {
      expect(text).toContain(flag)
    }
    expect(text).toContain("169.254.20.10:53")
    expect(text).toContain("NodeLocal DNSCache")
    expect(text).toContain("takes effect with the overlay (not yet)")
    expect(text).toContain("/etc/resolv.conf")
  })
})
