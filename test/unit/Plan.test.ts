// The pure reconcile plan, case by case: a cluster in, one pass's changes out.
// No SQLite and no Effect runtime: each case states a cluster and what one pass decides for it.
import { describe, expect, it } from "vitest"
import { decodeSpec, type DeploymentSpec, encodeSpec, specHash } from "../../src/domain/DeploymentSpec.js"
import { NodeId, NodeRecord, NodeResources } from "../../src/domain/Node.js"
import { defaultSchedulerConfig } from "../../src/domain/Scheduler.js"
import { DeploymentId, PodId, type PodStatus } from "../../src/domain/Workload.js"
import { parseTemplate, templateOf } from "../../src/layers/orchestrator/Assignments.js"
import { type DeploymentState, type Plan, plan } from "../../src/layers/orchestrator/Plan.js"
import { noPodDetails, type PodDesired, type PodRow, revisionOf } from "../../src/layers/orchestrator/Store.js"

const NOW = 1_700_000_000_000
const GiB = 2 ** 30

// ---------------------------------------------------------------------------------------------
// A small cluster, described by name.

const node = (
  name: string,
  options: { readonly liveness?: NodeRecord["liveness"]; readonly draining?: boolean; readonly cpu?: number } = {}
) =>
  new NodeRecord({
    id: NodeId.make(name),
    name,
    address: "127.0.0.1:7001",
    role: "Worker",
    schedulable: options.draining === true ? "draining" : "active",
    liveness: options.liveness ?? "Ready",
    resources: new NodeResources({
      cpuCores: options.cpu ?? 4,
      memoryBytes: 8 * GiB,
      cpuAvailable: options.cpu ?? 4,
      memoryAvailable: 8 * GiB
    }),
    lastHeartbeatMs: NOW,
    joinedAtMs: NOW
  })

const spec = (input: Record<string, unknown>): DeploymentSpec => {
  const decoded = decodeSpec({ project: "shop", deployment: { name: "api" }, image: "nginx:1", ...input })
  if (decoded._tag === "Left") throw new Error(decoded.left.message)
  return decoded.right
}

/** The `api` deployment as the store holds it: one id across its specs, `desired` pods wanted now. */
const api = (s: DeploymentSpec, desired = s.replicas, restartGeneration = 0): DeploymentState => ({
  row: {
    id: DeploymentId.make("dep-api"),
    project: s.project,
    name: s.deployment.name,
    specJson: JSON.stringify(encodeSpec(s)),
    specHash: specHash(s),
    replicas: s.replicas,
    stopped: desired === 0 ? 1 : 0,
    createdAtMs: NOW - 60_000,
    updatedAtMs: NOW - 60_000,
    restartGeneration
  },
  spec: s,
  desired
})

/** A pod row made from `d` (its revision and template), on `nodeId` or pending (null). */
const pod = (
  id: string,
  d: DeploymentState,
  index: number,
  nodeId: string | null,
  options: {
    readonly status?: PodStatus
    readonly desired?: PodDesired
    readonly message?: string
    readonly ageMs?: number
  } = {}
): PodRow => ({
  id: PodId.make(id),
  deploymentId: d.row.id,
  project: d.row.project,
  deploymentName: d.row.name,
  replicaIndex: index,
  nodeId: nodeId === null ? null : NodeId.make(nodeId),
  desired: options.desired ?? "run",
  status: options.status ?? (nodeId === null ? "pending" : "running"),
  containerId: nodeId === null ? null : `c-${id}`,
  containerIp: null,
  restartCount: 0,
  message: options.message ?? null,
  image: d.spec.image,
  specHash: revisionOf(d.row),
  templateJson: JSON.stringify(templateOf(d.spec, d.desired)),
  createdAtMs: NOW - (options.ageMs ?? 30_000),
  ...noPodDetails
})

const v1 = spec({ replicas: 3 })
const v2 = spec({ replicas: 3, image: "nginx:2" })
const single = spec({ ports: [8080] })
const singleV2 = spec({ ports: [8080], image: "nginx:2" })
const big = spec({ resources: { cpu: 2, memory: "1g" } })

