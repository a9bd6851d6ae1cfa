// Containers on this host (the port): images, the project network, run/stop/remove, list, logs, events, exec.
// Implemented by ContainerRuntimeDocker (dockerode) and ContainerRuntimeMemory (unit tests, driven through MemoryEngine).
import { Context, Data, type Duration, type Effect, type Stream } from "effect"

/** The engine could not be reached at all (socket missing, refused, no permission). */
export class RuntimeUnavailable extends Data.TaggedError("RuntimeUnavailable")<{
  readonly socket: string
  readonly detail: string
}> {
  override get message() {
    return `cannot reach the Docker engine at ${this.socket}: ${this.detail}`
  }
}

/** The engine answered but refused or failed an operation. */
export class RuntimeError extends Data.TaggedError("RuntimeError")<{
  readonly op: string
  readonly detail: string
}> {
  override get message() {
    return `${this.op} failed: ${this.detail}`
  }
}

/** Not present locally and the pull failed (no registry, unknown name, no access). */
export class ImageNotFound extends Data.TaggedError("ImageNotFound")<{
  readonly image: string
  /** what the engine said about the pull, for logs */
  readonly detail: string
}> {
  override get message() {
    return `image '${this.image}' not found`
  }
}

export class ContainerNotFound extends Data.TaggedError("ContainerNotFound")<{
  readonly id: string
}> {
  override get message() {
    return `container '${this.id}' not found`
  }
}

/** Another container already has this name (it may belong to another node sharing the engine). */
export class ContainerNameInUse extends Data.TaggedError("ContainerNameInUse")<{
  readonly name: string
}> {
  override get message() {
    return `container name '${this.name}' is already in use`
  }
}

/** A command run inside a container (a health probe) did not finish in time. */
export class ExecTimedOut extends Data.TaggedError("ExecTimedOut")<{
  readonly command: ReadonlyArray<string>
  readonly timeout: string
}> {
  override get message() {
    return `'${this.command.join(" ")}' did not finish within ${this.timeout}`
  }
}

/**
 * The engine would not create a project network (no free address pool, a subnet that overlaps another
 * network, a bad option). One line: it ends up as the pod's message and in `helyos ps`.
 */
export class NetworkUnavailable extends Data.TaggedError("NetworkUnavailable")<{
  readonly network: string
  readonly detail: string
}> {
  override get message() {
    return `cannot create network ${this.network}: ${this.detail.replace(/\s*\n\s*/g, " ").trim()}`
  }
}

export type EngineError = RuntimeUnavailable | RuntimeError

/** Labels every Helyos container carries; the node label is what fencing relies on. */
export const Labels = {
  managedBy: "managed-by",
  project: "helyos.project",
  deployment: "helyos.deployment",
  podId: "helyos.pod-id",
  node: "helyos.node"
} as const

export const MANAGED_BY = "helyos"

/** The bridge network all containers of a project share. */
export const projectNetwork = (project: string): string => `helyos-${project}`

/** How a project network is made when it does not exist yet (absent fields: the engine's defaults). */
export interface NetworkOptions {
  /** IPv4 CIDR, e.g. 10.42.3.0/24 (the overlay's allocation for this node and project) */
  readonly subnet?: string | undefined
  readonly gateway?: string | undefined
  /** the bridge's MTU (com.docker.network.driver.mtu) */
  readonly mtu?: number | undefined
}

/** A network labelled managed-by=helyos, as the engine lists it. */
export interface ManagedNetwork {
  readonly name: string
  /** epoch ms */
  readonly createdAtMs: number
  /** containers labelled managed-by=helyos (any node, running or not) attached to it */
  readonly containers: number
}

export type VolumeMount =
  | { readonly _tag: "Named"; readonly name: string; readonly mount: string; readonly readonly: boolean }
  | { readonly _tag: "Bind"; readonly hostPath: string; readonly mount: string; readonly readonly: boolean }

export interface ContainerSpec {
  readonly name: string
  readonly image: string
  /** empty: the image's own CMD */
  readonly command: ReadonlyArray<string>
  readonly env: Readonly<Record<string, string>>
  /** container ports (tcp); exposed always, bound on the same host port only when publishPorts */
  readonly ports: ReadonlyArray<number>
  readonly publishPorts: boolean
  readonly volumes: ReadonlyArray<VolumeMount>
  /** the network the container joins (and whose IP `run` reports) */
  readonly network: string
  readonly labels: Readonly<Record<string, string>>
  /** cores; 0 = no limit */
  readonly cpu: number
  /** hard limit with no extra swap; 0 = no limit */
  readonly memoryBytes: number
  /**
   * --dns-mode embedded: the node's resolver and the pod's search domain. On a user-defined network
   * Docker keeps its own 127.0.0.11 in the container's resolv.conf and forwards what it does not know
   * itself to `servers`, from the container's namespace, on port 53; `search` and `options` go into
   * resolv.conf as they are. Absent: the engine's defaults.
   */
  readonly dns?: ContainerDns | undefined
}

export interface ContainerDns {
  readonly servers: ReadonlyArray<string>
  readonly search: ReadonlyArray<string>
  readonly options: ReadonlyArray<string>
}

