// The cluster protocol end to end on real sockets (127.0.0.1, real clock, heartbeat 100 ms):
// a real ClusterServer and real WorkerAgents over in-memory registry, vault, events and workloads.
import { describe, expect, it } from "@effect/vitest"
import { existsSync, readFileSync } from "node:fs"
import * as http2 from "node:http2"
import * as net from "node:net"
import * as path from "node:path"
import * as tls from "node:tls"
import * as grpc from "@grpc/grpc-js"
import { Chunk, Clock, Context, Duration, Effect, Exit, Fiber, Layer, Logger, Option, Queue, Redacted, Scope, Stream } from "effect"
import { ClusterEvent } from "../../src/domain/ClusterEvent.js"
import { defaultThrottleRules } from "../../src/domain/AuthThrottle.js"
import type { LogRequestMessage } from "../../src/domain/MasterMessage.js"
import { NodeResources } from "../../src/domain/Node.js"
import {
  type Assignment,
  ClusterClient,
  ClusterService,
  type MasterMessage,
  type RegisterReply,
  RegisterRequest,
  type WorkerMessage
} from "../../src/generated/cluster.js"
import { legacyPemFingerprint } from "../../src/domain/Fingerprint.js"
import { caFingerprint, canonicalCertPem, CLUSTER_CA_FILE } from "../../src/layers/security/ClusterCa.js"
import { bidi, clientStreaming, unary } from "../../src/layers/cluster/grpc/Client.js"
import { GrpcError } from "../../src/layers/cluster/grpc/GrpcError.js"
import { CLUSTER_SERVER_NAME, fetchPeerCa, pinnedCaCredentials } from "../../src/layers/cluster/grpc/PeerCa.js"
import { NODE_ID_HEADER, SESSION_HEADER } from "../../src/layers/cluster/grpc/SessionMetadata.js"
import * as NodeRegistrySql from "../../src/layers/cluster/NodeRegistrySql.js"
import * as TokenVaultSql from "../../src/layers/cluster/TokenVaultSql.js"
import { ClusterServer } from "../../src/services/cluster/ClusterServer.js"
import { DaemonConfig, type DaemonConfigShape } from "../../src/services/DaemonConfig.js"
import { HostInfo } from "../../src/services/workload/HostInfo.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { TokenVault } from "../../src/services/cluster/TokenVault.js"
import { WorkerAgent, type WorkerStopped } from "../../src/services/cluster/WorkerAgent.js"
import {
  fixedHostInfo,
  freshDataDir,
  makeLocalWorkload,
  makeMasterState,
  type MasterState,
  newJoinToken,
  startClusterMaster as startMaster,
  testConfig,
  testDataDir,
  workerConfig
} from "../support/doubles/ClusterDoubles.js"
import * as ClusterServerGrpc from "../../src/layers/cluster/ClusterServerGrpc.js"
import * as WorkerAgentGrpc from "../../src/layers/cluster/WorkerAgentGrpc.js"
import * as WorkerChannelsLive from "../../src/layers/cluster/WorkerChannelsLive.js"
import * as EventsLive from "../../src/layers/observability/EventsLive.js"
import * as ClusterTlsFiles from "../../src/layers/security/ClusterTlsFiles.js"
import * as Database from "../../src/layers/state/Database.js"
import { eventually } from "../support/harness/Eventually.js"

// ---- harness ----------------------------------------------------------------------------------

/** A master with a fresh join token, serving in the test's scope. */
const freshMaster = Effect.gen(function*() {
  const token = newJoinToken()
  const state = yield* makeMasterState(token)
  const master = yield* startMaster(state)
  return { token, state, master }
})

const encoder = new TextEncoder()
const defaultLogs = (request: { readonly podId: string }) =>
  request.podId === "pod-1"
    ? Stream.make(encoder.encode("line 1\n"), encoder.encode("line 2\n"))
    : Stream.fail(`pod '${request.podId}' not found`)

/**
 * A real WorkerAgent for `name`, running in a fiber of the test's scope. By default it trusts the
 * master through the CA file in testDataDir; `overrides` give it another data dir or trust flags.
 */
const startWorker = (name: string, port: number, token: string, overrides: Partial<DaemonConfigShape> = {}) =>
  Effect.gen(function*() {
    const local = yield* makeLocalWorkload(defaultLogs)
    const ctx = yield* Layer.build(WorkerAgentGrpc.layer.pipe(Layer.provide(Layer.mergeAll(
      Layer.succeed(DaemonConfig, workerConfig(name, port, token, overrides)),
      Layer.succeed(HostInfo, fixedHostInfo),
      Layer.succeed(LocalWorkload, local.service)
    ))))
    const fiber = yield* Effect.forkScoped(Context.get(ctx, WorkerAgent).run)
    return { fiber, local }
  })

