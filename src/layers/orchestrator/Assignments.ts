// What each node is told to run: a pod's template (frozen at creation), its PodAssignment, and the
// per-node generation that rises whenever a node's set changes (so a worker never applies an older one).
import { Effect, Schema } from "effect"
import { type DeploymentSpec, isBindMount, parseMemory, probeOf } from "../../domain/DeploymentSpec.js"
import type { NodeId } from "../../domain/Node.js"
import { containerName } from "../../domain/Workload.js"
import { containerFields, HealthCheck, type PodAssignment } from "../../domain/PodAssignment.js"
import { makeMemo } from "./Memo.js"
import type { PodRow } from "./Store.js"

/** Everything a pod's container runs with; stored per pod so old pods keep their spec during a rollout. */
export const PodTemplate = Schema.Struct({
  ...containerFields,
  /** secret NAMES only (values are decrypted into env when the pod is assigned); absent in older rows */
  secrets: Schema.optionalWith(Schema.Array(Schema.String), { default: () => [] }),
  /** the health probe the node runs (DeploymentSpec.probeOf); absent: none, and in older rows */
  healthcheck: Schema.optionalWith(HealthCheck, { exact: true })
})
export type PodTemplate = typeof PodTemplate.Type

/** The spec's probe as a template field (none: no field, so templates without one stay as they were). */
const probeField = (spec: DeploymentSpec) => {
  const probe = probeOf(spec)
  return probe === undefined ? {} : { healthcheck: probe }
}

export const templateOf = (spec: DeploymentSpec, replicas: number): PodTemplate => ({
  image: spec.image,
  command: spec.command ?? [],
  env: spec.env,
  ports: spec.ports,
  publishPorts: replicas === 1 && spec.ports.length > 0,
  volumes: spec.volumes.map((v) =>
    isBindMount(v)
      ? { name: "", hostPath: v.path, mount: v.mount, readonly: v.readonly }
      : { name: v.name, hostPath: "", mount: v.mount, readonly: false }
  ),
  cpu: spec.resources?.cpu ?? 0,
  memoryBytes: spec.resources === undefined ? 0 : (parseMemory(spec.resources.memory) ?? 0),
  restartPolicy: spec.restart,
  secrets: spec.secrets,
  ...probeField(spec)
})

/** A stored template back as a PodTemplate. */
export type ParseTemplate = (json: string) => PodTemplate

/** Uncached: what the pure plan's tests use; an orchestrator memoises its own (makeTemplates). */
export const parseTemplate: ParseTemplate = Schema.decodeUnknownSync(Schema.parseJson(PodTemplate))

/** One orchestrator's memoised parseTemplate: every pass reads every pod's template. */
export const makeTemplates = (): ParseTemplate => makeMemo(parseTemplate)

/** The pod's PodAssignment from its template; `secretEnv` (its decrypted secrets) goes on top of the spec's env. */
export const podAssignment = (
  pod: PodRow,
  t: PodTemplate,
  secretEnv: Readonly<Record<string, string>> = {}
): PodAssignment => ({
  podId: pod.id,
  containerName: containerName(pod.project, pod.deploymentName, pod.replicaIndex, pod.id),
  project: pod.project,
  deployment: pod.deploymentName,
  replicaIndex: pod.replicaIndex,
  image: t.image,
  command: [...t.command],
  env: { ...t.env, ...secretEnv },
  ports: [...t.ports],
  publishPorts: t.publishPorts,
  volumes: t.volumes.map((v) => ({ ...v })),
  cpu: t.cpu,
  memoryBytes: t.memoryBytes,
  restartPolicy: t.restartPolicy,
  ...(t.healthcheck === undefined ? {} : { healthcheck: { ...t.healthcheck, command: [...t.healthcheck.command] } })
})

/** A node's pod set in a stable order (the order decides whether the set "changed"), secrets merged in. */
export const assignedPods = (
  runPodsOfNode: ReadonlyArray<PodRow>,
  parse: ParseTemplate,
  secretEnvOf: (pod: PodRow) => Readonly<Record<string, string>> = () => ({})
): Array<PodAssignment> =>
  [...runPodsOfNode]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((pod) => podAssignment(pod, parse(pod.templateJson), secretEnvOf(pod)))

interface Sent {
  readonly generation: number
  readonly key: string
}

/** A node's generation, and whether the node has to be told (its set changed or it never got one). */
export interface Stamp {
  readonly generation: number
  readonly changed: boolean
}

/**
 * The last set each node was given. Generations start at the clock's epoch millis so that after a
 * master restart they are above anything a still-running worker has applied (workers drop older ones).
 * The state is a plain mutable map (every operation is one synchronous step): every pass stamps every
 * node, and copying the whole map per change made stamping O(nodes) each.
 */
export const makeGenerations = (startAt: number) =>
  Effect.sync(() => {
    let next = Math.max(1, Math.floor(startAt))
    const sent = new Map<NodeId, Sent>()
    /** The generation for this set (synchronous, for loops over every node). */
    const stampNow = (nodeId: NodeId, pods: ReadonlyArray<PodAssignment>): Stamp => {
      const key = JSON.stringify(pods)
      const last = sent.get(nodeId)
      if (last !== undefined && last.key === key) return { generation: last.generation, changed: false }
      const generation = next++
      sent.set(nodeId, { generation, key })
      return { generation, changed: true }
    }
    return {
      /**
       * The generation for this set: the known one when the set is unchanged, else a new one.
       * `changed` is true when the node has to be told.
       */
      stamp: (nodeId: NodeId, pods: ReadonlyArray<PodAssignment>) => Effect.sync(() => stampNow(nodeId, pods)),
      stampNow,
      /** The generation last given to a node (undefined: nothing since this master started). */
      lastSent: (nodeId: NodeId) => Effect.sync(() => sent.get(nodeId)?.generation),
      /** Forget nodes that are gone. */
      retain: (nodeIds: ReadonlySet<NodeId>) =>
        Effect.sync(() => {
          for (const id of sent.keys()) if (!nodeIds.has(id)) sent.delete(id)
        })
    } as const
  })

export type Generations = Effect.Effect.Success<ReturnType<typeof makeGenerations>>
