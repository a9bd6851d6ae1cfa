// An in-memory ContainerRuntime for unit tests: containers in a Ref, images present or missing,
// and a control service to simulate what an engine does on its own (exits, OOM kills, outages).
import { Clock, Context, Duration, Effect, Layer, Option, PubSub, Ref, Stream } from "effect"
import {
  ContainerNameInUse,
  ContainerNotFound,
  ContainerRuntime,
  ExecTimedOut,
  ImageNotFound,
  NetworkUnavailable,
  parseImageRef,
  RuntimeError,
  RuntimeUnavailable,
  type ContainerEvent,
  type ContainerInfo,
  type ContainerSpec,
  type NetworkOptions
} from "../../services/workload/ContainerRuntime.js"
import { type ExecBehaviour, type FakeContainer, MemoryEngine } from "../../services/workload/MemoryEngine.js"

export const FAKE_SOCKET = "memory://engine"

interface LogLine {
  readonly seq: number
  readonly data: Uint8Array
}

type LiveLog = { readonly id: string; readonly line: LogLine } | { readonly id: string; readonly end: true }

/** Images are compared the way an engine resolves them: no tag means :latest. */
const imageKey = (ref: string): string => {
  const { repository, tag, digest } = parseImageRef(ref)
  return digest !== undefined ? `${repository}@${digest}` : `${repository}:${tag ?? "latest"}`
}

/** A copy of `map` with `key` set to `value`, or without `key` when `value` is undefined. */
const withEntry = <K, V>(map: ReadonlyMap<K, V>, key: K, value: V | undefined): Map<K, V> => {
  const next = new Map(map)
  if (value === undefined) next.delete(key)
  else next.set(key, value)
  return next
}

const tailLines = (lines: ReadonlyArray<LogLine>, tail: number): ReadonlyArray<LogLine> =>
  tail > 0 ? lines.slice(Math.max(0, lines.length - tail)) : lines

interface FakeNetwork {
  readonly name: string
  /** stable for the network's life: the second octet of its containers' addresses (without a subnet) */
  readonly index: number
  readonly createdAtMs: number
  readonly options: NetworkOptions
}

/** The fake runtime and its control; `images` are present from the start, nothing can be pulled. */
export interface MemoryEngineOptions {
  readonly images?: ReadonlyArray<string>
  /**
   * Container addresses are `<firstOctet>.<network index + 1>.x.y` (default 10); 127 makes them
   * loopback addresses a test can send from (a DNS query "from a pod").
   */
  readonly firstOctet?: number
}

