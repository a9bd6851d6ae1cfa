// ContainerRuntime on a Docker engine through dockerode (socket from DaemonConfig.dockerSocket or given).
// Every call is interruptible (its AbortSignal is wired to the fiber) and maps errors to the port's tags.
import * as NodeStream from "@effect/platform-node/NodeStream"
import Docker from "dockerode"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { Chunk, Clock, Data, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import {
  ContainerNameInUse,
  ContainerNotFound,
  ContainerRuntime,
  ExecTimedOut,
  ImageNotFound,
  Labels,
  NetworkUnavailable,
  MANAGED_BY,
  parseImageRef,
  RuntimeError,
  RuntimeUnavailable,
  type ContainerEvent,
  type ContainerInfo,
  type ContainerSpec,
  type ContainerState,
  type EngineError,
  type ManagedNetwork,
  type NetworkOptions
} from "../../services/workload/ContainerRuntime.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"

/** Inside `run`: the network the container was to join is gone (the engine said 404 about it). */
class NetworkMissing extends Data.TaggedError("NetworkMissing")<{ readonly detail: string }> {}

/** Socket errors that mean "no engine here", as opposed to an engine that said no. */
const unreachableCodes = new Set([
  "ENOENT", "ECONNREFUSED", "EACCES", "EPERM", "ENOTFOUND", "EHOSTUNREACH", "ETIMEDOUT", "ECONNRESET", "EPIPE"
])

interface DockerFailure {
  readonly code?: unknown
  readonly statusCode?: unknown
  readonly json?: unknown
  readonly message?: unknown
}

const statusOf = (cause: unknown): number | undefined => {
  const status = (cause as DockerFailure | null)?.statusCode
  return typeof status === "number" ? status : undefined
}

/** The engine's own sentence when there is one; docker-modem's message wraps it in HTTP noise. */
const detailOf = (cause: unknown): string => {
  const failure = cause as DockerFailure | null
  const json = failure?.json
  if (typeof json === "object" && json !== null && typeof (json as { message?: unknown }).message === "string") {
    return ((json as { message: string }).message).trim()
  }
  if (typeof json === "string" && json.trim() !== "") return json.trim()
  if (typeof failure?.message === "string") return failure.message
  return String(cause)
}

/** Connection options from "/path.sock", "unix:///path.sock", "tcp://host:port" or "http://host:port". */
const connectOptions = (socket: string): Docker.DockerOptions => {
  const match = /^(?:tcp|http):\/\/([^:/]+)(?::(\d+))?\/?$/.exec(socket)
  if (match !== null) return { host: match[1]!, port: Number(match[2] ?? 2375), protocol: "http" }
  return { socketPath: socket.replace(/^unix:\/\//, "") }
}

const states = new Set<ContainerState>(["created", "running", "paused", "restarting", "removing", "exited", "dead"])

/** Docker writes "0001-01-01T00:00:00Z" for "never". */
const timeOf = (iso: string | undefined): number | undefined => {
  if (iso === undefined || iso.startsWith("0001-")) return undefined
  const ms = Date.parse(iso)
  return Number.isNaN(ms) ? undefined : ms
}

const toInfo = (i: Docker.ContainerInspectInfo): ContainerInfo => {
  const networks: Record<string, string> = {}
  for (const [name, net] of Object.entries(i.NetworkSettings?.Networks ?? {})) networks[name] = net.IPAddress ?? ""
  const state = i.State.Status as ContainerState
  return {
    id: i.Id,
    name: i.Name.replace(/^\//, ""),
    image: i.Config.Image,
    labels: i.Config.Labels ?? {},
    state: states.has(state) ? state : "dead",
    exitCode: i.State.ExitCode,
    oomKilled: i.State.OOMKilled,
    startedAtMs: timeOf(i.State.StartedAt),
    finishedAtMs: timeOf(i.State.FinishedAt),
    networks
  }
}

/**
 * Docker's multiplexed log format: frames of [stream, 0, 0, 0, size (u32 BE)] + payload. Chunks from
 * the socket cut frames anywhere, so this carries the unfinished tail over to the next chunk.
 */
export const demuxFrames = (
  pending: Uint8Array,
  chunk: Uint8Array
): readonly [rest: Uint8Array, payloads: ReadonlyArray<Uint8Array>] => {
  const buffer = pending.length === 0 ? chunk : Buffer.concat([pending, chunk])
  const payloads: Array<Uint8Array> = []
  let offset = 0
  while (buffer.length - offset >= 8) {
    const size = new DataView(buffer.buffer, buffer.byteOffset + offset + 4, 4).getUint32(0, false)
    if (buffer.length - offset - 8 < size) break
    if (size > 0) payloads.push(buffer.subarray(offset + 8, offset + 8 + size))
    offset += 8 + size
  }
  return [buffer.subarray(offset), payloads]
}

const demux = <E>(raw: Stream.Stream<Uint8Array, E>): Stream.Stream<Uint8Array, E> =>
  raw.pipe(
    Stream.mapAccum(new Uint8Array(0) as Uint8Array, (pending, chunk) => demuxFrames(pending, chunk)),
    Stream.mapConcatChunk((payloads) => Chunk.unsafeFromArray(payloads.slice()))
  )

/** Build a ContainerRuntime talking to the engine at `socket`. */
export const make = (socket: string) => {
  const docker = new Docker(connectOptions(socket))

  const classify = (op: string) => (cause: unknown): EngineError => {
    const code = (cause as DockerFailure | null)?.code
    return typeof code === "string" && unreachableCodes.has(code)
      ? new RuntimeUnavailable({ socket, detail: detailOf(cause) })
      : new RuntimeError({ op, detail: detailOf(cause) })
  }

  /**
   * One engine call. `onStatus` turns specific HTTP statuses into results or typed failures
   * (404 = gone, 304 = already stopped...); everything else is classified.
   */
  const call = <A, B = A, E = never>(
    op: string,
    f: (signal: AbortSignal) => Promise<A>,
    onStatus?: (status: number, detail: string) => Effect.Effect<B, E> | undefined
  ): Effect.Effect<A | B, E | EngineError> =>
    Effect.tryPromise({ try: f, catch: (cause) => cause }).pipe(
      Effect.catchAll((cause): Effect.Effect<B, E | EngineError> => {
        const status = statusOf(cause)
        const handled = status !== undefined && onStatus !== undefined ? onStatus(status, detailOf(cause)) : undefined
        return handled ?? Effect.fail(classify(op)(cause))
      })
    )

  const inspect = (id: string) =>
    call(
      "inspect container",
      (abortSignal) => docker.getContainer(id).inspect({ abortSignal }),
      (status) => (status === 404 ? Effect.fail(new ContainerNotFound({ id })) : undefined)
    ).pipe(Effect.map(toInfo))

  const imagePresent = (ref: string) =>
    call(
      "inspect image",
      () => docker.getImage(ref).inspect().then(() => true),
      (status) => (status === 404 ? Effect.succeed(false) : undefined)
    )

  /** The pull reports failures inside its progress stream as well as by status, so follow it to the end. */
  const pull = (ref: string) => {
    const { repository, tag, digest } = parseImageRef(ref)
    return call("pull", (abortSignal) =>
      docker.createImage({ fromImage: repository, tag: digest ?? tag ?? "latest", abortSignal })
        .then((progress) =>
          new Promise<void>((resolve, reject) =>
            docker.modem.followProgress(progress, (err) => (err ? reject(err) : resolve()))
          )
        ))
  }

  const ensureImage = (ref: string): Effect.Effect<void, ImageNotFound | EngineError> =>
    imagePresent(ref).pipe(
      Effect.flatMap((present) =>
        present
          ? Effect.void
          : pull(ref).pipe(
            Effect.catchTag("RuntimeError", (e) => Effect.fail(new ImageNotFound({ image: ref, detail: e.detail })))
          )
      ),
      Effect.withSpan("ContainerRuntimeDocker.ensureImage", { attributes: { ref } })
    )

  // Creating the same network twice from this process would race the engine's duplicate check.
  const networkLock = Effect.unsafeMakeSemaphore(1)

  // name -> id of the network this runtime settled on (containers attach by id, never by a possibly ambiguous name)
  const networkIds = new Map<string, string>()
  const exactly = (name: string) =>
    call("list networks", (abortSignal) =>
      docker.listNetworks({ filters: { name: [name] }, abortSignal } as Docker.NetworkListOptions)).pipe(
        // the engine's name filter matches substrings: compare exactly; lowest id first, the same order everywhere
        Effect.map((all) => all.filter((n) => n.Name === name).sort((a, b) => (a.Id < b.Id ? -1 : 1)))
      )

  // name -> the options it was last ensured with, to make it again when it vanished under a run
  const networkOptions = new Map<string, NetworkOptions>()

  const createNetwork = (name: string, options: NetworkOptions) =>
    call(
      "create network",
      (abortSignal) =>
        docker.createNetwork({
          Name: name,
          Driver: "bridge",
          CheckDuplicate: true,
          Labels: { [Labels.managedBy]: MANAGED_BY },
          ...(options.subnet === undefined
            ? {}
            : {
              IPAM: {
                Driver: "default",
                Config: [{ Subnet: options.subnet, ...(options.gateway === undefined ? {} : { Gateway: options.gateway }) }]
              }
            }),
          ...(options.mtu === undefined ? {} : { Options: { "com.docker.network.driver.mtu": String(options.mtu) } }),
          abortSignal
        } as Docker.NetworkCreateOptions),
      (status) => (status === 409 ? Effect.void : undefined) // someone else (another node) won the race
    ).pipe(
      Effect.catchTag("RuntimeError", (e) => Effect.fail(new NetworkUnavailable({ network: name, detail: e.detail })))
    )

  const ensureNetwork = (name: string, options: NetworkOptions = {}): Effect.Effect<void, NetworkUnavailable | EngineError> =>
    // known from an earlier call: no engine round trip per pod (forgotten when a create fails)
    networkIds.has(name) ? Effect.void : networkLock.withPermits(1)(hostLock(`network-${name}`, Effect.gen(function*() {
      networkOptions.set(name, options)
      let existing = yield* exactly(name)
      if (existing.length === 0) {
        yield* createNetwork(name, options)
        existing = yield* exactly(name)
      }
      // Nodes sharing one engine can race past the engine's best-effort duplicate check and create the
      // same name twice; every node keeps the lowest id and drops the others, so the name stays unambiguous.
      const [keep, ...extra] = existing
      for (const duplicate of extra) {
        yield* Effect.tryPromise(() => docker.getNetwork(duplicate.Id).remove()).pipe(Effect.ignore)
      }
      if (keep !== undefined) networkIds.set(name, keep.Id)
    })))

  const listNetworks: Effect.Effect<ReadonlyArray<ManagedNetwork>, EngineError> = Effect.gen(function*() {
    const label = `${Labels.managedBy}=${MANAGED_BY}`
    const networks = yield* call("list networks", (abortSignal) =>
      docker.listNetworks({ filters: { label: [label] }, abortSignal } as Docker.NetworkListOptions))
    // the network list leaves Containers empty: count from the containers' side (running or not)
    const containers = yield* call("list containers", (abortSignal) =>
      docker.listContainers({ all: true, filters: { label: [label] }, abortSignal }))
    const attached = new Map<string, number>()
    for (const c of containers) {
      for (const [net, endpoint] of Object.entries(c.NetworkSettings?.Networks ?? {})) {
        attached.set(net, (attached.get(net) ?? 0) + 1)
        const id = (endpoint as { NetworkID?: string }).NetworkID
        if (id !== undefined && id !== "") attached.set(id, (attached.get(id) ?? 0) + 1)
      }
    }
    return networks.map((n) => ({
      name: n.Name,
      createdAtMs: Date.parse(n.Created),
      containers: Math.max(attached.get(n.Name) ?? 0, attached.get(n.Id) ?? 0)
    }))
  }).pipe(Effect.withSpan("ContainerRuntimeDocker.listNetworks"))

  const removeNetwork = (name: string): Effect.Effect<boolean, EngineError> =>
    networkLock.withPermits(1)(hostLock(`network-${name}`, Effect.gen(function*() {
      networkIds.delete(name)
      const all = yield* exactly(name)
      let removed = false
      for (const n of all) {
        const gone = yield* call(
          "remove network",
          (abortSignal) => docker.getNetwork(n.Id).remove({ abortSignal }).then(() => true),
          // 404: gone already; 403/409: the engine still has endpoints on it (a container started meanwhile)
          (status) => (status === 404 || status === 403 || status === 409 ? Effect.succeed(false) : undefined)
        )
        removed = removed || gone
      }
      return removed
    }))).pipe(Effect.withSpan("ContainerRuntimeDocker.removeNetwork", { attributes: { name } }))

  const createOptions = (spec: ContainerSpec): Docker.ContainerCreateOptions => {
    const exposed: Record<string, {}> = {}
    const bindings: Record<string, Array<{ HostPort: string }>> = {}
    for (const port of spec.ports) {
      exposed[`${port}/tcp`] = {}
      if (spec.publishPorts) bindings[`${port}/tcp`] = [{ HostPort: String(port) }]
    }
    const binds = spec.volumes.map((v) =>
      `${v._tag === "Named" ? v.name : v.hostPath}:${v.mount}${v.readonly ? ":ro" : ""}`
    )
    const hostConfig: Docker.HostConfig = {
      NetworkMode: networkIds.get(spec.network) ?? spec.network,
      PortBindings: bindings,
      Binds: binds,
      // Helyos applies restart policies itself (backoff, crash loop); the engine must never restart.
      RestartPolicy: { Name: "no" },
      // a tiny init as PID 1 forwards SIGTERM and reaps zombies, so stops are prompt and clean
      Init: true,
      ...(spec.cpu > 0 ? { NanoCpus: Math.round(spec.cpu * 1e9) } : {}),
      // MemorySwap = Memory: no swap on top of the limit, so an over-limit container is OOM-killed.
      ...(spec.memoryBytes > 0 ? { Memory: spec.memoryBytes, MemorySwap: spec.memoryBytes } : {}),
      // the node's resolver behind Docker's own 127.0.0.11 (which forwards to it from the container's namespace)
      ...(spec.dns === undefined
        ? {}
        : { Dns: [...spec.dns.servers], DnsSearch: [...spec.dns.search], DnsOptions: [...spec.dns.options] })
    }
    return {
      name: spec.name,
      Image: spec.image,
      ...(spec.command.length > 0 ? { Cmd: [...spec.command] } : {}),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: { ...spec.labels },
      ExposedPorts: exposed,
      HostConfig: hostConfig,
      NetworkingConfig: { EndpointsConfig: { [networkIds.get(spec.network) ?? spec.network]: {} } }
    }
  }

  const remove = (id: string): Effect.Effect<void, EngineError> =>
    call(
      "remove container",
      (abortSignal) => docker.getContainer(id).remove({ force: true, v: true, abortSignal }),
      // gone already, or its removal is already in progress
      (status) => (status === 404 || status === 409 ? Effect.void : undefined)
    ).pipe(Effect.asVoid)

  const createContainer = (spec: ContainerSpec) =>
    call(
      "create container",
      () => docker.createContainer(createOptions(spec)),
      (status, detail): Effect.Effect<never, ContainerNameInUse | ImageNotFound | NetworkMissing> | undefined =>
        status === 409
          ? Effect.fail(new ContainerNameInUse({ name: spec.name }))
          : status === 404 && /no such image/i.test(detail)
          ? Effect.fail(new ImageNotFound({ image: spec.image, detail }))
          : status === 404 && /network/i.test(detail)
          ? Effect.fail(new NetworkMissing({ detail }))
          : undefined
    )

  const run = (spec: ContainerSpec) =>
    Effect.gen(function*() {
      const container = yield* createContainer(spec).pipe(
        // the network was removed behind our back (another node on this engine found it unused): make it again, once
        Effect.catchTag("NetworkMissing", (missing) =>
          Effect.gen(function*() {
            networkIds.delete(spec.network)
            yield* ensureNetwork(spec.network, networkOptions.get(spec.network)).pipe(
              Effect.mapError((e) => new RuntimeError({ op: "create container", detail: `${missing.detail}; ${e.message}` }))
            )
            return yield* createContainer(spec).pipe(
              Effect.catchTag("NetworkMissing", (again) => Effect.fail(new RuntimeError({ op: "create container", detail: again.detail })))
            )
          }))
      )
      // A container that was created but cannot start would be an orphan: remove it before failing.
      yield* call("start container", (abortSignal) => container.start({ abortSignal })).pipe(
        Effect.tapError(() => remove(container.id).pipe(Effect.ignore))
      )
      const info = yield* inspect(container.id).pipe(
        Effect.catchTag("ContainerNotFound", () =>
          Effect.fail(new RuntimeError({ op: "start container", detail: "the container vanished right after start" })))
      )
      return { id: container.id, ip: info.networks[spec.network] ?? "" }
    }).pipe(
      // the network may have been removed behind our back: look it up again next time
      Effect.tapError(() => Effect.sync(() => networkIds.delete(spec.network))),
      Effect.withSpan("ContainerRuntimeDocker.run", { attributes: { name: spec.name } })
    )

  const stop = (id: string, grace: Duration.Duration) =>
    call(
      "stop container",
      (abortSignal) =>
        docker.getContainer(id).stop({ t: Math.ceil(Duration.toMillis(grace) / 1000), abortSignal }),
      (status) => (status === 304 || status === 404 ? Effect.void : undefined)
    ).pipe(Effect.asVoid)

  const listManaged = (nodeName: string) =>
    call("list containers", (abortSignal) =>
      docker.listContainers({
        all: true,
        filters: { label: [`${Labels.managedBy}=${MANAGED_BY}`, `${Labels.node}=${nodeName}`] },
        abortSignal
      })).pipe(
        Effect.flatMap((summaries) =>
          Effect.forEach(
            summaries,
            (s) => inspect(s.Id).pipe(Effect.asSome, Effect.catchTag("ContainerNotFound", () => Effect.succeedNone)),
            { concurrency: 4 }
          )
        ),
        Effect.map((infos) => infos.flatMap(Option.toArray))
      )

  const logs = (id: string, options: { readonly tail: number; readonly follow: boolean }) =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      const base = {
        stdout: true,
        stderr: true,
        ...(options.tail > 0 ? { tail: options.tail } : {}),
        abortSignal: controller.signal
      }
      const notFound = (status: number) => (status === 404 ? Effect.fail(new ContainerNotFound({ id })) : undefined)
      if (!options.follow) {
        const buffer = yield* call("logs", () => docker.getContainer(id).logs({ ...base, follow: false }), notFound)
        return demux(Stream.succeed(new Uint8Array(buffer)))
      }
      const readable = yield* call("logs", () => docker.getContainer(id).logs({ ...base, follow: true }), notFound)
      return demux(NodeStream.fromReadable(() => readable, classify("logs")))
    }))

  const events = (nodeName: string): Stream.Stream<ContainerEvent, EngineError> =>
    Stream.unwrapScoped(Effect.gen(function*() {
      const controller = yield* Effect.acquireRelease(
        Effect.sync(() => new AbortController()),
        (c) => Effect.sync(() => c.abort())
      )
      const readable = yield* call("events", () =>
        docker.getEvents({
          filters: {
            type: ["container"],
            event: ["start", "die", "oom", "destroy"],
            label: [`${Labels.managedBy}=${MANAGED_BY}`, `${Labels.node}=${nodeName}`]
          },
          abortSignal: controller.signal
        } as Parameters<typeof docker.getEvents>[0]))
      return NodeStream.fromReadable(() => readable, classify("events")).pipe(
        Stream.decodeText(),
        Stream.splitLines,
        Stream.filterMap((line) => {
          try {
            const e = JSON.parse(line) as { Action?: string; Actor?: { ID?: string; Attributes?: Record<string, string> } }
            const action = e.Action
            if (action !== "start" && action !== "die" && action !== "oom" && action !== "destroy") return Option.none()
            return Option.some({ id: e.Actor?.ID ?? "", action, labels: e.Actor?.Attributes ?? {} })
          } catch {
            return Option.none()
          }
        })
      )
    }))

  /** The exec's output is not needed, only its end: drain it, resolve on end/close, destroy on interrupt. */
  const drained = (stream: NodeJS.ReadableStream & { destroy?: () => void }) =>
    Effect.async<void, EngineError>((resume) => {
      stream.on("end", () => resume(Effect.void))
      stream.on("close", () => resume(Effect.void))
      stream.on("error", (cause) => resume(Effect.fail(classify("exec")(cause))))
      stream.resume()
      return Effect.sync(() => stream.destroy?.())
    })

  const exec = (id: string, command: ReadonlyArray<string>, timeout: Duration.Duration) =>
    Effect.gen(function*() {
      const execution = yield* call(
        "exec",
        (abortSignal) => docker.getContainer(id).exec({ Cmd: [...command], AttachStdout: true, AttachStderr: true, abortSignal }),
        (status) => (status === 404 ? Effect.fail(new ContainerNotFound({ id })) : undefined)
      )
      const output = yield* call("exec", (abortSignal) => execution.start({ hijack: true, stdin: false, abortSignal }))
      yield* drained(output)
      // the stream ends with the process; the engine records the exit code a moment later at worst
      const finished = yield* call("exec", (abortSignal) => execution.inspect({ abortSignal })).pipe(
        Effect.filterOrFail((info) => !info.Running, () => new RuntimeError({ op: "exec", detail: "still running" })),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.intersect(Schedule.recurs(50))))
      )
      return finished.ExitCode ?? -1
    }).pipe(
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => new ExecTimedOut({ command, timeout: Duration.format(timeout) })
      }),
      Effect.withSpan("ContainerRuntimeDocker.exec", { attributes: { id } })
    )

  return ContainerRuntime.of({
    // the typings miss ping's options; dockerode 5 accepts { abortSignal }
    ping: call("ping", (abortSignal) =>
      (docker as unknown as { ping(o: { abortSignal: AbortSignal }): Promise<unknown> }).ping({ abortSignal })).pipe(
        Effect.asVoid
      ),
    ensureImage,
    ensureNetwork,
    listNetworks,
    removeNetwork,
    run,
    stop,
    remove,
    listManaged,
    inspect,
    logs,
    events,
    exec
  })
}

