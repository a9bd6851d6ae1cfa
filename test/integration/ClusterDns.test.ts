// --dns-mode embedded across a real cluster in one process: the orchestrator behind a real
// ClusterServer, real WorkerAgents converging in-memory engines (container IPs on 127/8, so a query
// can come "from a pod"), and each worker's own resolver on 127.0.0.1, queried with Debian's dig.
// The records reach a worker over its stream (snapshot, then deltas); its own pods are answered from
// their live state, within one refresh even though its reports travel with 5 s heartbeats.
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Layer, Option, Scope } from "effect"
import { decodeSpec, type DeploymentSpec } from "../../src/domain/DeploymentSpec.js"
import { NodeId } from "../../src/domain/Node.js"
import { PodId } from "../../src/domain/Workload.js"
import type { HostPort } from "../../src/domain/dns/Upstreams.js"
import * as ClusterServerGrpc from "../../src/layers/cluster/ClusterServerGrpc.js"
import * as HeartbeatMonitorLive from "../../src/layers/cluster/HeartbeatMonitorLive.js"
import * as NodeRegistrySql from "../../src/layers/cluster/NodeRegistrySql.js"
import * as WorkerAgentGrpc from "../../src/layers/cluster/WorkerAgentGrpc.js"
import * as WorkerChannelsLive from "../../src/layers/cluster/WorkerChannelsLive.js"
import * as NodeDnsLive from "../../src/layers/dns/NodeDnsLive.js"
import * as EventLogLive from "../../src/layers/observability/EventLogLive.js"
import * as EventsLive from "../../src/layers/observability/EventsLive.js"
import * as OrchestratorLive from "../../src/layers/orchestrator/OrchestratorLive.js"
import * as ClusterTlsFiles from "../../src/layers/security/ClusterTlsFiles.js"
import * as SecretStoreSql from "../../src/layers/security/SecretStoreSql.js"
import * as Database from "../../src/layers/state/Database.js"
import * as ContainerRuntimeMemory from "../../src/layers/workload/ContainerRuntimeMemory.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { ClusterServer } from "../../src/services/cluster/ClusterServer.js"
import { NodeRegistry } from "../../src/services/cluster/NodeRegistry.js"
import { WorkerChannels } from "../../src/services/cluster/WorkerChannels.js"
import { NodeDns } from "../../src/services/dns/NodeDns.js"
import { NodeWorkloads } from "../../src/services/orchestrator/NodeWorkloads.js"
import { TokenVault } from "../../src/services/cluster/TokenVault.js"
import { WorkerAgent } from "../../src/services/cluster/WorkerAgent.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { DnsResolver } from "../../src/services/dns/DnsResolver.js"
import { Orchestrator } from "../../src/services/orchestrator/Orchestrator.js"
import { MasterKey } from "../../src/services/security/MasterKey.js"
import { HostInfo } from "../../src/services/workload/HostInfo.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { MemoryEngine } from "../../src/services/workload/MemoryEngine.js"
import { fixedHostInfo, makeTokenVault, newJoinToken, testConfig, workerConfig } from "../support/doubles/ClusterDoubles.js"
import { eventually } from "../support/harness/Eventually.js"
import { dig, digData } from "./dns/DnsTools.js"
import * as FakeUpstream from "./dns/FakeUpstream.js"

const spec = (input: Record<string, unknown>): DeploymentSpec => {
  const decoded = decodeSpec({ project: "shop", deployment: { name: "web" }, image: "nginx:1", ...input })
  if (decoded._tag === "Left") throw new Error(decoded.left.message)
  return decoded.right
}

/** The documented heartbeat (5 s): the master hears of a worker's pods only that often. */
const slowTimers = {
  heartbeatInterval: Duration.seconds(5),
  monitorInterval: Duration.seconds(1),
  notReadyAfter: Duration.seconds(30),
  deadAfter: Duration.seconds(60)
}

const LOOPBACK_ANY_PORT: HostPort = { host: "127.0.0.1", port: 0 }