// ---------------------------------------------------------------------------------------------
// One pass, summarised so a case reads as a sentence.

interface World {
  readonly nodes: ReadonlyArray<NodeRecord>
  readonly deployments: ReadonlyArray<DeploymentState>
  readonly pods: ReadonlyArray<PodRow>
}

interface Outcome {
  /** pod ids failed with their dead or removed node */
  readonly lost: ReadonlyArray<string>
  /** retired rows dropped */
  readonly forget: ReadonlyArray<string>
  /** `id: reason` */
  readonly retire: ReadonlyArray<string>
  /** `api-1 on w2` or `api-1 pending: reason` (new pods are named new-1, new-2, …) */
  readonly create: ReadonlyArray<string>
  /** `id on w2`, or `id: new reason` for a pending pod still without a node */
  readonly place: ReadonlyArray<string>
  /** `id: reason` for every pod without a node after the pass */
  readonly unplaced: ReadonlyArray<string>
}

const pass = (world: World): Plan => {
  let next = 0
  return plan({
    ...world,
    failures: new Map(),
    config: defaultSchedulerConfig,
    maxPods: 110,
    nowMs: NOW,
    newPodId: () => PodId.make(`new-${++next}`),
    parseTemplate
  })
}

const outcome = (p: Plan): Outcome => ({
  lost: p.lost.map((pod) => pod.id),
  forget: [...p.forget],
  retire: p.retire.map(({ pod, reason }) => `${pod.id}: ${reason}`),
  create: p.create.map((pod) =>
    `${pod.deploymentName}-${pod.replicaIndex} ${pod.nodeId === null ? `pending: ${pod.message}` : `on ${pod.nodeId}`}`
  ),
  place: p.place.map(({ changes, pod }) =>
    changes.nodeId !== undefined && changes.nodeId !== null ? `${pod.id} on ${changes.nodeId}` : `${pod.id}: ${changes.message}`
  ),
  unplaced: p.unplaced.map(({ pod, reason }) => `${pod.id}: ${reason}`)
})

const nothing: Outcome = { lost: [], forget: [], retire: [], create: [], place: [], unplaced: [] }

interface Case {
  readonly spec: string
  readonly given: World
  readonly then: Partial<Outcome>
}

/** One test per case, named by its sentence (it.each would cut the name short in the report). */
const specify = (cases: ReadonlyArray<Case>) => {
  for (const { given, spec, then } of cases) it(spec, () => expect(outcome(pass(given))).toEqual({ ...nothing, ...then }))
}

// ---------------------------------------------------------------------------------------------

describe("plan: nodes that die or go", () => {
  const d = api(spec({}))
  specify([
    {
      spec: "a pod on a dead node is lost and its replica starts again on a live node",
      given: { nodes: [node("w1", { liveness: "Dead" }), node("w2")], deployments: [d], pods: [pod("p0", d, 0, "w1")] },
      then: { lost: ["p0"], create: ["api-0 on w2"] }
    },
    {
      spec: "a pod on a node removed from the cluster is lost the same way",
      given: { nodes: [node("w2")], deployments: [d], pods: [pod("p0", d, 0, "w1")] },
      then: { lost: ["p0"], create: ["api-0 on w2"] }
    },
    {
      spec: "a NotReady node's pods stay where they are (only death moves them)",
      given: { nodes: [node("w1", { liveness: "NotReady" }), node("w2")], deployments: [d], pods: [pod("p0", d, 0, "w1")] },
      then: {}
    },
    {
      spec: "a retired row on a dead node, or never placed, is forgotten: nobody will report it gone",
      given: {
        nodes: [node("w1", { liveness: "Dead" }), node("w2")],
        deployments: [d],
        pods: [
          pod("p0", d, 0, "w2"),
          pod("old-on-dead", d, 0, "w1", { desired: "retire", status: "stopping" }),
          pod("old-unplaced", d, 0, null, { desired: "retire" })
        ]
      },
      then: { forget: ["old-on-dead", "old-unplaced"] }
    }
  ])
})

