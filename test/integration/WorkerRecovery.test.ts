// A worker meets a master that will not take it for now or for good: a throttled join waits as long
// as the master asks; a master that no longer has the pinned cluster CA (reinstalled, data dir wiped)
// stops it with one clear line, while a master that is merely down is retried. Real gRPC over TLS on
// 127.0.0.1, real clock, compressed timers (reconnect cap 1 s).
import { describe, expect, it } from "@effect/vitest"
import * as grpc from "@grpc/grpc-js"
import { copyFileSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { Context, Effect, Exit, Fiber, Layer, Logger, Scope, Stream } from "effect"
import { defaultThrottleRules } from "../../src/domain/AuthThrottle.js"
import { ClusterClient, type RegisterReply } from "../../src/generated/cluster.js"
import { caFingerprint, CLUSTER_CA_FILE } from "../../src/layers/security/ClusterCa.js"
import { unary } from "../../src/layers/cluster/grpc/Client.js"
import { RETRY_AFTER_MS } from "../../src/layers/cluster/grpc/JoinRefusals.js"
import { CLUSTER_SERVER_NAME, pinnedCaCredentials } from "../../src/layers/cluster/grpc/PeerCa.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { HostInfo } from "../../src/services/workload/HostInfo.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { WorkerAgent } from "../../src/services/cluster/WorkerAgent.js"
import {
  fixedHostInfo,
  freshDataDir,
  makeLocalWorkload,
  makeMasterState,
  newJoinToken,
  startClusterMaster,
  workerConfig
} from "../support/doubles/ClusterDoubles.js"
import * as WorkerAgentGrpc from "../../src/layers/cluster/WorkerAgentGrpc.js"
import { eventually } from "../support/harness/Eventually.js"

/** Every line a worker logs, with its level. */
const captureInto = (lines: Array<string>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message }) =>
      void lines.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`))
  )

/** A master with its own data dir (so its own cluster CA) on `port`, living as long as `scope`. */
const startMaster = (token: string, dataDir: string, scope: Scope.Scope, port = 0) =>
  Effect.flatMap(makeMasterState(token), (state) => startClusterMaster(state, { port, scope, dataDir }))

/** A worker whose data dir holds the CA of `masterDir` (the "CA file copied over" way of trusting). */
const startWorker = (name: string, port: number, token: string, masterDir: string, lines: Array<string>) =>
  Effect.gen(function*() {
    const dataDir = freshDataDir()
    copyFileSync(path.join(masterDir, CLUSTER_CA_FILE), path.join(dataDir, CLUSTER_CA_FILE))
    const local = yield* makeLocalWorkload(() => Stream.empty)
    const ctx = yield* Layer.build(WorkerAgentGrpc.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(DaemonConfig, workerConfig(name, port, token, { dataDir })),
      Layer.succeed(HostInfo, fixedHostInfo),
      Layer.succeed(LocalWorkload, local.service)
    ))))
    const fiber = yield* Effect.forkScoped(Context.get(ctx, WorkerAgent).run.pipe(Effect.provide(captureInto(lines))))
    return { fiber, dataDir }
  })

const errorLines = (lines: Array<string>) =>
  Effect.sync(() => lines.filter((l) => l.startsWith("ERROR")))

describe("a worker pinned to a cluster CA the master no longer has", () => {
  it.scopedLive("keeps retrying while the master is down, then stops with one clear line when another CA answers", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const dirA = freshDataDir("helyos-master-a-")
      const dirB = freshDataDir("helyos-master-b-")
      const scopeA = yield* Scope.make()
      const a = yield* startMaster(token, dirA, scopeA)
      const lines: Array<string> = []
      const worker = yield* startWorker("w1", a.port, token, dirA, lines)
      const connected = Effect.sync(() => lines.some((l) => l.includes("connected to the master")))
      yield* eventually(connected, { what: "w1 connects to master A" })

      // A goes down: a master that is down is retried, however many times
      yield* Scope.close(scopeA, Exit.void)
      const retries = Effect.sync(() =>
        lines.filter((l) => l.includes("lost its connection") || l.includes("cannot register")).length)
      yield* eventually(Effect.map(retries, (n) => n >= 2), { what: "w1 retried A twice" })
      expect(worker.fiber.unsafePoll()).toBeNull()
      expect(yield* errorLines(lines)).toEqual([])

      // a reinstalled master on the same port: same address, another CA
      const b = yield* startMaster(token, dirB, yield* Effect.scope, a.port)
      const stop = yield* Fiber.join(worker.fiber).pipe(
        Effect.flip,
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the worker did not stop") })
      )
      expect(stop.reason).toBe("UntrustedMaster")
      const pinned = caFingerprint(a.tls.caPem)
      const presented = caFingerprint(b.tls.caPem)
      expect(pinned).not.toEqual(presented)
      expect(stop.detail).toBe(
        `the master at 127.0.0.1:${a.port} presents a different cluster CA (${presented}) than the one pinned in ` +
          `${path.join(worker.dataDir, CLUSTER_CA_FILE)} (${pinned}); if the master was reinstalled, delete that file ` +
          "and rejoin with --ca-fingerprint"
      )
      expect(yield* errorLines(lines)).toEqual([`ERROR ${stop.detail}`])
    }), 30_000)

  it.scopedLive("a worker starting against a master with another CA stops before registering", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const dirA = freshDataDir("helyos-master-a-")
      const dirB = freshDataDir("helyos-master-b-")
      // A only made its CA (its files) and is gone; B serves
      const scopeA = yield* Scope.make()
      yield* startMaster(token, dirA, scopeA)
      yield* Scope.close(scopeA, Exit.void)
      const b = yield* startMaster(token, dirB, yield* Effect.scope)
      const lines: Array<string> = []
      const worker = yield* startWorker("w2", b.port, token, dirA, lines)
      const stop = yield* Fiber.join(worker.fiber).pipe(
        Effect.flip,
        Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new Error("the worker did not stop") })
      )
      expect(stop.reason).toBe("UntrustedMaster")
      expect(stop.detail).toContain("presents a different cluster CA")
      expect((yield* errorLines(lines)).length).toBe(1)
    }), 30_000)
})

/** A Register over TLS pinned to the CA in `masterDir`, from 127.0.0.1. */
const rawRegister = (port: number, masterDir: string, token: string) =>
  Effect.acquireUseRelease(
    Effect.sync(() =>
      new ClusterClient(`127.0.0.1:${port}`, pinnedCaCredentials(readFileSync(path.join(masterDir, CLUSTER_CA_FILE), "utf8")), {
        "grpc.ssl_target_name_override": CLUSTER_SERVER_NAME,
        "grpc.use_local_subchannel_pool": 1
      })
    ),
    (client) =>
      unary<RegisterReply>((cb) => client.register({ joinToken: token, nodeName: "guess", address: "", resources: undefined }, cb)),
    (client) => Effect.sync(() => client.close())
  )

describe("a worker on a throttled address", () => {
  it.scopedLive("the refusal carries retry-after-ms; the worker waits that long and gets in on its next try", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const dir = freshDataDir("helyos-master-")
      const master = yield* startMaster(token, dir, yield* Effect.scope)
      for (let i = 0; i < defaultThrottleRules.burst; i++) {
        expect((yield* Effect.flip(rawRegister(master.port, dir, newJoinToken()))).code).toBe(grpc.status.UNAUTHENTICATED)
      }
      const limited = yield* Effect.flip(rawRegister(master.port, dir, newJoinToken()))
      expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
      const hint = Number(limited.trailers?.[RETRY_AFTER_MS])
      expect(hint).toBeGreaterThan(0)
      expect(hint).toBeLessThanOrEqual(defaultThrottleRules.refillMs)

      // its backoff (cap 1 s) is shorter than the bucket's refill (2 s): only the hint spares a second refusal
      const lines: Array<string> = []
      yield* startWorker("w1", master.port, token, dir, lines)
      yield* eventually(Effect.sync(() => lines.some((l) => l.includes("registered with the master"))), { what: "w1 registers", within: "10 seconds" })
      const refusals = lines.filter((l) => l.includes("cannot register"))
      expect(refusals).toHaveLength(1)
      expect(refusals[0]).toContain("too many failed join attempts")
    }), 30_000)
})