export type ContainerState = "created" | "running" | "paused" | "restarting" | "removing" | "exited" | "dead"

export interface ContainerInfo {
  readonly id: string
  /** without Docker's leading '/' */
  readonly name: string
  readonly image: string
  readonly labels: Readonly<Record<string, string>>
  readonly state: ContainerState
  readonly exitCode: number
  readonly oomKilled: boolean
  /** epoch ms; undefined when never started / not finished */
  readonly startedAtMs: number | undefined
  readonly finishedAtMs: number | undefined
  /** IP per attached network */
  readonly networks: Readonly<Record<string, string>>
}

/** What the runtime reports as it happens (used to notice exits without waiting for a resync). */
export interface ContainerEvent {
  readonly id: string
  readonly action: "start" | "die" | "oom" | "destroy"
  readonly labels: Readonly<Record<string, string>>
}

export interface LogOptions {
  /** last N lines; 0 = everything */
  readonly tail: number
  /** keep streaming until the container stops (or the stream is interrupted) */
  readonly follow: boolean
}

export class ContainerRuntime extends Context.Tag("helyos/ContainerRuntime")<ContainerRuntime, {
  /** Is the engine there? */
  readonly ping: Effect.Effect<void, EngineError>
  /** Present locally => done; otherwise pull. A failed pull is ImageNotFound. */
  readonly ensureImage: (ref: string) => Effect.Effect<void, ImageNotFound | EngineError>
  /**
   * A bridge network labelled managed-by=helyos; idempotent (also against a concurrent creator). The
   * options apply when it is created; an engine that refuses is NetworkUnavailable.
   */
  readonly ensureNetwork: (
    name: string,
    options?: NetworkOptions
  ) => Effect.Effect<void, NetworkUnavailable | EngineError>
  /** Every network labelled managed-by=helyos on this engine (whichever node made it). */
  readonly listNetworks: Effect.Effect<ReadonlyArray<ManagedNetwork>, EngineError>
  /** Remove a network: true when removed, false when it is gone already or still has containers on it. */
  readonly removeNetwork: (name: string) => Effect.Effect<boolean, EngineError>
  /** Create and start; reports the IP on spec.network. No engine restart policy is set: Helyos restarts. */
  readonly run: (spec: ContainerSpec) => Effect.Effect<
    { readonly id: string; readonly ip: string },
    ContainerNameInUse | ImageNotFound | EngineError
  >
  /** SIGTERM, then SIGKILL after grace. Already stopped or gone is fine. */
  readonly stop: (id: string, grace: Duration.Duration) => Effect.Effect<void, EngineError>
  /** Force-remove (with anonymous volumes). Already gone is fine. */
  readonly remove: (id: string) => Effect.Effect<void, EngineError>
  /** Containers labelled managed-by=helyos AND helyos.node=nodeName, running or not. */
  readonly listManaged: (nodeName: string) => Effect.Effect<ReadonlyArray<ContainerInfo>, EngineError>
  /** By id or name. */
  readonly inspect: (id: string) => Effect.Effect<ContainerInfo, ContainerNotFound | EngineError>
  /** stdout and stderr, demultiplexed, as raw bytes. */
  readonly logs: (id: string, options: LogOptions) => Stream.Stream<Uint8Array, ContainerNotFound | EngineError>
  /** start/die/oom/destroy of this node's managed containers, from now on. */
  readonly events: (nodeName: string) => Stream.Stream<ContainerEvent, EngineError>
  /**
   * Run a command inside a running container and wait for it: its exit code. Past `timeout` it fails
   * with ExecTimedOut (the engine cannot kill an exec'd process; it may linger until it ends).
   */
  readonly exec: (
    id: string,
    command: ReadonlyArray<string>,
    timeout: Duration.Duration
  ) => Effect.Effect<number, ContainerNotFound | ExecTimedOut | EngineError>
}>() {}

export interface ImageRef {
  /** registry host (with port), or undefined for the default registry */
  readonly registry: string | undefined
  /** repository path including the registry host, as the engine's fromImage wants it */
  readonly repository: string
  readonly tag: string | undefined
  readonly digest: string | undefined
}

/**
 * Split an image reference. The tag is the part after a ':' in the LAST path segment only, so
 * `localhost:5000/app:1.2` is repository `localhost:5000/app`, tag `1.2` (and `localhost:5000/app`
 * has no tag at all). A first segment is a registry host when it has a '.', a ':' or is `localhost`.
 */
export const parseImageRef = (ref: string): ImageRef => {
  const at = ref.indexOf("@")
  const digest = at >= 0 ? ref.slice(at + 1) : undefined
  const named = at >= 0 ? ref.slice(0, at) : ref
  const lastSlash = named.lastIndexOf("/")
  const colon = named.indexOf(":", lastSlash + 1)
  const repository = colon >= 0 ? named.slice(0, colon) : named
  const tag = colon >= 0 ? named.slice(colon + 1) : undefined
  const firstSlash = repository.indexOf("/")
  const first = firstSlash >= 0 ? repository.slice(0, firstSlash) : undefined
  const registry = first !== undefined && (first.includes(".") || first.includes(":") || first === "localhost")
    ? first
    : undefined
  return { registry, repository, tag, digest }
}