/** A master with --dns-mode embedded (its own resolver on 127.0.0.1; it runs no pods itself), in its own scope. */
const startMaster = (token: string, upstream: HostPort) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const vault = yield* makeTokenVault(token)
    const config = testConfig({ dnsMode: "embedded", dnsListen: LOOPBACK_ANY_PORT, ...slowTimers })
    const layer = Layer.mergeAll(ClusterServerGrpc.layer, HeartbeatMonitorLive.layer).pipe(
      Layer.provideMerge(ClusterTlsFiles.layer),
      Layer.provideMerge(OrchestratorLive.layerWith({ reconcileInterval: "100 millis" })),
      Layer.provideMerge(NodeDnsLive.layerWith({ listen: LOOPBACK_ANY_PORT, upstreams: [upstream] })),
      Layer.provideMerge(Layer.mergeAll(WorkerChannelsLive.layer, LocalWorkload.layerNoop, ContainerRuntimeMemory.layerWith())),
      Layer.provideMerge(Layer.mergeAll(
        NodeRegistrySql.layer,
        EventsLive.layer,
        EventLogLive.layer,
        SecretStoreSql.layer.pipe(Layer.provide(MasterKey.layerEphemeral)),
        Layer.succeed(TokenVault, vault.service),
        Layer.succeed(DaemonConfig, config)
      )),
      Layer.provideMerge(Database.layerWith(":memory:"))
    )
    const ctx = yield* Layer.buildWithScope(layer, scope)
    yield* Effect.addFinalizer(() => Scope.close(scope, Exit.void))
    return {
      port: Context.get(ctx, ClusterServer).port,
      orchestrator: Context.get(ctx, Orchestrator),
      registry: Context.get(ctx, NodeRegistry),
      channels: Context.get(ctx, WorkerChannels),
      workloads: Context.get(ctx, NodeWorkloads),
      /** the master going away (its process killed): the workers' streams drop */
      kill: Scope.close(scope, Exit.void)
    }
  })

/**
 * A worker with --dns-mode embedded: the agent, the pod runtime on an in-memory engine whose
 * container IPs start with `firstOctet`, and its resolver on 127.0.0.1 (any port).
 */
const startWorker = (name: string, port: number, token: string, upstream: HostPort, firstOctet: number) =>
  Effect.gen(function*() {
    const engine = yield* Layer.build(ContainerRuntimeMemory.layerWith({ images: ["nginx:1"], firstOctet }))
    const config = workerConfig(name, port, token, { dnsMode: "embedded", dnsListen: LOOPBACK_ANY_PORT })
    const layer = WorkerAgentGrpc.layer.pipe(
      Layer.provideMerge(NodeDnsLive.layerWith({ listen: LOOPBACK_ANY_PORT, upstreams: [upstream], refresh: "200 millis" })),
      Layer.provideMerge(LocalWorkloadRuntime.layerWith({ resyncInterval: "100 millis", stopGrace: "10 millis" })),
      Layer.provide(Layer.mergeAll(Layer.succeedContext(engine), Layer.succeed(DaemonConfig, config), Layer.succeed(HostInfo, fixedHostInfo)))
    )
    const ctx = yield* Layer.build(layer)
    yield* Effect.forkScoped(Context.get(ctx, WorkerAgent).run)
    const dnsPort = Option.getOrThrow(Context.get(ctx, DnsResolver).endpoint).port
    return { dnsPort, engine: Context.get(engine, MemoryEngine), nodeDns: Context.get(ctx, NodeDns) }
  })

/** A records from the worker's resolver, asked from `from` (the node itself by default), sorted. */
const aRecords = (port: number, name: string, from?: string) =>
  Effect.map(dig(port, [...(from === undefined ? [] : ["-b", from]), name, "A"]), (r) => ({ status: r.status, addresses: digData(r) }))