describe("plan: drain moves pods replacement-first", () => {
  const d = api(spec({}))
  specify([
    {
      spec: "a pod on a draining node keeps serving while its replacement starts elsewhere",
      given: { nodes: [node("w1", { draining: true }), node("w2")], deployments: [d], pods: [pod("p0", d, 0, "w1")] },
      then: { create: ["api-0 on w2"] }
    },
    {
      spec: "while the replacement is not running yet, nothing more happens",
      given: {
        nodes: [node("w1", { draining: true }), node("w2")],
        deployments: [d],
        pods: [pod("p0", d, 0, "w1"), pod("p0-new", d, 0, "w2", { status: "creating" })]
      },
      then: {}
    },
    {
      spec: "once the replacement runs, the drained pod is retired",
      given: {
        nodes: [node("w1", { draining: true }), node("w2")],
        deployments: [d],
        pods: [pod("p0", d, 0, "w1"), pod("p0-new", d, 0, "w2")]
      },
      then: { retire: ["p0: replaced by pod p0-new"] }
    },
    {
      spec: "a drained pod that is not running is retired at once and replaced",
      given: {
        nodes: [node("w1", { draining: true }), node("w2")],
        deployments: [d],
        pods: [pod("p0", d, 0, "w1", { status: "crashloopbackoff" })]
      },
      then: { retire: ["p0: replaced"], create: ["api-0 on w2"] }
    }
  ])
})

describe("plan: scale", () => {
  const three = api(v1)
  const pods = [pod("p0", three, 0, "w1"), pod("p1", three, 1, "w2"), pod("p2", three, 2, "w1")]
  specify([
    {
      spec: "scaling down retires the highest replica indexes and keeps the lowest",
      given: { nodes: [node("w1"), node("w2")], deployments: [api(v1, 1)], pods },
      then: { retire: ["p1: scaled to 1", "p2: scaled to 1"] }
    },
    {
      spec: "stopping (0 desired) retires every pod",
      given: { nodes: [node("w1"), node("w2")], deployments: [api(v1, 0)], pods },
      then: { retire: ["p0: scaled to 0", "p1: scaled to 0", "p2: scaled to 0"] }
    },
    {
      spec: "scaling up adds the missing indexes, spread over the nodes",
      given: { nodes: [node("w1"), node("w2")], deployments: [three], pods: [] },
      then: { create: ["api-0 on w1", "api-1 on w2", "api-2 on w1"] }
    },
    {
      spec: "a removed deployment's pods are retired",
      given: { nodes: [node("w1"), node("w2")], deployments: [], pods: [pods[0]!] },
      then: { retire: ["p0: its deployment was removed"] }
    },
    {
      spec: "of two current pods for one index, the running one stays and the other goes",
      given: {
        nodes: [node("w1"), node("w2")],
        deployments: [api(spec({}))],
        pods: [
          pod("late", api(spec({})), 0, "w2", { status: "creating", ageMs: 1_000 }),
          pod("first", api(spec({})), 0, "w1")
        ]
      },
      then: { retire: ["late: duplicate of pod first"] }
    },
    {
      spec: "a converged cluster plans nothing: the plan is level-triggered",
      given: { nodes: [node("w1"), node("w2")], deployments: [three], pods },
      then: {}
    }
  ])
})