/** The WorkerStopped a worker's `run` ended with. */
const stopped = (fiber: Fiber.Fiber<never, WorkerStopped>) =>
  Fiber.join(fiber).pipe(
    Effect.flip,
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the worker did not stop") })
  )

const heartbeatsGrow = (state: MasterState, name: string, by: number) =>
  Effect.gen(function*() {
    const before = yield* state.registry.heartbeats(name)
    yield* eventually(Effect.map(state.registry.heartbeats(name), (n) => n >= before + by), { what: `'${name}' heartbeats ${by} more times` })
  })

// raw grpc calls, to play a misbehaving or hand-rolled worker (over TLS, trusting the test CA)

const testCaPem = () => readFileSync(path.join(testDataDir, CLUSTER_CA_FILE), "utf8")

const rawClient = (port: number) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      new ClusterClient(`127.0.0.1:${port}`, pinnedCaCredentials(testCaPem()), {
        "grpc.ssl_target_name_override": CLUSTER_SERVER_NAME,
        "grpc.use_local_subchannel_pool": 1
      })
    ),
    (c) => Effect.sync(() => c.close())
  )

const rawRegister = (client: ClusterClient, token: string, nodeName: string) =>
  unary<RegisterReply>((cb) => client.register({ joinToken: token, nodeName, address: "", resources: undefined }, cb))

const metadataOf = (entries: Record<string, string>) => {
  const m = new grpc.Metadata()
  for (const [k, v] of Object.entries(entries)) m.set(k, v)
  return m
}

const ping = (seq: number): WorkerMessage => ({
  kind: { $case: "ping", value: { seq, resources: undefined, pods: [], appliedGeneration: 0, events: [] } }
})

/** Open Connect, send one ping, collect the first `n` messages from the master. */
const rawConnect = (client: ClusterClient, metadata: grpc.Metadata, n: number) =>
  bidi(() => client.connect(metadata), Stream.concat(Stream.make(ping(1)), Stream.never)).pipe(
    Stream.take(n),
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("no answer on Connect") })
  )

const failureCode = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.map(Effect.flip(effect), (e) => (e instanceof GrpcError ? { code: e.code, details: e.details } : { code: -1, details: String(e) }))

const desiredSet: Assignment = {
  generation: 7,
  pods: [{
    podId: "pod-1",
    containerName: "web-0",
    project: "demo",
    deployment: "web",
    replicaIndex: 0,
    image: "busybox",
    command: ["sleep", "1000"],
    env: { A: "1" },
    ports: [80],
    publishPorts: false,
    volumes: [],
    cpu: 0.5,
    memoryBytes: 64e6,
    restartPolicy: "always"
  }]
}

// ---- the spec -----------------------------------------------------------------------------