describe("embedded DNS over a real cluster", () => {
  it.scopedLive("a worker answers its pods by name from the pushed records: pod names, scale, projects apart, forwards, and the master down", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const upstream = yield* FakeUpstream.start({ names: { "example.test": ["192.0.2.80"] } })
      const master = yield* startMaster(token, upstream.address)
      const w1 = yield* startWorker("w1", master.port, token, upstream.address, 127)
      yield* eventually(Effect.map(master.registry.list, (nodes) => nodes.length === 1), { what: "the worker joined" })

      yield* master.orchestrator.deploy(spec({ replicas: 2 }))
      yield* master.orchestrator.deploy(spec({ project: "billing", deployment: { name: "api" } }))
      const ipsOf = (project: string, deployment: string) =>
        Effect.map(master.orchestrator.pods(project), (pods) =>
          pods.filter((p) => p.deployment_name === deployment && p.container_ip !== null).map((p) => p.container_ip!).sort())
      // the worker answers as soon as its own pods run (its overlay), before its 5 s report reaches the master
      const started = Date.now()
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "web.shop.internal"), (r) => r.addresses.length === 2), {
        what: "web.shop.internal answers both pods",
        within: "5 seconds"
      })
      const firstAnswerMs = Date.now() - started
      yield* eventually(Effect.map(ipsOf("shop", "web"), (ips) => ips.length === 2), { what: "the master knows both IPs", within: "15 seconds" })
      const web = yield* ipsOf("shop", "web")
      const [api] = yield* ipsOf("billing", "api")
      expect(yield* aRecords(w1.dnsPort, "web.shop.internal")).toEqual({ status: "NOERROR", addresses: web })
      expect(yield* aRecords(w1.dnsPort, "api.billing.internal")).toEqual({ status: "NOERROR", addresses: [api] })
      // the pod names: <deployment>-<n>, by replica index
      const pods = yield* master.orchestrator.pods("shop")
      const pod1 = pods.find((p) => p.replica_index === 1)!
      expect(pod1.dns_name).toBe("web-1.shop.internal")
      expect(yield* aRecords(w1.dnsPort, "web-1.shop.internal")).toEqual({ status: "NOERROR", addresses: [pod1.container_ip!] })

      // projects stay apart: a shop pod asking for billing's name gets NXDOMAIN, its own project's name resolves
      expect((yield* aRecords(w1.dnsPort, "api.billing.internal", web[0]!)).status).toBe("NXDOMAIN")
      expect(yield* aRecords(w1.dnsPort, "web.shop.internal", web[0]!)).toEqual({ status: "NOERROR", addresses: web })
      expect((yield* aRecords(w1.dnsPort, "web.shop.internal", api!)).status).toBe("NXDOMAIN")
      expect((yield* aRecords(w1.dnsPort, "nothing.shop.internal", web[0]!)).status).toBe("NXDOMAIN")

      // every other name goes to the upstream
      expect(yield* aRecords(w1.dnsPort, "example.test", web[0]!)).toEqual({ status: "NOERROR", addresses: ["192.0.2.80"] })

      // the pods' containers point at this node's resolver, with their project as search domain
      const containers = yield* w1.engine.containers
      const shopContainer = containers.find((c) => c.labels["helyos.project"] === "shop")!
      expect(shopContainer.spec?.dns).toEqual({ servers: ["127.0.0.1"], search: ["shop.internal"], options: ["ndots:1"] })

      // scale down: the answer changes within a second (the retired pod leaves with the assignment)
      yield* master.orchestrator.scale("shop", "web", 1)
      const scaled = Date.now()
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "web.shop.internal"), (r) => r.addresses.length === 1), {
        what: "one address after the scale-down",
        within: "1 second"
      })
      const scaleDownMs = Date.now() - scaled
      // and up again: the new pod answers once it runs here, long before the next heartbeat
      yield* master.orchestrator.scale("shop", "web", 3)
      const upAt = Date.now()
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "web.shop.internal"), (r) => r.addresses.length === 3), {
        what: "three addresses after the scale-up",
        within: "2 seconds"
      })
      const scaleUpMs = Date.now() - upAt
      console.log(`embedded DNS: first answer ${firstAnswerMs} ms after deploy, scale-down seen in ${scaleDownMs} ms, scale-up in ${scaleUpMs} ms (heartbeat 5 s)`)

      // the master goes away: the worker keeps answering from what it holds
      const before = yield* aRecords(w1.dnsPort, "web.shop.internal")
      yield* master.kill
      yield* Effect.sleep("500 millis")
      expect(yield* aRecords(w1.dnsPort, "web.shop.internal")).toEqual(before)
      expect((yield* aRecords(w1.dnsPort, "api.billing.internal", before.addresses[0]!)).status).toBe("NXDOMAIN")
    }), { timeout: 60_000 })

  it.scopedLive("a delta that skips revisions makes the worker ask for a snapshot, which puts its set right", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const upstream = yield* FakeUpstream.start()
      const master = yield* startMaster(token, upstream.address)
      const w1 = yield* startWorker("w1", master.port, token, upstream.address, 127)
      yield* eventually(Effect.map(master.registry.list, (nodes) => nodes.length === 1), { what: "the worker joined" })
      yield* master.orchestrator.deploy(spec({}))
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "web.shop.internal"), (r) => r.addresses.length === 1), { what: "web answers" })
      yield* eventually(Effect.map(master.workloads.dnsSnapshot, (s) => Option.getOrThrow(s).records.length === 1), { what: "the master published it" })
      yield* eventually(
        Effect.zipWith(w1.nodeDns.revision, master.workloads.dnsSnapshot, (held, s) => held === Option.getOrThrow(s).revision),
        { what: "the worker holds the master's revision" }
      )
      const [node] = yield* master.registry.list
      const revision = yield* w1.nodeDns.revision
      // a record only this worker heard of (as if a delta of another master lifetime had slipped in) ...
      const ghost = {
        podId: PodId.make("ghost"),
        project: "shop",
        deployment: "ghost",
        replicaIndex: 0,
        nodeId: NodeId.make("elsewhere"),
        nodeName: "elsewhere",
        ipv4: "127.9.9.9",
        ready: true
      }
      yield* master.channels.send(node!.id, { _tag: "DnsDelta", delta: { revision: revision + 1, upsert: [ghost], remove: [] } })
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "ghost.shop.internal"), (r) => r.status === "NOERROR"), { what: "the ghost name exists on w1" })
      // ... then a delta that skips revisions: the worker keeps its set, asks, and the snapshot replaces it
      yield* master.channels.send(node!.id, { _tag: "DnsDelta", delta: { revision: revision + 5, upsert: [], remove: [] } })
      yield* eventually(Effect.map(aRecords(w1.dnsPort, "ghost.shop.internal"), (r) => r.status === "NXDOMAIN"), { what: "the snapshot removed the ghost" })
      expect(yield* w1.nodeDns.revision).toBe(revision)
      expect((yield* aRecords(w1.dnsPort, "web.shop.internal")).addresses).toHaveLength(1)
    }), { timeout: 60_000 })

  it.scopedLive("without the overlay network each worker answers only its own pods (another node's IPs do not route from it)", () =>
    Effect.gen(function*() {
      const token = newJoinToken()
      const upstream = yield* FakeUpstream.start()
      const master = yield* startMaster(token, upstream.address)
      // the same container addresses on both engines would be told apart by node: give w2 another range to see which is which
      const w1 = yield* startWorker("w1", master.port, token, upstream.address, 127)
      const w2 = yield* startWorker("w2", master.port, token, upstream.address, 10)
      yield* eventually(Effect.map(master.registry.list, (nodes) => nodes.length === 2), { what: "both workers joined" })
      yield* master.orchestrator.deploy(spec({ replicas: 2 }))
      yield* eventually(
        Effect.map(master.orchestrator.pods("shop"), (pods) => pods.filter((p) => p.container_ip !== null).length === 2),
        { what: "the master knows both pods' IPs", within: "15 seconds" }
      )
      const pods = yield* master.orchestrator.pods("shop")
      const on = (node: string) => pods.filter((p) => p.node === node).map((p) => p.container_ip!)
      expect(on("w1")).toHaveLength(1)
      expect(on("w2")).toHaveLength(1)
      yield* eventually(
        Effect.map(Effect.all([aRecords(w1.dnsPort, "web.shop.internal"), aRecords(w2.dnsPort, "web.shop.internal")]), ([a, b]) =>
          a.addresses.join() === on("w1").join() && b.addresses.join() === on("w2").join()),
        { what: "each worker answers its own pod", within: "5 seconds" }
      )
      // the other node's pod exists (its name too: NOERROR), it is just not answered here
      const other = pods.find((p) => p.node === "w2")!
      expect(yield* aRecords(w1.dnsPort, other.dns_name!)).toEqual({ status: "NOERROR", addresses: [] })
    }), { timeout: 60_000 })
})
