// A pod's container as the engine runs it: its name, its ContainerSpec (labels for fencing), and which
// of the engine's containers for the pod is "the" one.
import { containerName } from "../../../domain/Workload.js"
import type { PodAssignment } from "../../../domain/PodAssignment.js"
import {
  type ContainerInfo,
  type ContainerSpec,
  Labels,
  MANAGED_BY,
  projectNetwork
} from "../../../services/workload/ContainerRuntime.js"
import type { PodState } from "./PodState.js"

export const containerNameOf = (pod: PodAssignment): string =>
  pod.containerName !== "" ? pod.containerName : containerName(pod.project, pod.deployment, pod.replicaIndex, pod.podId)

export const specOf = (pod: PodAssignment, nodeName: string, name: string): ContainerSpec => ({
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
  memoryBytes: pod.memoryBytes
})

/** The container that is the pod: the one we started, else a running one, else the latest. */
export const pickCurrent = (state: PodState, containers: ReadonlyArray<ContainerInfo>): ContainerInfo | undefined =>
  containers.find((c) => c.id === state.containerId) ??
    containers.find((c) => c.state === "running") ??
    [...containers].sort((a, b) => (b.startedAtMs ?? 0) - (a.startedAtMs ?? 0))[0]