describe("cluster protocol over gRPC", () => {
  it.scopedLive("a worker registers, receives its assignment first, and heartbeats", () =>
    Effect.gen(function*() {
      const state = yield* makeMasterState(newJoinToken())
      yield* state.workloads.setDesired(desiredSet)
      const master = yield* startMaster(state)
      const token = newJoinToken()
      yield* state.vault.setJoinToken(token)
      const worker = yield* startWorker("w1", master.port, token)

      yield* eventually(Effect.map(state.registry.heartbeats("w1"), (n) => n >= 3), { what: "w1 heartbeats 3 times" })
      const node = yield* state.registry.service.findByName("w1")
      expect(node.role).toBe("Worker")
      expect(node.address).toBe("127.0.0.1") // no --advertise-addr: the address it connected from
      expect(node.resources.cpuCores).toBe(4)
      expect(yield* state.events.published).toEqual([ClusterEvent.NodeJoined({ nodeId: node.id, name: "w1" })])
      expect((yield* worker.local.applied)[0]).toEqual(desiredSet)
      // pings carry the pods and the generation the worker applied
      yield* eventually(Effect.map(state.workloads.reports, (rs) => rs.some((r) => r.nodeId === node.id && r.appliedGeneration === 7)), { what: "a report with generation 7" })
      const report = (yield* state.workloads.reports).at(-1)
      expect(report?.pods.map((p) => p.podId)).toEqual(["pod-1"])
      expect(yield* master.channels.connected).toEqual([node.id])
    }))

  it.scopedLive("a wrong join token stops the worker with InvalidJoinToken and records nothing", () =>
    Effect.gen(function*() {
      const state = yield* makeMasterState(newJoinToken())
      const master = yield* startMaster(state)
      const worker = yield* startWorker("w1", master.port, newJoinToken())
      const stop = yield* stopped(worker.fiber)
      expect(stop.reason).toBe("InvalidJoinToken")
      expect(stop.message).toBe("master refused to register node 'w1': invalid join token")
      expect(yield* state.registry.service.list).toEqual([])
      expect(yield* state.events.published).toEqual([])
    }))

  it.scopedLive("Register validates the node name and says what is wrong", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const client = yield* rawClient(master.port)
      expect(yield* failureCode(rawRegister(client, token, ""))).toEqual({
        code: grpc.status.INVALID_ARGUMENT,
        details: "node name is required"
      })
      const bad = yield* failureCode(rawRegister(client, token, "-bad name"))
      expect(bad.code).toBe(grpc.status.INVALID_ARGUMENT)
      expect(bad.details).toContain("node name must start with a letter or digit")
      expect(yield* state.registry.service.list).toEqual([])
    }))

  it.scopedLive("a worker refused for good (bad name, the master's name) stops with Refused", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const { node: self, session } = yield* state.registry.service.join({
        name: "master",
        address: "127.0.0.1",
        role: "Master",
        resources: NodeResources.empty
      })
      const master = yield* startMaster(state)

      const impostor = yield* stopped((yield* startWorker("master", master.port, token)).fiber)
      expect(impostor.reason).toBe("Refused")
      expect(impostor.message).toBe("master refused to register node 'master': node name 'master' belongs to the master")
      expect((yield* state.registry.service.findByName("master")).role).toBe("Master")
      // its session was not replaced either
      expect((yield* state.registry.service.authenticate(self.id, Redacted.value(session))).name).toBe("master")
      const badName = yield* stopped((yield* startWorker("no spaces allowed", master.port, token)).fiber)
      expect(badName.reason).toBe("Refused")
      expect((yield* state.registry.service.list).map((n) => n.name)).toEqual(["master"])
    }))

  it.scopedLive("rotating the join token refuses the old one at once; connected workers keep heartbeating", () =>
    Effect.gen(function*() {
      const oldToken = newJoinToken()
      const state = yield* makeMasterState(oldToken)
      const master = yield* startMaster(state)
      yield* startWorker("w1", master.port, oldToken)
      yield* heartbeatsGrow(state, "w1", 1)

      const newToken = newJoinToken()
      yield* state.vault.setJoinToken(newToken)
      const late = yield* startWorker("w2", master.port, oldToken)
      expect((yield* stopped(late.fiber)).reason).toBe("InvalidJoinToken")
      yield* startWorker("w3", master.port, newToken)
      yield* heartbeatsGrow(state, "w3", 2)
      yield* heartbeatsGrow(state, "w1", 3)
      expect((yield* state.registry.service.list).map((n) => n.name).sort()).toEqual(["w1", "w3"])
    }))

  it.scopedLive("Connect without a valid session for that node id is refused and records nothing", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const client = yield* rawClient(master.port)
      const a = yield* rawRegister(client, token, "a")
      const b = yield* rawRegister(client, token, "b")

      const missing = yield* failureCode(rawConnect(client, metadataOf({}), 1))
      expect(missing.code).toBe(grpc.status.UNAUTHENTICATED)
      const noSession = yield* failureCode(rawConnect(client, metadataOf({ [NODE_ID_HEADER]: a.nodeId }), 1))
      expect(noSession.code).toBe(grpc.status.UNAUTHENTICATED)
      const wrong = yield* failureCode(
        rawConnect(client, metadataOf({ [NODE_ID_HEADER]: a.nodeId, [SESSION_HEADER]: "not-the-secret" }), 1)
      )
      expect(wrong.code).toBe(grpc.status.UNAUTHENTICATED)
      const othersId = yield* failureCode(
        rawConnect(client, metadataOf({ [NODE_ID_HEADER]: b.nodeId, [SESSION_HEADER]: a.sessionSecret }), 1)
      )
      expect(othersId.code).toBe(grpc.status.UNAUTHENTICATED)
      const unknown = yield* failureCode(
        rawConnect(client, metadataOf({ [NODE_ID_HEADER]: "node-404", [SESSION_HEADER]: a.sessionSecret }), 1)
      )
      expect(unknown).toEqual({ code: grpc.status.NOT_FOUND, details: "node removed from the cluster" })

      // PushLogs is authenticated the same way
      const chunk = { requestId: "r1", data: Buffer.from("forged"), eof: true, error: "" }
      const logs = yield* failureCode(clientStreaming(
        (cb) => client.pushLogs(metadataOf({ [NODE_ID_HEADER]: a.nodeId, [SESSION_HEADER]: "not-the-secret" }), cb),
        Stream.make(chunk)
      ))
      expect(logs.code).toBe(grpc.status.UNAUTHENTICATED)

      expect(yield* state.registry.totalHeartbeats).toBe(0)
      expect(yield* state.workloads.reports).toEqual([])
      expect(yield* Queue.size(state.workloads.chunks)).toBe(0)
      expect(yield* master.channels.connected).toEqual([])
    }))

  it.scopedLive("re-registering under the same name makes the old session stale", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      yield* state.workloads.setDesired(desiredSet)
      const master = yield* startMaster(state)
      const client = yield* rawClient(master.port)
      const first = yield* rawRegister(client, token, "w1")
      const second = yield* rawRegister(client, token, "w1")
      expect(second.nodeId).toBe(first.nodeId)
      expect(second.heartbeatIntervalMs).toBe(100)

      const stale = yield* failureCode(
        rawConnect(client, metadataOf({ [NODE_ID_HEADER]: first.nodeId, [SESSION_HEADER]: first.sessionSecret }), 1)
      )
      expect(stale.code).toBe(grpc.status.UNAUTHENTICATED)
      expect(stale.details).toContain("stale session")

      const [assignment, ack] = yield* rawConnect(
        client,
        metadataOf({ [NODE_ID_HEADER]: second.nodeId, [SESSION_HEADER]: second.sessionSecret }),
        2
      )
      expect(assignment).toEqual({ kind: { $case: "assignment", value: desiredSet } } satisfies MasterMessage)
      expect(ack?.kind?.$case).toBe("ack")
      const now = yield* Clock.currentTimeMillis
      if (ack?.kind?.$case === "ack") {
        expect(ack.kind.value.seq).toBe(1)
        expect(Math.abs(ack.kind.value.serverTimeMs - now)).toBeLessThan(5_000)
      }
      expect(yield* state.registry.heartbeats("w1")).toBe(1)
    }))

  it.scopedLive("evicting a worker sends Removed and its run stops with reason Removed", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const worker = yield* startWorker("w1", master.port, token)
      yield* heartbeatsGrow(state, "w1", 1)
      const node = yield* state.registry.service.findByName("w1")

      yield* master.channels.evict(node.id, "removed by an operator")
      const stop = yield* stopped(worker.fiber)
      expect(stop.reason).toBe("Removed")
      expect(stop.message).toBe("node 'w1' was removed from the cluster: removed by an operator")
      yield* eventually(Effect.map(master.channels.connected, (ids) => ids.length === 0), { what: "the stream is detached" })
    }))

  it.scopedLive("a node deleted from the registry cannot keep heartbeating: its worker stops", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const worker = yield* startWorker("w1", master.port, token)
      yield* heartbeatsGrow(state, "w1", 1)

      yield* state.registry.service.remove("w1") // no Removed message: the next ping finds no node
      const stop = yield* stopped(worker.fiber)
      expect(stop.reason).toBe("Removed")
      expect(yield* state.registry.service.list).toEqual([])
    }))

  it.scopedLive("an assignment pushed through WorkerChannels reaches LocalWorkload.apply", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      yield* state.workloads.setDesired(desiredSet)
      const master = yield* startMaster(state)
      const worker = yield* startWorker("w1", master.port, token)
      yield* heartbeatsGrow(state, "w1", 1)
      const node = yield* state.registry.service.findByName("w1")

      const next: Assignment = { generation: 8, pods: [] }
      expect(yield* master.channels.send(node.id, { _tag: "Assignment", assignment: next })).toBe(true)
      yield* eventually(Effect.map(worker.local.applied, (as) => as.at(-1)?.generation === 8), { what: "generation 8 is applied" })
      expect((yield* worker.local.applied).map((a) => a.generation)).toEqual([7, 8])
      yield* eventually(Effect.map(state.workloads.reports, (rs) => rs.some((r) => r.appliedGeneration === 8)), { what: "a ping reports generation 8" })
    }))

  it.scopedLive("a LogRequest makes the worker push the pod's logs, ending with eof (and the error if any)", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      yield* startWorker("w1", master.port, token)
      yield* heartbeatsGrow(state, "w1", 1)
      const node = yield* state.registry.service.findByName("w1")
      const decoder = new TextDecoder()
      const nextChunk = Queue.take(state.workloads.chunks).pipe(
        Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("no log chunk") })
      )

      const request = (requestId: string, podId: string): LogRequestMessage => ({
        _tag: "LogRequest",
        request: { requestId, podId, tail: 100, follow: false }
      })
      expect(yield* master.channels.send(node.id, request("r1", "pod-1"))).toBe(true)
      const chunks = [yield* nextChunk, yield* nextChunk, yield* nextChunk]
      expect(chunks.every((c) => c.nodeId === node.id && c.chunk.requestId === "r1")).toBe(true)
      expect(chunks.map((c) => decoder.decode(c.chunk.data))).toEqual(["line 1\n", "line 2\n", ""])
      expect(chunks.map((c) => c.chunk.eof)).toEqual([false, false, true])
      expect(chunks[2]?.chunk.error).toBe("")

      yield* master.channels.send(node.id, request("r2", "pod-9"))
      const failed = yield* nextChunk
      expect(failed.chunk).toMatchObject({ requestId: "r2", eof: true, error: "pod 'pod-9' not found" })
    }))

  it.scopedLive("a master restart on the same port is a blip: the worker reconnects with its session", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const firstScope = yield* Scope.make()
      const first = yield* startMaster(state, { scope: firstScope })
      const worker = yield* startWorker("w1", first.port, token)
      yield* heartbeatsGrow(state, "w1", 2)

      // open streams end with UNAVAILABLE at once, so the server stops quickly
      const closed = yield* Scope.close(firstScope, Exit.void).pipe(Effect.timeout("3 seconds"), Effect.exit)
      expect(Exit.isSuccess(closed)).toBe(true)
      const second = yield* startMaster(state, { port: first.port })
      expect(second.port).toBe(first.port)

      yield* heartbeatsGrow(state, "w1", 3)
      const node = yield* state.registry.service.findByName("w1")
      yield* eventually(Effect.map(second.channels.connected, (ids) => ids.includes(node.id)), { what: "w1 is attached to the new server" })
      // the same session was accepted again: no second registration
      expect((yield* state.events.published).filter((e) => e._tag === "NodeJoined")).toHaveLength(1)
      expect(Option.isNone(yield* Fiber.poll(worker.fiber))).toBe(true) // still running
    }))

  it.scopedLive("a returning worker is Ready again only once it has applied the assignment its new stream opened with", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      yield* state.workloads.setDesired({ generation: 5, pods: [] })
      const firstScope = yield* Scope.make()
      const first = yield* startMaster(state, { scope: firstScope })
      const worker = yield* startWorker("w1", first.port, token)
      yield* eventually(Effect.map(worker.local.applied, (as) => as.at(-1)?.generation === 5), { what: "generation 5 is applied" })
      const node = yield* state.registry.service.findByName("w1")

      // the path drops; meanwhile the worker went NotReady and its pods were given to others
      yield* Scope.close(firstScope, Exit.void)
      yield* state.registry.service.setLiveness(node.id, "NotReady")
      yield* state.workloads.setDesired({ generation: 6, pods: [] })
      yield* worker.local.hold // converging (removing its stale containers) takes a while
      yield* startMaster(state, { port: first.port })

      yield* heartbeatsGrow(state, "w1", 3)
      expect((yield* state.registry.service.get(node.id)).liveness).toBe("NotReady")
      yield* worker.local.release
      yield* eventually(Effect.map(state.registry.service.get(node.id), (n) => n.liveness === "Ready"), { what: "w1 is Ready again" })
    }))

  it.scopedLive("--stop-after-disconnect: a worker cut off that long stops its pods once, and runs them again when the master assigns them", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      yield* state.workloads.setDesired({ generation: 5, pods: [] })
      const firstScope = yield* Scope.make()
      const first = yield* startMaster(state, { scope: firstScope })
      const worker = yield* startWorker("w1", first.port, token, { stopAfterDisconnect: Option.some(Duration.millis(500)) })
      yield* eventually(Effect.map(worker.local.applied, (as) => as.length === 1), { what: "the first assignment is applied" })
      expect(yield* worker.local.fenced).toBe(0)

      yield* Scope.close(firstScope, Exit.void)
      yield* eventually(Effect.map(worker.local.fenced, (n) => n === 1), { what: "w1 fences itself" })
      yield* Effect.sleep("700 millis") // still cut off: fencing happens once per disconnection
      expect(yield* worker.local.fenced).toBe(1)

      yield* startMaster(state, { port: first.port })
      yield* eventually(Effect.map(worker.local.applied, (as) => as.length === 2), { what: "the master's assignment arrives again" })
      expect(yield* worker.local.fenced).toBe(1)
    }))

  it.scopedLive("by default a worker cut off from the master keeps its pods running", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const firstScope = yield* Scope.make()
      const first = yield* startMaster(state, { scope: firstScope })
      const worker = yield* startWorker("w1", first.port, token)
      yield* eventually(Effect.map(worker.local.applied, (as) => as.length === 1), { what: "the first assignment is applied" })
      yield* Scope.close(firstScope, Exit.void)
      // dead-after of these timers is 2 s: well past it, nothing was stopped
      yield* Effect.sleep("2500 millis")
      expect(yield* worker.local.fenced).toBe(0)
    }))

  it.scopedLive("a worker whose session went stale registers again with the join token", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      const firstScope = yield* Scope.make()
      const first = yield* startMaster(state, { scope: firstScope })
      yield* startWorker("w1", first.port, token)
      yield* heartbeatsGrow(state, "w1", 1)

      // someone re-registers the name meanwhile (the worker's session is now stale), then the stream drops
      const client = yield* rawClient(first.port)
      yield* rawRegister(client, token, "w1")
      yield* Scope.close(firstScope, Exit.void)
      yield* startMaster(state, { port: first.port })

      yield* eventually(Effect.map(state.events.published, (es) => es.filter((e) => e._tag === "NodeJoined").length === 3), { what: "w1 registered a third time" })
      yield* heartbeatsGrow(state, "w1", 2)
    }))

  it.scopedLive("a second Connect of the same node replaces the first, which ends", () =>
    Effect.gen(function*() {
      const { master, token } = yield* freshMaster
      const client = yield* rawClient(master.port)
      const reg = yield* rawRegister(client, token, "w1")
      const metadata = metadataOf({ [NODE_ID_HEADER]: reg.nodeId, [SESSION_HEADER]: reg.sessionSecret })

      const first = yield* bidi(() => client.connect(metadata), Stream.concat(Stream.make(ping(1)), Stream.never)).pipe(
        Stream.runCollect,
        Effect.fork
      )
      yield* eventually(Effect.map(master.channels.connected, (ids) => ids.length === 1), { what: "the first stream is attached" })
      const [assignment] = yield* rawConnect(client, metadata, 1)
      expect(assignment?.kind?.$case).toBe("assignment")
      // the older stream ends normally (its outbox was shut), after what it had already received
      const older = Chunk.toReadonlyArray(yield* Fiber.join(first).pipe(Effect.timeout("5 seconds")))
      expect(older[0]?.kind?.$case).toBe("assignment")
    }))

  it.scopedLive("with the SQLite vault and registry: join, heartbeat, rotate", () =>
    Effect.gen(function*() {
      const sqlState = yield* Layer.build(
        Layer.mergeAll(TokenVaultSql.layer, NodeRegistrySql.layer).pipe(
          Layer.provideMerge(Database.layerWith(":memory:")),
          Layer.provideMerge(EventsLive.layer),
          Layer.provideMerge(NodeWorkloads.layerNoop)
        )
      )
      const vault = Context.get(sqlState, TokenVault)
      const registry = Context.get(sqlState, NodeRegistry)
      const minted = yield* vault.ensureJoinToken
      expect(Option.isSome(minted)).toBe(true)
      const token = Redacted.value(Option.getOrThrow(minted))

      const server = yield* Layer.build(ClusterServerGrpc.layer.pipe(
        Layer.provideMerge(WorkerChannelsLive.layer),
        Layer.provide(ClusterTlsFiles.layer),
        Layer.provide(Layer.succeed(DaemonConfig, testConfig())),
        Layer.provide(Layer.succeedContext(sqlState))
      ))
      const port = Context.get(server, ClusterServer).port
      yield* startWorker("w1", port, token)
      yield* eventually(Effect.map(registry.list, (ns) => ns.some((n) => n.name === "w1")), { what: "w1 is in the registry" })
      const node = yield* registry.findByName("w1")
      const heardAt = (yield* registry.get(node.id)).lastHeartbeatMs
      yield* eventually(Effect.map(registry.get(node.id), (n) => n.lastHeartbeatMs > heardAt), { what: "w1 heartbeats" })

      yield* vault.rotateJoinToken(Option.none())
      const late = yield* startWorker("w2", port, token)
      expect((yield* stopped(late.fiber)).reason).toBe("InvalidJoinToken")
      const before = (yield* registry.get(node.id)).lastHeartbeatMs
      yield* eventually(Effect.map(registry.get(node.id), (n) => n.lastHeartbeatMs > before), { what: "w1 still heartbeats" })
      expect((yield* registry.list).map((n) => n.name)).not.toContain("w2")
    }))
})

