// `helyos logs`: a deployment's pod logs, merged line by line as they come.
// This host's pods are read from LocalWorkload; every other node's are asked for over its stream (LogRouter).
import { randomUUID } from "node:crypto"
import { Effect, Stream } from "effect"
import { podName } from "../../domain/Workload.js"
import type { LogRequest } from "../../domain/LogRequest.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import { type LogOptions, LogsUnavailable, type Orchestrator } from "../../services/orchestrator/Orchestrator.js"
import type { LocalWorkload } from "../../services/workload/LocalWorkload.js"
import type { LogRouter } from "./LogRouter.js"
import type { Reconciler } from "./Reconciler.js"
import { requireDeployment, type Store } from "./Store.js"

export interface PodLogsDeps {
  readonly store: Store
  readonly registry: NodeRegistry["Type"]
  readonly local: LocalWorkload["Type"]
  readonly logRouter: LogRouter
  readonly localNodeOf: Reconciler["localNodeOf"]
}

export const makePodLogs = (deps: PodLogsDeps): Orchestrator["Type"]["logs"] => {
  const { local, logRouter, registry, store } = deps

  return (project: string, name: string, options: LogOptions) =>
    Stream.unwrap(Effect.gen(function*() {
      const row = yield* requireDeployment(store, project, name)
      const mine = (yield* store.pods).filter((p) => p.deploymentId === row.id && p.desired === "run")
      const chosen = options.pod === undefined
        ? mine.filter((p) => p.nodeId !== null)
        : mine.filter((p) => podName(p.deploymentName, p.replicaIndex) === options.pod)
      if (options.pod !== undefined) {
        const pod = chosen[0]
        if (pod === undefined) {
          return yield* new LogsUnavailable({ pod: options.pod, reason: `deployment '${name}' has no such pod` })
        }
        if (pod.nodeId === null) return yield* new LogsUnavailable({ pod: options.pod, reason: "it is not placed on a node yet" })
      }
      const nodes = yield* registry.list
      const me = deps.localNodeOf(nodes)
      const tail = options.tail ?? 0
      const streams = chosen.map((pod) => {
        const podLabel = podName(pod.deploymentName, pod.replicaIndex)
        const node = nodes.find((n) => n.id === pod.nodeId)
        const request: LogRequest = { requestId: randomUUID(), podId: pod.id, tail, follow: options.follow }
        const bytes: Stream.Stream<Uint8Array, string> = node === undefined
          ? Stream.fail("its node was removed")
          : node.id === me?.id
          ? local.logs(request)
          : logRouter.open(node, pod.id, { tail, follow: options.follow })
        return bytes.pipe(
          Stream.mapError((reason) => new LogsUnavailable({ pod: podLabel, reason })),
          Stream.decodeText(),
          Stream.splitLines,
          Stream.map((line) => ({ pod: podLabel, line }))
        )
      })
      return Stream.mergeAll(streams, { concurrency: "unbounded" })
    }))
}