describe("plan: rolling replace on a spec change", () => {
  const old = api(v1)
  const next = api(v2)
  const nodes = [node("w1"), node("w2")]
  const oldPods = [pod("old0", old, 0, "w1"), pod("old1", old, 1, "w2"), pod("old2", old, 2, "w1")]
  specify([
    {
      spec: "a new spec starts one replacement at a time; the old pods keep serving",
      given: { nodes, deployments: [next], pods: oldPods },
      then: { create: ["api-0 on w2"] }
    },
    {
      spec: "while the replacement is coming up, no second one starts",
      given: { nodes, deployments: [next], pods: [...oldPods, pod("new0", next, 0, "w2", { status: "creating" })] },
      then: {}
    },
    {
      spec: "a running replacement retires its predecessor and the next index starts",
      given: { nodes, deployments: [next], pods: [...oldPods, pod("new0", next, 0, "w2")] },
      then: { retire: ["old0: replaced by pod new0"], create: ["api-1 on w1"] }
    },
    {
      spec: "an old pod that serves nothing (crash loop) is retired at once; its new pod does not take the surge slot",
      given: {
        nodes,
        deployments: [next],
        pods: [pod("old0", old, 0, "w1", { status: "crashloopbackoff" }), oldPods[1]!, oldPods[2]!]
      },
      then: { retire: ["old0: replaced"], create: ["api-0 on w2", "api-1 on w1"] }
    },
    {
      spec: "a restart bumps the revision: every pod is replaced like one of an older spec",
      given: { nodes, deployments: [api(v1, 3, 1)], pods: oldPods },
      then: { create: ["api-0 on w2"] }
    },
    {
      spec: "a single replica with host ports: the old pod goes first, the new one cannot bind them beside it",
      given: { nodes, deployments: [api(singleV2)], pods: [pod("old0", api(single), 0, "w1")] },
      then: { retire: ["old0: replaced (the new pod needs its host ports)"] }
    },
    {
      spec: "a single replica with host ports: no new pod while the retired one still holds them",
      given: {
        nodes,
        deployments: [api(singleV2)],
        pods: [pod("old0", api(single), 0, "w1", { desired: "retire", status: "stopping" })]
      },
      then: {}
    },
    {
      spec: "a single replica with host ports: once the old pod is gone, the new one is placed",
      given: { nodes, deployments: [api(singleV2)], pods: [] },
      then: { create: ["api-0 on w1"] }
    }
  ])
})

describe("plan: capacity exhausted", () => {
  const d = api(big)
  const small = [node("w1", { cpu: 1 })]
  // the scheduler's reason, as a first pass over an empty cluster writes it on the new pod
  const reason = pass({ nodes: small, deployments: [d], pods: [] }).unplaced[0]?.reason ?? ""
  const noRoom = expect.stringMatching(/no node can run this pod.*w1: needs 2 CPU, 1 available/)
  specify([
    {
      spec: "a new pod that fits nowhere is created pending, with the reason",
      given: { nodes: small, deployments: [d], pods: [] },
      then: { create: [`api-0 pending: ${reason}`], unplaced: [`new-1: ${reason}`] }
    },
    {
      spec: "the reason names each node and why it cannot run the pod",
      given: { nodes: small, deployments: [d], pods: [] },
      then: { create: [noRoom], unplaced: [noRoom] }
    },
    {
      spec: "a pending pod with the same reason is left as it is (nothing to write), and still unplaced",
      given: { nodes: small, deployments: [d], pods: [pod("p0", d, 0, null, { message: reason })] },
      then: { unplaced: [`p0: ${reason}`] }
    },
    {
      spec: "a pending pod with a new reason gets it written",
      given: { nodes: small, deployments: [d], pods: [pod("p0", d, 0, null, { message: "no nodes are registered" })] },
      then: { place: [`p0: ${reason}`], unplaced: [`p0: ${reason}`] }
    },
    {
      spec: "a pending pod is placed first when a node has room; a new pod that no longer fits waits",
      given: {
        nodes: [...small, node("w2", { cpu: 2 })],
        deployments: [api(big, 2)],
        pods: [pod("p0", api(big, 2), 0, null, { message: reason })]
      },
      then: {
        place: ["p0 on w2"],
        create: [expect.stringMatching(/^api-1 pending: no node can run this pod.*w1: needs 2 CPU, 1 available/)],
        unplaced: [expect.stringMatching(/^new-1: no node can run this pod/)]
      }
    },
    {
      spec: "capacity still held by a retiring pod counts: the new one waits rather than overcommit the node",
      given: {
        nodes: [node("w1", { cpu: 2 })],
        deployments: [d],
        pods: [pod("leaving", d, 0, "w1", { desired: "retire", status: "stopping" })]
      },
      then: {
        create: [expect.stringMatching(/^api-0 pending: no node can run this pod.*w1: needs 2 CPU, 0 available/)],
        unplaced: [expect.stringMatching(/^new-1: no node can run this pod/)]
      }
    }
  ])
})
