// A pod's container as the engine runs it: its name, its ContainerSpec (labels for fencing), and which
// of the engine's containers for the pod is "the" one.
import { searchDomain } from "../../../domain/dns/Names.js"
import { containerName } from "../../../domain/Workload.js"
import type { PodAssignment } from "../../../domain/PodAssignment.js"
import {
  type ContainerDns,
  type ContainerInfo,
  type ContainerSpec,
  Labels,
  MANAGED_BY,
  projectNetwork
} from "../../../services/workload/ContainerRuntime.js"
import type { PodState } from "./PodState.js"

export const containerNameOf = (pod: PodAssignment): string =>
  pod.containerName !== "" ? pod.containerName : containerName(pod.project, pod.deployment, pod.replicaIndex, pod.podId)

/**
 * The container's DNS with `--dns-mode embedded`: this node's resolver behind Docker's 127.0.0.11,
 * the pod's project as search domain (a short name `api` is `api.<project>.internal`) and ndots:1,
 * so a dotted name is tried as it is first and musl and glibc alike use the search list for the rest.
 */
export const podDns = (project: string, resolverIp: string): ContainerDns => ({
  servers: [resolverIp],
  search: [searchDomain(project)],
  options: ["ndots:1"]
})

/** `dnsServer`: this node's resolver address (--dns-mode embedded); undefined: the engine's own DNS only. */
export const specOf = (pod: PodAssignment, nodeName: string, name: string, dnsServer?: string): ContainerSpec => ({
  name,
  image: pod.image,
  command: pod.command,
  env: pod.env,
  ports: pod.ports,
  publishPorts: pod.publishPorts,
  volumes: pod.volumes.map((v) =>
    v.hostPath !== ""
      ? { _tag: "Bind" as const, hostPath: v.hostPath, mount: v.mount, readonly: v.readonly }
      : { _tag: "Named" as const, name: v.name, mount: v.mount, readonly: v.readonly }
  ),
  network: projectNetwork(pod.project),
  labels: {
    [Labels.managedBy]: MANAGED_BY,
    [Labels.project]: pod.project,
    [Labels.deployment]: pod.deployment,
    [Labels.podId]: pod.podId,
    [Labels.node]: nodeName
  },
  cpu: pod.cpu,
  memoryBytes: pod.memoryBytes,
  ...(dnsServer === undefined ? {} : { dns: podDns(pod.project, dnsServer) })
})

/** The container that is the pod: the one we started, else a running one, else the latest. */
export const pickCurrent = (state: PodState, containers: ReadonlyArray<ContainerInfo>): ContainerInfo | undefined =>
  containers.find((c) => c.id === state.containerId) ??
    containers.find((c) => c.state === "running") ??
    [...containers].sort((a, b) => (b.startedAtMs ?? 0) - (a.startedAtMs ?? 0))[0]