// ---- the channel's security: TLS, pinning, refusals, throttling ------------------------------

/**
 * Register over a hand-made HTTP/2 + TLS connection from `localAddress` (grpc-js cannot choose the
 * source address; the throttle keys on it). Answers the call's grpc status and message.
 */
const registerFrom = (localAddress: string, port: number, joinToken: string, nodeName: string) =>
  Effect.async<{ readonly code: number; readonly details: string }>((resume) => {
    const session = http2.connect(`https://127.0.0.1:${port}`, {
      createConnection: () =>
        tls.connect({
          socket: net.connect({ host: "127.0.0.1", port, localAddress }),
          ca: testCaPem(),
          servername: CLUSTER_SERVER_NAME,
          ALPNProtocols: ["h2"],
          checkServerIdentity: () => undefined
        })
    })
    session.on("error", () => {})
    const body = RegisterRequest.encode({ joinToken, nodeName, address: "", resources: undefined }).finish()
    const frame = Buffer.alloc(5 + body.length)
    frame.writeUInt32BE(body.length, 1) // byte 0 = 0: not compressed
    Buffer.from(body).copy(frame, 5)
    const request = session.request({
      ":method": "POST",
      ":path": ClusterService.register.path,
      "content-type": "application/grpc",
      te: "trailers"
    })
    let status: { code: number; details: string } | undefined
    const take = (headers: http2.IncomingHttpHeaders) => {
      if (headers["grpc-status"] !== undefined) {
        status = { code: Number(headers["grpc-status"]), details: decodeURIComponent(String(headers["grpc-message"] ?? "")) }
      }
    }
    request.on("response", take)
    request.on("trailers", take)
    request.on("data", () => {})
    request.on("end", () => {
      session.close()
      resume(Effect.succeed(status ?? { code: -1, details: "no grpc-status" }))
    })
    request.on("error", (e) => {
      session.destroy()
      resume(Effect.succeed({ code: -2, details: e.message }))
    })
    request.end(frame)
    return Effect.sync(() => void session.destroy())
  })

