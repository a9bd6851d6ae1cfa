// e2e: the encrypted, pinned cluster channel with real processes on 127.0.0.1 — a master logging at
// debug level (so every Register it receives shows in its output), workers started the ways a user
// would, and a hand-rolled client forging a session.
import * as grpc from "@grpc/grpc-js"
import { readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { ClusterClient, type MasterMessage, type WorkerMessage } from "../../src/generated/cluster.js"
import { CLUSTER_SERVER_NAME, pinnedCaCredentials } from "../../src/layers/cluster/grpc/PeerCa.js"
import { NODE_ID_HEADER, SESSION_HEADER } from "../../src/layers/cluster/grpc/SessionMetadata.js"
import { type Master, nodes, startMaster, startWorker, statusOf } from "../support/process/Cluster.js"
import { eventually, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "../support/process/Processes.js"

let master: Master
const procs: Array<Proc> = []

const track = (proc: Proc) => {
  procs.push(proc)
  return proc
}

/** Register lines the master logged (debug) for a node name. */
const registersFor = (name: string) =>
  master.proc.output().split("\n").filter((line) => line.includes("Register from") && line.includes(`"${name}"`))

const wrongFingerprint = `sha256:${"ab".repeat(32)}`

beforeAll(async () => {
  master = await startMaster({ extraArgs: ["--log-level", "debug"] })
}, 60_000)

afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill("SIGKILL")))
  await master?.proc.kill("SIGTERM")
})

