// Records for the DNS tests: a small cluster of two nodes and three projects.
import { NodeId } from "../../../src/domain/Node.js"
import { PodId } from "../../../src/domain/Workload.js"
import type { DnsRecord } from "../../../src/domain/dns/Records.js"

export const nodeA = NodeId.make("node-a")
export const nodeB = NodeId.make("node-b")

let counter = 0

/** A ready pod of `deployment.project` with replica index `replicaIndex` on node A, unless told otherwise. */
export const pod = (
  project: string,
  deployment: string,
  replicaIndex: number,
  ipv4: string,
  extra: Partial<Omit<DnsRecord, "project" | "deployment" | "replicaIndex" | "ipv4">> = {}
): DnsRecord => ({
  podId: PodId.make(`${project}-${deployment}-${replicaIndex}-${++counter}`),
  project,
  deployment,
  replicaIndex,
  nodeId: nodeA,
  nodeName: "a",
  ipv4,
  ready: true,
  ...extra
})

/**
 * shop: web ×3 (web-1 not ready; web-2 on node B, with an IPv6 address), db ×1;
 * billing: web ×1, api ×1; lab: web-1 (a deployment whose own name ends in -1) and web ×2.
 */
export const cluster = (): ReadonlyArray<DnsRecord> => [
  pod("shop", "web", 0, "10.1.0.10"),
  pod("shop", "web", 1, "10.1.0.11", { ready: false }),
  pod("shop", "web", 2, "10.2.0.12", { nodeId: nodeB, nodeName: "b", ipv6: "fd00::12" }),
  pod("shop", "db", 0, "10.1.0.20"),
  pod("billing", "web", 0, "10.1.1.10"),
  pod("billing", "api", 0, "10.1.1.20"),
  pod("lab", "web-1", 0, "10.1.2.10"),
  pod("lab", "web", 0, "10.1.2.20"),
  pod("lab", "web", 1, "10.1.2.21")
]
