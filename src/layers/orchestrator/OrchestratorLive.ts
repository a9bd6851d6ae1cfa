// The master's orchestrator (projects, deployments, pods in SQLite, one level-triggered reconcile loop)
// and the master side of the node protocol (NodeWorkloads). The master is a node too: its own pods go
// to the in-process LocalWorkload, every other node's travel as Assignments over WorkerChannels.
// This file is the wiring and the loop; what each part does lives in the make… helpers it calls.
import type * as SqlClient from "@effect/sql/SqlClient"
import { Clock, Context, Duration, Effect, Layer, Option, Queue, Ref } from "effect"
import { ContainerRuntime } from "../../services/workload/ContainerRuntime.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { EventLog } from "../../services/observability/EventLog.js"
import { Events } from "../../services/observability/Events.js"
import { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import { Metrics } from "../../services/observability/Metrics.js"
import { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import { NodeWorkloads } from "../../services/orchestrator/NodeWorkloads.js"
import { OrchestratorControl } from "../../services/orchestrator/OrchestratorControl.js"
import { Orchestrator } from "../../services/orchestrator/Orchestrator.js"
import { SecretStore } from "../../services/security/SecretStore.js"
import { WorkerChannels } from "../../services/cluster/WorkerChannels.js"
import { NodeDns } from "../../services/dns/NodeDns.js"
import { makeGenerations, makeTemplates } from "./Assignments.js"
import { makeDnsPublisher } from "./DnsPublisher.js"
import { makeLogRouter } from "./LogRouter.js"
import { makeNodeEvents } from "./NodeEvents.js"
import { makeOperations } from "./Operations.js"
import { makePodLogs } from "./PodLogs.js"
import { makeProjects } from "./Projects.js"
import { makeQuietReports } from "./QuietReports.js"
import { makeReconciler } from "./Reconciler.js"
import { makeSecretEnv } from "./SecretEnv.js"
import { makeStore } from "./Store.js"
import { makeViews } from "./Views.js"

export interface OrchestratorOptions {
  /** overrides DaemonConfig.reconcileInterval */
  readonly reconcileInterval?: Duration.DurationInput
}

export const make = (options: OrchestratorOptions = {}) =>
  Effect.gen(function*() {
    const config = yield* DaemonConfig
    const registry = yield* NodeRegistry
    const events = yield* Events
    const eventLog = yield* EventLog
    const channels = yield* WorkerChannels
    const local = yield* LocalWorkload
    const runtime = yield* ContainerRuntime
    const metrics = yield* Metrics
    const secrets = yield* SecretStore
    const store = yield* makeStore
    // one orchestrator, one template memo: the plan, the secrets and the deploy check all read templates
    const parseTemplate = makeTemplates()
    const secretEnv = makeSecretEnv(secrets, store, parseTemplate)
    const interval = Duration.decode(options.reconcileInterval ?? config.reconcileInterval)

    const generations = yield* makeGenerations(yield* Clock.currentTimeMillis)
    const logRouter = yield* makeLogRouter(channels)
    const scheduler = yield* Ref.make(yield* store.schedulerConfig)
    // one writer: passes, reports and operator actions never interleave their read-decide-write
    const serialized = (yield* Effect.makeSemaphore(1)).withPermits(1)
    // one pending wake-up is enough: a pass always converges to the latest state
    const wake = yield* Queue.dropping<void>(1)
    const wakeUp = Queue.offer(wake, undefined).pipe(Effect.asVoid)

    const reconciler = makeReconciler({
      config, store, registry, channels, local, generations, scheduler, wakeUp, eventLog, secretEnv, parseTemplate
    })
    const reports = makeQuietReports({ store, registry, generations, reconciler, serialized })
    const nodeEvents = makeNodeEvents(registry, eventLog)
    // --dns-mode embedded: the records follow the pod table (derived after each pass and report)
    const dns = yield* makeDnsPublisher({ config, store, registry, channels, nodeDns: yield* NodeDns })
    const publishDns = dns.publish.pipe(Effect.catchAllCause((cause) => Effect.logError("publishing the DNS records failed", cause)))

    // -------------------------------------------------------------------------------------------
    // The loop.

    /** The local node reports like any other (polled, since it has no stream), then a pass. */
    const tick = Effect.gen(function*() {
      const own = yield* reconciler.localReport
      if (Option.isSome(own)) {
        const { applied, events: podEvents, nodeId, statuses } = own.value
        yield* reports.report(nodeId, statuses, applied, podEvents)
      }
      yield* serialized(reconciler.pass)
      yield* publishDns
      yield* nodeEvents.announceRecoveries
      yield* reports.forgetGone
    })

    // subscribed before anything can happen; the loop starts with a pass (a restarted master converges at once)
    const subscription = yield* events.subscribe
    // catchAllCause before repeating: one failed pass must not end the loop
    yield* tick.pipe(
      Effect.catchAllCause((cause) => Effect.logError("reconcile pass failed", cause)),
      Effect.zipRight(Effect.raceFirst(Queue.take(wake), Effect.sleep(interval))),
      Effect.zipRight(Queue.takeAll(wake)),
      Effect.forever,
      Effect.forkScoped
    )

    yield* Queue.take(subscription).pipe(
      Effect.tap(nodeEvents.record),
      Effect.flatMap((event) =>
        event._tag === "NodeDead"
          ? serialized(reconciler.nodeDied(event.nodeId, event.name)).pipe(Effect.zipRight(publishDns))
          : wakeUp
      ),
      Effect.catchAllCause((cause) => Effect.logError("handling a node event failed", cause)),
      Effect.forever,
      Effect.forkScoped
    )

    // -------------------------------------------------------------------------------------------
    // The services.

    const { deploymentView, deploymentViews, pods } = makeViews(
      store, registry, reconciler.projectStatuses, reconciler.specOf, dns.enabled
    )

    /** A pass inside an operation that already changed the store: the change is kept even if the pass fails. */
    const reconcileAfterChange = reconciler.pass.pipe(
      Effect.catchAllCause((cause) => Effect.logError("reconcile pass failed", cause)),
      // a scale-down's retired pods leave DNS now, not at the next pass
      Effect.zipRight(publishDns)
    )
    const { localNodeOf } = reconciler
    const operations = makeOperations({
      config, store, registry, runtime, metrics, secrets, eventLog, scheduler, parseTemplate, localNodeOf, deploymentView,
      serialized, reconcileAfterChange
    })
    const projects = makeProjects({ store, secrets, scheduler, serialized, reconcileAfterChange })

    const orchestrator = Orchestrator.of({
      ...operations,
      ...projects,
      deployments: (project) => deploymentViews(project === undefined ? {} : { project }),
      deployment: deploymentView,
      pods,
      logs: makePodLogs({ store, registry, local, logRouter, localNodeOf })
    })

    const workloads = NodeWorkloads.of({
      desired: (id) =>
        serialized(Effect.gen(function*() {
          const mine = yield* secretEnv.assign(yield* store.runPodsOfNode(id))
          const { generation } = yield* generations.stamp(id, mine)
          return { generation, pods: mine }
        })),
      // a worker's report may change what runs where (and its pods' health): the records follow
      report: (id, pods, appliedGeneration, podEvents) =>
        Effect.zipRight(reports.report(id, pods, appliedGeneration, podEvents), publishDns),
      logChunk: logRouter.deliver,
      podCounts: store.runPodCounts,
      dnsSnapshot: dns.snapshot
    })

    const control = OrchestratorControl.of({
      reconcile: tick.pipe(Effect.orDie)
    })

    return { orchestrator, workloads, control } as const
  })

/** Orchestrator + NodeWorkloads (+ the test control) from one construction. */
const contextOf = (options: OrchestratorOptions) =>
  Effect.map(make(options), ({ control, orchestrator, workloads }) =>
    Context.make(Orchestrator, orchestrator).pipe(
      Context.add(NodeWorkloads, workloads),
      Context.add(OrchestratorControl, control)
    ))

/** The orchestrator with its loop interval chosen (tests use a long one and reconcile by hand). */
export const layerWith = (
  options: OrchestratorOptions = {}
): Layer.Layer<
  Orchestrator | NodeWorkloads | OrchestratorControl,
  never,
  SqlClient.SqlClient | DaemonConfig | NodeRegistry | Events | EventLog | WorkerChannels | LocalWorkload | ContainerRuntime | SecretStore
> => Layer.scopedContext(contextOf(options))

/**
 * Orchestrator and NodeWorkloads for a single or master daemon. Needs a migrated SqlClient
 * (Database.layerWith), DaemonConfig, NodeRegistry, Events, WorkerChannels, this host's LocalWorkload and
 * ContainerRuntime (only pinged when a deploy would put a pod on this host), and the SecretStore.
 */
export const layer: Layer.Layer<
  Orchestrator | NodeWorkloads,
  never,
  SqlClient.SqlClient | DaemonConfig | NodeRegistry | Events | EventLog | WorkerChannels | LocalWorkload | ContainerRuntime | SecretStore
> = layerWith()