export const make = (options: MemoryEngineOptions = {}) =>
  Effect.gen(function*() {
    const containers = yield* Ref.make(new Map<string, FakeContainer>())
    const logs = yield* Ref.make(new Map<string, ReadonlyArray<LogLine>>())
    const images = yield* Ref.make(new Set((options.images ?? []).map(imageKey)))
    const networks = yield* Ref.make<ReadonlyArray<FakeNetwork>>([])
    const networkSeq = yield* Ref.make(0)
    const networkFailures = yield* Ref.make(new Map<string, string>())
    const calls = yield* Ref.make<ReadonlyArray<string>>([])
    const runFailures = yield* Ref.make(new Map<string, string>())
    const available = yield* Ref.make(true)
    const execBehaviours = yield* Ref.make(new Map<string, ExecBehaviour>())
    const counter = yield* Ref.make(0)
    const logSeq = yield* Ref.make(0)
    const events = yield* PubSub.unbounded<ContainerEvent>()
    const liveLogs = yield* PubSub.unbounded<LiveLog>()

    const record = (call: string) => Ref.update(calls, (all) => [...all, call])
    const engine = Effect.flatMap(Ref.get(available), (up) =>
      up ? Effect.void : Effect.fail(new RuntimeUnavailable({ socket: FAKE_SOCKET, detail: "engine stopped (simulated)" })))

    const find = (idOrName: string) =>
      Effect.map(Ref.get(containers), (all) =>
        Option.fromNullable(all.get(idOrName) ?? [...all.values()].find((c) => c.name === idOrName)))

    const publish = (c: ContainerInfo, action: ContainerEvent["action"]) =>
      PubSub.publish(events, { id: c.id, action, labels: c.labels })

    const newId = Effect.map(Ref.updateAndGet(counter, (n) => n + 1), (n) => n.toString(16).padStart(64, "0"))

    const setState = (id: string, patch: Partial<FakeContainer>) =>
      Ref.update(containers, (all) => {
        const c = all.get(id)
        return c === undefined ? all : new Map(all).set(id, { ...c, ...patch })
      })

    const finish = (c: FakeContainer, exitCode: number, oomKilled: boolean) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        yield* setState(c.id, { state: "exited", exitCode, oomKilled, finishedAtMs: now })
        yield* PubSub.publish(liveLogs, { id: c.id, end: true })
        if (oomKilled) yield* publish(c, "oom")
        yield* publish(c, "die")
      })

    const run = (spec: ContainerSpec) =>
      Effect.gen(function*() {
        yield* engine
        yield* record(`run ${spec.name}`)
        if (Option.isSome(yield* find(spec.name))) return yield* new ContainerNameInUse({ name: spec.name })
        if (!(yield* Ref.get(images)).has(imageKey(spec.image))) {
          return yield* new ImageNotFound({ image: spec.image, detail: "No such image" })
        }
        const net = (yield* Ref.get(networks)).find((n) => n.name === spec.network)
        if (net === undefined) {
          return yield* new RuntimeError({ op: "create container", detail: `network ${spec.network} not found` })
        }
        const failure = (yield* Ref.get(runFailures)).get(spec.name)
        if (failure !== undefined) return yield* new RuntimeError({ op: "start container", detail: failure })
        const id = yield* newId
        const n = yield* Ref.get(counter)
        const subnetBase = net.options.subnet?.split("/")[0]?.split(".").slice(0, 3).join(".")
        const ip = subnetBase !== undefined
          ? `${subnetBase}.${(n % 250) + 2}`
          : `${options.firstOctet ?? 10}.${net.index}.${Math.floor(n / 250)}.${(n % 250) + 2}`
        const now = yield* Clock.currentTimeMillis
        const container: FakeContainer = {
          id,
          name: spec.name,
          image: spec.image,
          labels: { ...spec.labels },
          state: "running",
          exitCode: 0,
          oomKilled: false,
          startedAtMs: now,
          finishedAtMs: undefined,
          networks: { [spec.network]: ip },
          spec
        }
        yield* Ref.update(containers, (all) => new Map(all).set(id, container))
        yield* publish(container, "start")
        return { id, ip }
      })

    const stop = (id: string) =>
      Effect.gen(function*() {
        yield* engine
        yield* record(`stop ${id}`)
        const c = yield* find(id)
        // a stopped process dies of SIGTERM
        if (Option.isSome(c) && c.value.state === "running") yield* finish(c.value, 143, false)
      })

    const remove = (id: string) =>
      Effect.gen(function*() {
        yield* engine
        yield* record(`remove ${id}`)
        const c = yield* find(id)
        if (Option.isNone(c)) return
        if (c.value.state === "running") yield* finish(c.value, 137, false)
        yield* Ref.update(containers, (all) => {
          const next = new Map(all)
          next.delete(c.value.id)
          return next
        })
        yield* publish(c.value, "destroy")
      })

    const inspect = (id: string) =>
      Effect.flatMap(engine, () => find(id)).pipe(
        Effect.flatMap(Option.match({
          onNone: () => Effect.fail(new ContainerNotFound({ id })),
          onSome: (c): Effect.Effect<ContainerInfo> => Effect.succeed(c)
        }))
      )

    const containerLogs = (id: string, options: { readonly tail: number; readonly follow: boolean }) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const c = yield* inspect(id)
        // subscribe before reading the backlog so no line falls in between; seq drops duplicates
        const live = yield* PubSub.subscribe(liveLogs)
        const backlog = tailLines((yield* Ref.get(logs)).get(c.id) ?? [], options.tail)
        const past = Stream.fromIterable(backlog.map((l) => l.data))
        if (!options.follow || c.state !== "running") return past
        const last = backlog.at(-1)?.seq ?? -1
        const upcoming = Stream.fromQueue(live).pipe(
          Stream.filter((m) => m.id === c.id),
          Stream.takeWhile((m) => !("end" in m)),
          Stream.filterMap((m) => ("line" in m && m.line.seq > last ? Option.some(m.line.data) : Option.none()))
        )
        return Stream.concat(past, upcoming)
      }))

    const exec = (id: string, command: ReadonlyArray<string>, timeout: Duration.Duration) =>
      Effect.gen(function*() {
        const c = yield* inspect(id)
        yield* record(`exec ${c.id} ${command.join(" ")}`)
        if (c.state !== "running") {
          return yield* new RuntimeError({ op: "exec", detail: `container ${c.id} is not running` })
        }
        const behaviour = (yield* Ref.get(execBehaviours)).get(c.name)
        return yield* (behaviour === undefined ? Effect.succeed(0) : behaviour(command)).pipe(
          Effect.timeoutFail({ duration: timeout, onTimeout: () => new ExecTimedOut({ command, timeout: Duration.format(timeout) }) })
        )
      })

    const runtime = ContainerRuntime.of({
      ping: engine,
      ensureImage: (ref) =>
        Effect.gen(function*() {
          yield* engine
          if ((yield* Ref.get(images)).has(imageKey(ref))) return
          yield* record(`pull ${ref}`)
          return yield* new ImageNotFound({ image: ref, detail: "no registry in the fake" })
        }),
      ensureNetwork: (name, netOptions = {}) =>
        Effect.gen(function*() {
          yield* engine
          if ((yield* Ref.get(networks)).some((n) => n.name === name)) return
          const failure = (yield* Ref.get(networkFailures)).get(name)
          if (failure !== undefined) return yield* new NetworkUnavailable({ network: name, detail: failure })
          yield* record(`create network ${name}`)
          const index = yield* Ref.updateAndGet(networkSeq, (k) => k + 1)
          const createdAtMs = yield* Clock.currentTimeMillis
          yield* Ref.update(networks, (all) => [...all, { name, index, createdAtMs, options: netOptions }])
        }),
      listNetworks: Effect.zipRight(
        engine,
        Effect.gen(function*() {
          const all = [...(yield* Ref.get(containers)).values()].filter((c) => c.labels["managed-by"] === "helyos")
          return (yield* Ref.get(networks)).map((n) => ({
            name: n.name,
            createdAtMs: n.createdAtMs,
            containers: all.filter((c) => n.name in c.networks).length
          }))
        })
      ),
      removeNetwork: (name) =>
        Effect.gen(function*() {
          yield* engine
          const present = (yield* Ref.get(networks)).some((n) => n.name === name)
          // like the engine: refused while a running container is attached
          const busy = [...(yield* Ref.get(containers)).values()].some((c) => c.state === "running" && name in c.networks)
          if (!present || busy) return false
          yield* record(`remove network ${name}`)
          yield* Ref.update(networks, (all) => all.filter((n) => n.name !== name))
          return true
        }),
      run,
      stop: (id) => stop(id),
      remove,
      listManaged: (nodeName) =>
        Effect.zipRight(
          engine,
          Effect.map(Ref.get(containers), (all) =>
            [...all.values()].filter((c) => c.labels["managed-by"] === "helyos" && c.labels["helyos.node"] === nodeName))
        ),
      inspect,
      logs: containerLogs,
      events: (nodeName) =>
        Stream.fromPubSub(events).pipe(Stream.filter((e) => e.labels["helyos.node"] === nodeName)),
      exec
    })

    const control = MemoryEngine.of({
      containers: Effect.map(Ref.get(containers), (all) => [...all.values()]),
      networks: Effect.map(Ref.get(networks), (all) => all.map((n) => n.name)),
      networkOptions: (name) => Effect.map(Ref.get(networks), (all) => all.find((n) => n.name === name)?.options),
      failNetwork: (name, detail) => Ref.update(networkFailures, (all) => withEntry(all, name, detail)),
      calls: Ref.get(calls),
      addImage: (ref) => Ref.update(images, (all) => new Set(all).add(imageKey(ref))),
      seed: (seed) =>
        Effect.gen(function*() {
          const id = yield* newId
          const now = yield* Clock.currentTimeMillis
          const state = seed.state ?? "running"
          yield* Ref.update(containers, (all) =>
            new Map(all).set(id, {
              id,
              name: seed.name,
              image: seed.image ?? "seeded:latest",
              labels: { ...seed.labels },
              state,
              exitCode: seed.exitCode ?? 0,
              oomKilled: false,
              startedAtMs: now,
              finishedAtMs: state === "exited" ? now : undefined,
              networks: seed.network !== undefined ? { [seed.network]: "10.99.0.2" } : {},
              spec: undefined
            }))
          return id
        }),
      exit: (id, exitCode, opts) =>
        Effect.flatMap(find(id), (c) =>
          Option.isSome(c) && c.value.state === "running" ? finish(c.value, exitCode, opts?.oomKilled ?? false) : Effect.void),
      writeLog: (id, text) =>
        Effect.gen(function*() {
          const seq = yield* Ref.getAndUpdate(logSeq, (n) => n + 1)
          const line = { seq, data: new TextEncoder().encode(text) }
          yield* Ref.update(logs, (all) => new Map(all).set(id, [...(all.get(id) ?? []), line]))
          yield* PubSub.publish(liveLogs, { id, line })
        }),
      failRun: (name, detail) => Ref.update(runFailures, (all) => withEntry(all, name, detail)),
      setAvailable: (up) => Ref.set(available, up),
      onExec: (name, behaviour) => Ref.update(execBehaviours, (all) => withEntry(all, name, behaviour))
    })

    return { runtime, control }
  })

/** Both the fake runtime and its control. */
export const layerWith = (
  options: MemoryEngineOptions = {}
): Layer.Layer<ContainerRuntime | MemoryEngine> =>
  Layer.effectContext(
    Effect.map(make(options), ({ control, runtime }) =>
      Context.make(ContainerRuntime, runtime).pipe(Context.add(MemoryEngine, control)))
  )
