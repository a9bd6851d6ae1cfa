// Pods, deployments and projects as users see them: names, derived deployment status, and the
// snake_case JSON the REST API shows (reference §4.3 shapes, plus node names and a failure message).
import { describe, expect, it } from "@effect/vitest"
import { Either, Schema } from "effect"
import { decodeSpec } from "../../src/domain/DeploymentSpec.js"
import { NodeId } from "../../src/domain/Node.js"
import {
  containerName,
  DeploymentId,
  DeploymentRecord,
  deploymentStatus,
  DeploymentView,
  effectiveReplicas,
  PodId,
  podName,
  PodRecord,
  podStatusLabel,
  type PodStatus,
  PodView,
  ProjectRecord,
  toDeploymentView,
  toPodView,
  toProjectView
} from "../../src/domain/Workload.js"

const CREATED = Date.UTC(2026, 0, 2, 3, 4, 5)
const pods = (...statuses: Array<PodStatus>) => statuses.map((status) => ({ status }))

const spec = Either.getOrThrow(decodeSpec({ project: "shop", deployment: { name: "api" }, image: "nginx:1.27", replicas: 2 }))

const deployment = new DeploymentRecord({
  id: DeploymentId.make("dep-1"),
  project: "shop",
  name: "api",
  spec,
  replicas: 2,
  stopped: false,
  createdAtMs: CREATED,
  updatedAtMs: CREATED + 1000
})

const pod = new PodRecord({
  id: PodId.make("3f2a9c1e-7b6d-4e2f-9a1b-2c3d4e5f6a7b"),
  deploymentId: deployment.id,
  project: "shop",
  deploymentName: "api",
  replicaIndex: 1,
  nodeId: NodeId.make("node-7"),
  containerId: "c0ffee",
  containerIp: "172.18.0.5",
  status: "running",
  image: "nginx:1.27",
  specHash: "0123456789abcdef",
  restartCount: 2,
  createdAtMs: CREATED
})

describe("names", () => {
  it("a pod is called <deployment>-<index>", () => {
    expect(podName("api", 0)).toBe("api-0")
  })

  it("a container is helyos-<project>-<deployment>-<index>-<first 6 chars of the pod id>", () => {
    expect(containerName("shop", "api", 1, pod.id)).toBe("helyos-shop-api-1-3f2a9c")
  })

  it("pod statuses print capitalised as documented", () => {
    expect(podStatusLabel("crashloopbackoff")).toBe("CrashLoopBackoff")
    expect(podStatusLabel("running")).toBe("Running")
  })
})

describe("deployment status", () => {
  it("running when the desired number of pods run", () => {
    expect(deploymentStatus(2, pods("running", "running"))).toBe("running")
    expect(deploymentStatus(1, pods("running", "stopping"))).toBe("running")
  })

  it("pending while pods are still coming up", () => {
    expect(deploymentStatus(2, pods("running", "creating"))).toBe("pending")
    expect(deploymentStatus(3, pods("pending", "pending", "pending"))).toBe("pending")
    expect(deploymentStatus(1, [])).toBe("pending")
  })

  it("degraded when some pod failed or is restarting", () => {
    expect(deploymentStatus(3, pods("running", "running", "failed"))).toBe("degraded")
    expect(deploymentStatus(2, pods("running", "crashloopbackoff"))).toBe("degraded")
    expect(deploymentStatus(1, pods("restarting"))).toBe("degraded")
    expect(deploymentStatus(2, pods("failed", "creating"))).toBe("degraded")
  })

  it("failed when no pod runs and every pod has given up", () => {
    expect(deploymentStatus(2, pods("failed", "crashloopbackoff"))).toBe("failed")
  })

  it("stopped when nothing should run: stopped, scaled to 0, or project suspended", () => {
    expect(deploymentStatus(0, [])).toBe("stopped")
    expect(deploymentStatus(0, pods("stopping"))).toBe("stopped")
    expect(effectiveReplicas({ replicas: 3, stopped: true }, "active")).toBe(0)
    expect(effectiveReplicas({ replicas: 3, stopped: false }, "suspended")).toBe(0)
    expect(effectiveReplicas({ replicas: 3, stopped: false }, "active")).toBe(3)
  })
})