/**
 * A lock shared by every Helyos process on this host (an atomic mkdir in the temp dir). Nodes sharing
 * one engine would otherwise race past the engine's best-effort duplicate check and create two networks
 * with the same name, which makes the name unusable. A lock older than 30 s is taken as abandoned.
 */
const hostLock = <A, E>(key: string, effect: Effect.Effect<A, E>): Effect.Effect<A, E> => {
  const dir = path.join(os.tmpdir(), `helyos-${key.replace(/[^A-Za-z0-9_.-]/g, "_")}.lock`)
  const tryTake = Effect.flatMap(Clock.currentTimeMillis, (now) => Effect.sync(() => {
    try {
      fs.mkdirSync(dir)
      return true
    } catch {
      try {
        if (now - fs.statSync(dir).mtimeMs > 30_000) fs.rmdirSync(dir)
      } catch { /* released meanwhile */ }
      return false
    }
  }))
  const acquire = tryTake.pipe(
    Effect.flatMap((taken) => (taken ? Effect.void : Effect.fail("busy" as const))),
    Effect.retry(Schedule.spaced("50 millis").pipe(Schedule.upTo("30 seconds"))),
    Effect.orElse(() => Effect.void) // give up waiting: proceed, the duplicate sweep still runs
  )
  return Effect.acquireUseRelease(acquire, () => effect, () => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
}

/** The runtime on an explicit engine socket (tests, tools). Nothing is contacted until the first call. */
export const layerWith = (socket: string): Layer.Layer<ContainerRuntime> =>
  Layer.sync(ContainerRuntime, () => make(socket))

/** The daemon's runtime: the engine at DaemonConfig.dockerSocket. */
export const layer: Layer.Layer<ContainerRuntime, never, DaemonConfig> = Layer.effect(
  ContainerRuntime,
  Effect.map(DaemonConfig, (config) => make(config.dockerSocket))
)
