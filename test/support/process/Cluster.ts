// e2e cluster harness: a real master and real workers on 127.0.0.1 with compressed timers.
import * as path from "node:path"
import { expect } from "vitest"
import { apiToken, eventually, fastTimers, freePort, helyosdBin, type Proc, runCli, spawnProc, tempDir } from "./Processes.js"

export interface Master {
  readonly proc: Proc
  readonly dataDir: string
  readonly port: number
  readonly grpcPort: number
  /** the join token printed at first start (undefined after a restart: it is shown only once) */
  readonly joinToken: string | undefined
  /** the cluster CA fingerprint `sha256:<hex>` the master logs on every start (workers pin it) */
  readonly caFingerprint: string
  /** env for `helyos` commands against this master */
  readonly env: Record<string, string>
  readonly extraArgs: ReadonlyArray<string>
}

export interface MasterOptions {
  readonly dataDir?: string
  readonly port?: number
  readonly grpcPort?: number
  readonly token?: string
  readonly extraArgs?: ReadonlyArray<string>
}

export const startMaster = async (options: MasterOptions = {}): Promise<Master> => {
  const dataDir = options.dataDir ?? tempDir()
  const port = options.port ?? await freePort()
  const grpcPort = options.grpcPort ?? await freePort()
  const token = options.token ?? apiToken()
  const extraArgs = options.extraArgs ?? []
  const env = {
    HELYOS_SERVER: `http://127.0.0.1:${port}`,
    HELYOS_API_TOKEN: token,
    HELYOS_CONFIG: path.join(dataDir, "cli-config.toml")
  }
  const proc = spawnProc(helyosdBin, [
    "--mode", "master", "--host", "127.0.0.1", "--port", String(port), "--grpc-port", String(grpcPort),
    "--data-dir", dataDir, "--node-name", "master", ...fastTimers, ...extraArgs
  ], env)
  await proc.waitFor(/listening on http/)
  const joinLine = /--token (nxa_[0-9a-f]{64})/.exec(proc.output())
  const caLine = /cluster gRPC listening on .* \(TLS, cluster CA (sha256:[0-9a-f]{64})\)/.exec(proc.output())
  if (caLine === null) throw new Error(`the master did not log its cluster CA fingerprint:\n${proc.output()}`)
  return { proc, dataDir, port, grpcPort, joinToken: joinLine?.[1], caFingerprint: caLine[1]!, env, extraArgs }
}

/** Restart a master on the same data dir and ports (after it was killed). */
export const restartMaster = (master: Master) =>
  startMaster({
    dataDir: master.dataDir,
    port: master.port,
    grpcPort: master.grpcPort,
    token: master.env.HELYOS_API_TOKEN!,
    extraArgs: master.extraArgs
  })

/**
 * A worker as the printed join command starts it: with `--ca-fingerprint` (pass `pin: false` to
 * leave it out, e.g. to test the other ways of trusting the master) and a fresh data dir.
 */
export const startWorker = (
  master: Master,
  name: string,
  joinToken = master.joinToken ?? "",
  extraArgs: ReadonlyArray<string> = [],
  options: { readonly pin?: boolean; readonly dataDir?: string } = {}
): Proc =>
  spawnProc(helyosdBin, [
    "--mode", "worker", "--join", `127.0.0.1:${master.grpcPort}`, "--token", joinToken, "--node-name", name,
    ...(options.pin === false ? [] : ["--ca-fingerprint", master.caFingerprint]),
    "--data-dir", options.dataDir ?? tempDir(`helyos-${name}-`), "--reconnect-max", "1s",
    // any free port for /metrics, so several workers (and parallel test files) never collide on 6445
    ...(extraArgs.includes("--metrics-port") ? [] : ["--metrics-port", "0"]), ...extraArgs
  ], { HELYOS_CONFIG: master.env.HELYOS_CONFIG! })

export interface NodeJson {
  readonly id: string
  readonly name: string
  readonly role: "Master" | "Worker"
  readonly status: "Ready" | "NotReady" | "Draining"
}

/** `helyos nodes --json`, as a user would run it. */
export const nodes = async (master: Master): Promise<ReadonlyArray<NodeJson>> => {
  const result = await runCli(["nodes", "--json"], master.env)
  if (result.code !== 0) throw new Error(`helyos nodes failed (${result.code}): ${result.stderr}`)
  return JSON.parse(result.stdout) as ReadonlyArray<NodeJson>
}

export const statusOf = async (master: Master, name: string) =>
  (await nodes(master)).find((n) => n.name === name)?.status

/** Wait (20 s at most) until `helyos nodes --json` shows `count` nodes Ready. */
export const untilNodesReady = (master: Master, count: number) =>
  eventually(async () => {
    const list = JSON.parse((await runCli(["nodes", "--json"], master.env)).stdout) as Array<{ status: string }>
    expect(list.filter((n) => n.status === "Ready")).toHaveLength(count)
  }, 20_000)