describe("API views", () => {
  it("a project shows name, status and created_at (RFC 3339)", () => {
    const view = toProjectView(new ProjectRecord({ name: "shop", status: "active", createdAtMs: CREATED }))
    expect(view).toEqual({ name: "shop", status: "active", created_at: "2026-01-02T03:04:05.000Z" })
  })

  it("a pod shows the documented snake_case fields and its node's name", () => {
    const json = Schema.encodeSync(PodView)(toPodView(pod, "worker-1"))
    expect(json).toEqual({
      id: "3f2a9c1e-7b6d-4e2f-9a1b-2c3d4e5f6a7b",
      name: "api-1",
      project: "shop",
      deployment_name: "api",
      replica_index: 1,
      node: "worker-1",
      node_id: "node-7",
      container_id: "c0ffee",
      container_ip: "172.18.0.5",
      status: "running",
      image: "nginx:1.27",
      restart_count: 2,
      exit_code: null,
      reason: null,
      last_exit_at: null,
      health: null,
      started_at: null,
      created_at: "2026-01-02T03:04:05.000Z",
      dns_name: null
    })
  })

  it("with --dns-mode embedded a pod and a deployment carry their .internal names", () => {
    expect(toPodView(pod, "worker-1", true).dns_name).toBe("api-1.shop.internal")
    expect(toDeploymentView(deployment, pods("running"), "running", true).dns_name).toBe("api.shop.internal")
    expect(toDeploymentView(deployment, pods("running"), "running").dns_name).toBeNull()
    // an older daemon's view (no dns_name) still decodes
    const { dns_name: _, ...older } = Schema.encodeSync(PodView)(toPodView(pod, "worker-1"))
    expect(Schema.decodeUnknownSync(PodView)(older).dns_name).toBeNull()
  })

  it("a pod that exited shows its exit code, reason and times", () => {
    const view = toPodView(
      new PodRecord({ ...pod, exitCode: 137, reason: "OOMKilled", lastExitAtMs: CREATED + 5000, health: "unhealthy", startedAtMs: CREATED + 6000 }),
      "worker-1"
    )
    expect(view).toMatchObject({
      exit_code: 137,
      reason: "OOMKilled",
      last_exit_at: "2026-01-02T03:04:10.000Z",
      health: "unhealthy",
      started_at: "2026-01-02T03:04:11.000Z"
    })
  })

  it("an unscheduled pod shows nulls and why it waits", () => {
    const waiting = new PodRecord({
      ...pod,
      nodeId: null,
      containerId: null,
      containerIp: null,
      status: "pending",
      message: "no node can run this pod: no nodes are registered"
    })
    const view = toPodView(waiting, null)
    expect(view).toMatchObject({ node: null, node_id: null, container_id: null, container_ip: null, status: "pending" })
    expect(view.message).toBe("no node can run this pod: no nodes are registered")
  })

  it("a deployment shows desired and ready replicas, its status and its spec as JSON", () => {
    const view = toDeploymentView(deployment, pods("running", "creating"), "pending")
    const json = JSON.parse(JSON.stringify(Schema.encodeSync(DeploymentView)(view)))
    expect(json).toMatchObject({
      id: "dep-1",
      project: "shop",
      name: "api",
      image: "nginx:1.27",
      replicas: 2,
      ready_replicas: 1,
      status: "pending",
      created_at: "2026-01-02T03:04:05.000Z",
      updated_at: "2026-01-02T03:04:06.000Z"
    })
    expect(json.spec).toMatchObject({ project: "shop", deployment: { name: "api" }, replicas: 2, restart: "always" })
    expect(Schema.decodeUnknownSync(DeploymentView)(json).spec).toEqual(spec)
  })
})