const wrongFingerprint = `sha256:${"ab".repeat(32)}`

describe("cluster channel security", () => {
  it.scopedLive("the cluster port speaks only TLS: a plaintext client cannot even register", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const plain = yield* Effect.acquireRelease(
        Effect.sync(() =>
          new ClusterClient(`127.0.0.1:${master.port}`, grpc.credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 })
        ),
        (c) => Effect.sync(() => c.close())
      )
      const refused = yield* failureCode(rawRegister(plain, token, "w1"))
      expect(refused.code).toBe(grpc.status.UNAVAILABLE)
      expect(yield* state.vault.presented).toEqual([])
      expect(yield* state.registry.service.list).toEqual([])
    }))

  it.scopedLive("the CA a worker reads from the handshake is the master's, with the fingerprint it prints", () =>
    Effect.gen(function*() {
      const master = yield* startMaster(yield* makeMasterState(newJoinToken()))
      expect(master.tls.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/)
      const fetched = yield* fetchPeerCa(`127.0.0.1:${master.port}`)
      expect(fetched).toBe(master.tls.caPem)
      expect(caFingerprint(fetched)).toBe(master.tls.fingerprint)
      expect(master.tls.caPem).toBe(testCaPem())
    }))

  it.scopedLive("a worker given the fingerprint verifies it, saves the CA in its data dir and joins; later starts need no flag", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const dir = freshDataDir()
      yield* startWorker("w1", master.port, token, {
        dataDir: dir,
        clusterTrust: { caFingerprint: Option.some(master.tls.fingerprint.toUpperCase()), insecureSkipCaVerify: false }
      })
      yield* heartbeatsGrow(state, "w1", 2)
      expect(readFileSync(path.join(dir, CLUSTER_CA_FILE), "utf8")).toBe(master.tls.caPem)
      // same data dir, no flag: the saved CA is used
      yield* startWorker("w2", master.port, token, { dataDir: dir })
      yield* heartbeatsGrow(state, "w2", 2)
    }))

  it.scopedLive("a join command printed by Helyos 0.1 (fingerprint of the PEM text) still works, with a note naming the new fingerprint", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const old = `sha256:${legacyPemFingerprint(canonicalCertPem(master.tls.caPem)).replace(/:/g, "")}`
      expect(old).not.toBe(master.tls.fingerprint)
      const lines: Array<string> = []
      yield* startWorker("w1", master.port, token, {
        dataDir: freshDataDir(),
        clusterTrust: { caFingerprint: Option.some(old), insecureSkipCaVerify: false }
      }).pipe(Effect.provide(Logger.add(Logger.make(({ message }) => void lines.push(String(message))))))
      yield* heartbeatsGrow(state, "w1", 2)
      expect(lines.some((l) => l.includes("form of Helyos 0.1") && l.includes(master.tls.fingerprint))).toBe(true)
    }))

  it.scopedLive("a wrong fingerprint stops the worker before it sends the join token (the master sees no Register)", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const dir = freshDataDir()
      const worker = yield* startWorker("w1", master.port, token, {
        dataDir: dir,
        clusterTrust: { caFingerprint: Option.some(wrongFingerprint), insecureSkipCaVerify: false }
      })
      const stop = yield* stopped(worker.fiber)
      expect(stop.reason).toBe("UntrustedMaster")
      expect(stop.message.split("\n")).toEqual([
        "cluster CA fingerprint mismatch — aborting (possible MITM)",
        `  expected: ${wrongFingerprint}`,
        `  got:      ${master.tls.fingerprint}`
      ])
      expect(yield* state.vault.presented).toEqual([])
      expect(yield* state.registry.service.list).toEqual([])
      expect(existsSync(path.join(dir, CLUSTER_CA_FILE))).toBe(false)
    }))

  it.scopedLive("without a fingerprint, a CA file or --insecure-skip-ca-verify the worker refuses to join", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const worker = yield* startWorker("w1", master.port, token, { dataDir: freshDataDir() })
      const stop = yield* stopped(worker.fiber)
      expect(stop.reason).toBe("UntrustedMaster")
      expect(stop.message).toContain("pass --ca-fingerprint sha256:")
      expect(stop.message.split("\n")).toHaveLength(1)
      expect(yield* state.vault.presented).toEqual([])
    }))

  it.scopedLive("--insecure-skip-ca-verify joins without verifying, and pins nothing", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const dir = freshDataDir()
      yield* startWorker("w1", master.port, token, {
        dataDir: dir,
        clusterTrust: { caFingerprint: Option.none(), insecureSkipCaVerify: true }
      })
      yield* heartbeatsGrow(state, "w1", 2)
      expect(existsSync(path.join(dir, CLUSTER_CA_FILE))).toBe(false)
    }))

  it.scopedLive("an expired join token is refused as expired (not as invalid); the worker stops saying so", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const state = yield* makeMasterState(token)
      yield* state.vault.expireJoinToken
      const master = yield* startMaster(state)
      const client = yield* rawClient(master.port)
      expect(yield* failureCode(rawRegister(client, token, "w1"))).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: "join token expired"
      })
      expect(yield* failureCode(rawRegister(client, newJoinToken(), "w1"))).toEqual({
        code: grpc.status.UNAUTHENTICATED,
        details: "invalid join token"
      })
      const stop = yield* stopped((yield* startWorker("w2", master.port, token)).fiber)
      expect(stop.reason).toBe("JoinTokenExpired")
      expect(stop.message).toContain("master refused to register node 'w2': join token expired")
      expect(yield* state.registry.service.list).toEqual([])
    }))

  it.scopedLive("a burst of failed joins from one address gets RESOURCE_EXHAUSTED; other addresses still join; the worker retries", () =>
    Effect.gen(function*() {
      const { master, state, token } = yield* freshMaster
      const client = yield* rawClient(master.port) // from 127.0.0.1
      for (let i = 0; i < defaultThrottleRules.burst; i++) {
        expect((yield* failureCode(rawRegister(client, newJoinToken(), "guess"))).code).toBe(grpc.status.UNAUTHENTICATED)
      }
      const limited = yield* failureCode(rawRegister(client, newJoinToken(), "guess"))
      expect(limited.code).toBe(grpc.status.RESOURCE_EXHAUSTED)
      expect(limited.details).toMatch(/^too many failed join attempts, retry in \d+s$/)
      // slowed down before the token is even looked at: the right token waits too
      expect((yield* failureCode(rawRegister(client, token, "w1"))).code).toBe(grpc.status.RESOURCE_EXHAUSTED)
      const guesses = (yield* state.vault.presented).length
      expect(guesses).toBe(defaultThrottleRules.burst)

      // another address is not affected
      expect((yield* registerFrom("127.0.0.2", master.port, token, "elsewhere")).code).toBe(grpc.status.OK)
      expect((yield* state.registry.service.list).map((n) => [n.name, n.address])).toEqual([["elsewhere", "127.0.0.2"]])

      // a real worker on the slowed address backs off and gets in once the bucket refills
      yield* startWorker("w1", master.port, token)
      yield* eventually(Effect.map(state.registry.heartbeats("w1"), (n) => n >= 1), { what: "w1 joins after backing off", within: "15 seconds" })
    }), 30_000)
})