describe("cluster channel: TLS with a pinned CA", () => {
  it("a worker started with the printed join command joins over TLS and keeps the CA in its data dir", async () => {
    const printed = master.proc.output().split("\n").find((l) => l.startsWith("INFO helyosd --mode worker"))
    expect(printed).toMatch(/ --ca-fingerprint sha256:[0-9a-f]{64}$/)
    // exactly the printed arguments, plus what makes it a distinct worker on this machine
    const args = printed!.replace(/^INFO helyosd /, "").split(" ")
    const dataDir = tempDir("helyos-pinned-")
    const worker = track(spawnProc(helyosdBin, [...args, "--node-name", "pinned", "--data-dir", dataDir, "--reconnect-max", "1s"]))
    await eventually(async () => expect(await statusOf(master, "pinned")).toBe("Ready"), 40_000)
    expect(worker.output()).toMatch(/cluster CA sha256:[0-9a-f]{64} verified and saved to /)
    expect(readFileSync(path.join(dataDir, "grpc-ca.pem"), "utf8")).toBe(readFileSync(path.join(master.dataDir, "grpc-ca.pem"), "utf8"))
    expect(registersFor("pinned").length).toBeGreaterThanOrEqual(1)
  }, 90_000)

  it("the master's key files are private", () => {
    for (const file of ["grpc-ca-key.pem", "grpc-server-key.pem"]) {
      expect(statSync(path.join(master.dataDir, file)).mode & 0o777, file).toBe(0o600)
    }
  }, 90_000)

  it("with a wrong fingerprint the worker exits 1 before sending its token: the master sees no Register", async () => {
    const worker = track(startWorker(master, "victim", master.joinToken, ["--ca-fingerprint", wrongFingerprint], { pin: false }))
    expect(await worker.exited).toBe(1)
    const out = worker.output()
    expect(out).toContain("cluster CA fingerprint mismatch — aborting (possible MITM)")
    expect(out).toContain(`expected: ${wrongFingerprint}`)
    expect(out).toContain(`got:      ${master.caFingerprint}`)
    expect(out).not.toContain(master.joinToken!)
    // the master logs every Register it receives at debug level (the pinned worker's proves it)
    expect(registersFor("pinned").length).toBeGreaterThanOrEqual(1)
    expect(registersFor("victim")).toEqual([])
    expect((await nodes(master)).map((n) => n.name)).not.toContain("victim")
  }, 90_000)

  it("without a fingerprint or a CA file the worker refuses to start, in one line", async () => {
    const worker = track(startWorker(master, "unpinned", master.joinToken, [], { pin: false }))
    expect(await worker.exited).toBe(1)
    const errorLines = worker.output().split("\n").filter((l) => l.startsWith("error:"))
    expect(errorLines).toHaveLength(1)
    expect(errorLines[0]).toMatch(/^error: refusing to join 127\.0\.0\.1:\d+ without a way to verify the master: pass --ca-fingerprint/)
    expect(registersFor("unpinned")).toEqual([])
  }, 90_000)

  it("a bad --ca-fingerprint is refused at start, naming the flag", async () => {
    const worker = track(startWorker(master, "typo", master.joinToken, ["--ca-fingerprint", "sha256:abc"], { pin: false }))
    expect(await worker.exited).toBe(1)
    expect(worker.output()).toMatch(/error: --ca-fingerprint must be sha256:<64 hex digits>/)
  }, 90_000)

  it("--insecure-skip-ca-verify joins, with a loud warning", async () => {
    const worker = track(startWorker(master, "reckless", master.joinToken, ["--insecure-skip-ca-verify"], { pin: false }))
    await eventually(async () => expect(await statusOf(master, "reckless")).toBe("Ready"), 40_000)
    expect(worker.output()).toMatch(/^WARN INSECURE: --insecure-skip-ca-verify trusts whatever answers/m)
  }, 90_000)

  it("a heartbeat stream with a forged session is rejected (UNAUTHENTICATED); the real node stays Ready", async () => {
    const pinned = (await nodes(master)).find((n) => n.name === "pinned")!
    const ca = readFileSync(path.join(master.dataDir, "grpc-ca.pem"), "utf8")
    const client = new ClusterClient(`127.0.0.1:${master.grpcPort}`, pinnedCaCredentials(ca), {
      "grpc.ssl_target_name_override": CLUSTER_SERVER_NAME
    })
    try {
      const metadata = new grpc.Metadata()
      metadata.set(NODE_ID_HEADER, pinned.id)
      metadata.set(SESSION_HEADER, "f".repeat(48))
      const code = await new Promise<number>((resolve) => {
        const call: grpc.ClientDuplexStream<WorkerMessage, MasterMessage> = client.connect(metadata)
        call.on("data", () => resolve(-1)) // an assignment would mean the forgery worked
        call.on("error", (e: grpc.ServiceError) => resolve(e.code))
        call.on("end", () => resolve(-2))
        call.write({ kind: { $case: "ping", value: { seq: 1, resources: undefined, pods: [], appliedGeneration: 0, events: [] } } })
      })
      expect(code).toBe(grpc.status.UNAUTHENTICATED)
    } finally {
      client.close()
    }
    expect(await statusOf(master, "pinned")).toBe("Ready")
  }, 90_000)

  it("`cluster token rotate --ttl` prints the pinned join command; once expired the token is refused as expired", async () => {
    const rotated = await runCli(["cluster", "token", "rotate", "--ttl", "1s"], master.env)
    expect(rotated.code).toBe(0)
    const token = /nxa_[0-9a-f]{64}/.exec(rotated.stdout)![0]
    expect(rotated.stdout).toContain(
      `helyosd --mode worker --join 127.0.0.1:${master.grpcPort} --token ${token} --ca-fingerprint ${master.caFingerprint}`
    )
    const expiresAt = Date.parse(/Expires at (\S+) /.exec(rotated.stdout)![1]!)
    expect(expiresAt).toBeGreaterThan(Date.now() - 5_000)
    // wait for the stated expiry itself (not a tuned delay)
    while (Date.now() <= expiresAt + 50) await new Promise((r) => setTimeout(r, 50))
    const late = track(startWorker(master, "late", token))
    expect(await late.exited).toBe(1)
    expect(late.output()).toMatch(/error: master refused to register node 'late': join token expired/)
    expect((await nodes(master)).map((n) => n.name)).not.toContain("late")
    // joined workers are unaffected
    expect(await statusOf(master, "pinned")).toBe("Ready")
  }, 90_000)
})
