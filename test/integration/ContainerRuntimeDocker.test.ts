// ContainerRuntimeDocker against the real engine: what it creates is what `docker inspect` shows.
// Requires the engine (fails, never skips, without it). Everything created here is labelled and removed.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import Docker from "dockerode"
import { Chunk, Duration, Effect, Exit, Fiber, Layer, Schedule, Stream } from "effect"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import {
  ContainerRuntime,
  type ContainerSpec,
  Labels,
  MANAGED_BY
} from "../../src/services/workload/ContainerRuntime.js"
import { BUSYBOX_IMAGE, DOCKER_SOCKET, ensureBusyboxImage, testEngine } from "../support/docker/busyboxImage.js"
import * as ContainerRuntimeDocker from "../../src/layers/workload/ContainerRuntimeDocker.js"

const run = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const nodeA = `itest-a-${run}`
const nodeB = `itest-b-${run}`
const network = `helyos-itest-${run}`
const volume = `helyos-itest-vol-${run}`
const TEST_LABEL = "helyos.test"
// creating the client contacts nothing; testEngine() below is what requires the engine
const docker = new Docker({ socketPath: DOCKER_SOCKET })
let bindDir: string

/** The runtime under test; building it fails the test when there is no engine. */
const Runtime = ContainerRuntimeDocker.layerWith(DOCKER_SOCKET).pipe(
  Layer.provideMerge(Layer.effectDiscard(Effect.promise(testEngine)))
)

const spec = (name: string, overrides: Partial<ContainerSpec> = {}): ContainerSpec => ({
  name: `helyos-itest-${run}-${name}`,
  image: BUSYBOX_IMAGE,
  command: ["sleep", "300"],
  env: {},
  ports: [],
  publishPorts: false,
  volumes: [],
  network,
  labels: { [Labels.managedBy]: MANAGED_BY, [Labels.node]: nodeA, [TEST_LABEL]: run },
  cpu: 0,
  memoryBytes: 0,
  ...overrides
})

const removeEverything = async () => {
  const containers = await docker.listContainers({ all: true, filters: { label: [`${TEST_LABEL}=${run}`] } })
  await Promise.all(containers.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)))
  await docker.getNetwork(network).remove().catch(() => undefined)
  await docker.getVolume(volume).remove().catch(() => undefined)
}

const decode = (chunks: Chunk.Chunk<Uint8Array>) =>
  Chunk.toReadonlyArray(chunks).map((c) => Buffer.from(c).toString("utf8")).join("")

/** Poll inspect (real time) until the container has stopped. */
const waitExited = (id: string) =>
  Effect.flatMap(ContainerRuntime, (rt) =>
    rt.inspect(id).pipe(
      Effect.filterOrFail((c) => c.state === "exited", () => "still running"),
      Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.intersect(Schedule.recurs(100))))
    ))

beforeAll(() => {
  bindDir = mkdtempSync(path.join(tmpdir(), "helyos-itest-bind-"))
})

afterAll(async () => {
  await removeEverything().catch(() => undefined)
  rmSync(bindDir, { recursive: true, force: true })
})

describe("ContainerRuntimeDocker", () => {
  it.live("answers ping on the engine socket", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      expect(yield* Effect.exit(rt.ping)).toStrictEqual(Exit.void)
    }).pipe(Effect.provide(Runtime)))

  it.live("ensureNetwork creates one bridge labelled managed-by=helyos, idempotently", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* Effect.all([rt.ensureNetwork(network), rt.ensureNetwork(network)], { concurrency: 2 })
      yield* rt.ensureNetwork(network)
      const nets = yield* Effect.promise(() => docker.listNetworks({ filters: { name: [network] } }))
      const exact = nets.filter((n) => n.Name === network)
      expect(exact).toHaveLength(1)
      expect(exact[0]!.Driver).toBe("bridge")
      expect(exact[0]!.Labels).toMatchObject({ "managed-by": "helyos" })
    }).pipe(Effect.provide(Runtime)))

  it.live("run applies labels, env, command, limits, ports and no engine restart policy", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const hostPort = 20_000 + Math.floor(Math.random() * 20_000)
      const started = yield* rt.run(spec("limits", {
        command: ["httpd", "-f", "-p", String(hostPort)],
        env: { GREETING: "hi", MODE: "test" },
        ports: [hostPort],
        publishPorts: true,
        cpu: 0.5,
        memoryBytes: 64 * 1024 * 1024,
        labels: {
          [Labels.managedBy]: MANAGED_BY,
          [Labels.node]: nodeA,
          [Labels.project]: "shop",
          [Labels.deployment]: "api",
          [Labels.podId]: "pod-1",
          [TEST_LABEL]: run
        }
      }))
      const raw = yield* Effect.promise(() => docker.getContainer(started.id).inspect())
      expect(raw.State.Running).toBe(true)
      expect(raw.Name).toBe(`/helyos-itest-${run}-limits`)
      expect(raw.Config.Labels).toMatchObject({
        "managed-by": "helyos",
        "helyos.node": nodeA,
        "helyos.project": "shop",
        "helyos.deployment": "api",
        "helyos.pod-id": "pod-1"
      })
      expect(raw.Config.Env).toEqual(expect.arrayContaining(["GREETING=hi", "MODE=test"]))
      expect(raw.Config.Cmd).toEqual(["httpd", "-f", "-p", String(hostPort)])
      expect(raw.HostConfig.Memory).toBe(64 * 1024 * 1024)
      expect(raw.HostConfig.MemorySwap).toBe(64 * 1024 * 1024)
      expect(raw.HostConfig.NanoCpus).toBe(500_000_000)
      expect(raw.HostConfig.RestartPolicy?.Name ?? "").toMatch(/^(no|)$/)
      expect(raw.HostConfig.PortBindings).toEqual({ [`${hostPort}/tcp`]: [{ HostIp: "", HostPort: String(hostPort) }] })
      expect(Object.keys(raw.Config.ExposedPorts ?? {})).toEqual([`${hostPort}/tcp`])
      // attached to the project network with the IP run reported
      expect(started.ip).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
      expect(raw.NetworkSettings.Networks[network]?.IPAddress).toBe(started.ip)
    }).pipe(Effect.provide(Runtime)))

  it.live("ports are exposed but not bound on the host unless published", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const started = yield* rt.run(spec("unpublished", { ports: [8080], publishPorts: false }))
      const raw = yield* Effect.promise(() => docker.getContainer(started.id).inspect())
      expect(Object.keys(raw.Config.ExposedPorts ?? {})).toEqual(["8080/tcp"])
      expect(raw.HostConfig.PortBindings ?? {}).toEqual({})
    }).pipe(Effect.provide(Runtime)))

  it.live("mounts bind paths (read-only when asked) and named volumes", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const started = yield* rt.run(spec("volumes", {
        command: ["sh", "-c", "echo written > /data/out; echo nope > /ro/out || echo refused > /data/ro-result"],
        volumes: [
          { _tag: "Bind", hostPath: bindDir, mount: "/data", readonly: false },
          { _tag: "Bind", hostPath: bindDir, mount: "/ro", readonly: true },
          { _tag: "Named", name: volume, mount: "/cache", readonly: false }
        ]
      }))
      yield* waitExited(started.id)
      const raw = yield* Effect.promise(() => docker.getContainer(started.id).inspect())
      expect(raw.HostConfig.Binds).toEqual([`${bindDir}:/data`, `${bindDir}:/ro:ro`, `${volume}:/cache`])
      expect(readFileSync(path.join(bindDir, "out"), "utf8")).toBe("written\n")
      expect(readFileSync(path.join(bindDir, "ro-result"), "utf8")).toBe("refused\n")
    }).pipe(Effect.provide(Runtime)))

  it.live("stop ends the container after the grace period and remove deletes it (both idempotent)", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const { id } = yield* rt.run(spec("stop"))
      yield* rt.stop(id, Duration.seconds(1))
      const stopped = yield* rt.inspect(id)
      expect(stopped.state).toBe("exited")
      expect(stopped.finishedAtMs).toBeGreaterThan(0)
      yield* rt.stop(id, Duration.seconds(1))
      yield* rt.remove(id)
      const gone = yield* Effect.flip(rt.inspect(id))
      expect(gone._tag).toBe("ContainerNotFound")
      yield* rt.remove(id)
      yield* rt.stop(id, Duration.seconds(1))
    }).pipe(Effect.provide(Runtime)))

  it.live("listManaged returns only this node's containers, with state, exit code and times", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const mine = yield* rt.run(spec("list-a", { command: ["sh", "-c", "exit 3"] }))
      const theirs = yield* rt.run(spec("list-b", {
        labels: { [Labels.managedBy]: MANAGED_BY, [Labels.node]: nodeB, [TEST_LABEL]: run }
      }))
      yield* waitExited(mine.id)
      const listedA = yield* rt.listManaged(nodeA)
      const listedB = yield* rt.listManaged(nodeB)
      expect(listedA.map((c) => c.id)).toContain(mine.id)
      expect(listedA.map((c) => c.id)).not.toContain(theirs.id)
      expect(listedB.map((c) => c.id)).toEqual([theirs.id])
      const a = listedA.find((c) => c.id === mine.id)!
      expect(a).toMatchObject({ state: "exited", exitCode: 3, oomKilled: false, name: `helyos-itest-${run}-list-a` })
      expect(a.startedAtMs).toBeGreaterThan(0)
      // a process this short can finish before the engine records its start: only "close together" holds
      expect(Math.abs(a.finishedAtMs! - a.startedAtMs!)).toBeLessThan(10_000)
      expect(a.labels[Labels.node]).toBe(nodeA)
      expect(listedB[0]!.state).toBe("running")
      expect(listedB[0]!.networks[network]).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
    }).pipe(Effect.provide(Runtime)))

  it.live("logs demultiplex stdout and stderr, honour tail, and stop at the end without follow", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const { id } = yield* rt.run(spec("logs", { command: ["sh", "-c", "echo hello; sleep 0.2; echo oops >&2; sleep 0.2; echo bye"] }))
      // stdout and stderr are separate pipes: the sleeps make the interleaving deterministic
      yield* waitExited(id)
      const all = decode(yield* Stream.runCollect(rt.logs(id, { tail: 0, follow: false })))
      expect(all).toBe("hello\noops\nbye\n")
      const last = decode(yield* Stream.runCollect(rt.logs(id, { tail: 1, follow: false })))
      expect(last).toBe("bye\n")
    }).pipe(Effect.provide(Runtime)))

  it.live("logs with follow deliver lines written after the call", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const { id } = yield* rt.run(spec("follow", { command: ["sh", "-c", "echo first; sleep 2; echo later"] }))
      const fiber = yield* rt.logs(id, { tail: 0, follow: true }).pipe(
        Stream.map((bytes) => Buffer.from(bytes).toString("utf8")),
        Stream.runCollect,
        Effect.fork
      )
      // the container is still sleeping here: "later" does not exist yet
      const before = yield* rt.inspect(id)
      expect(before.state).toBe("running")
      const text = (yield* Fiber.join(fiber).pipe(Effect.timeout("15 seconds"))).pipe(Chunk.join(""))
      expect(text).toBe("first\nlater\n")
    }).pipe(Effect.provide(Runtime)))

  it.live("logs of an unknown container fail with ContainerNotFound", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      const error = yield* Effect.flip(Stream.runCollect(rt.logs(`nosuch-${run}`, { tail: 0, follow: false })))
      expect(error._tag).toBe("ContainerNotFound")
    }).pipe(Effect.provide(Runtime)))

  it.live("ensureImage accepts a local image without pulling", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      expect(yield* Effect.exit(rt.ensureImage(BUSYBOX_IMAGE))).toStrictEqual(Exit.void)
    }).pipe(Effect.provide(Runtime)))

  it.live("a missing image whose pull fails is ImageNotFound, named as given", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      const plain = yield* Effect.flip(rt.ensureImage(`helyos-test/nosuch-${run}:1`))
      expect(plain._tag).toBe("ImageNotFound")
      expect(plain.message).toBe(`image 'helyos-test/nosuch-${run}:1' not found`)
      // registry host with a port: the pull goes to that registry (not to a repository "localhost")
      const hosted = yield* Effect.flip(rt.ensureImage("localhost:5999/nosuch:1"))
      expect(hosted.message).toBe("image 'localhost:5999/nosuch:1' not found")
      expect(hosted._tag === "ImageNotFound" ? hosted.detail : "").toContain("localhost:5999")
    }).pipe(Effect.provide(Runtime)))

  it.live("run with an image that is not there is ImageNotFound", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const error = yield* Effect.flip(rt.run(spec("noimage", { image: `helyos-test/nosuch-${run}:1` })))
      expect(error._tag).toBe("ImageNotFound")
    }).pipe(Effect.provide(Runtime)))

  it.live("a second container with the same name is ContainerNameInUse", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      yield* rt.run(spec("twice"))
      const error = yield* Effect.flip(rt.run(spec("twice")))
      expect(error._tag).toBe("ContainerNameInUse")
    }).pipe(Effect.provide(Runtime)))

  it.live("a container over its memory limit is OOM-killed (no swap to hide in)", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      // holds ~50 MB in a shell variable under an 8 MiB limit
      const { id } = yield* rt.run(spec("oom", {
        command: ["sh", "-c", "x=$(busybox head -c 50000000 /dev/zero | busybox tr '\\0' a); echo survived ${#x}"],
        memoryBytes: 8 * 1024 * 1024
      }))
      yield* waitExited(id)
      const info = yield* rt.inspect(id)
      expect(info.oomKilled).toBe(true)
      expect(info.exitCode).toBe(137)
    }).pipe(Effect.provide(Runtime)))

  it.live("events report the exit of this node's containers", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const fiber = yield* rt.events(nodeA).pipe(
        // the engine adds the container's name to the event's attributes
        Stream.filter((e) => e.action === "die" && e.labels["name"] === `helyos-itest-${run}-events`),
        Stream.runHead,
        Effect.fork
      )
      // the events request must be open before the container dies
      yield* Effect.sleep("500 millis")
      const { id } = yield* rt.run(spec("events", { command: ["sh", "-c", "sleep 1; exit 7"] }))
      const event = yield* Fiber.join(fiber).pipe(Effect.timeout("15 seconds"))
      expect(event._tag).toBe("Some")
      expect(event._tag === "Some" ? event.value.id : "").toBe(id)
    }).pipe(Effect.provide(Runtime)))

  it.live("exec runs a command in the container and gives its exit code; a slow one is ExecTimedOut", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(network)
      const { id } = yield* rt.run(spec("exec"))
      expect(yield* rt.exec(id, ["sh", "-c", "exit 0"], Duration.seconds(10))).toBe(0)
      expect(yield* rt.exec(id, ["sh", "-c", "exit 7"], Duration.seconds(10))).toBe(7)
      // the command sees the container's filesystem
      expect(yield* rt.exec(id, ["sh", "-c", "echo hi > /probe-file && cat /probe-file"], Duration.seconds(10))).toBe(0)
      expect(yield* rt.exec(id, ["cat", "/no-such-file"], Duration.seconds(10))).toBe(1)
      const slow = yield* Effect.flip(rt.exec(id, ["sh", "-c", "sleep 5"], Duration.millis(300)))
      expect(slow._tag).toBe("ExecTimedOut")
      expect(slow.message).toBe("'sh -c sleep 5' did not finish within 300ms")
      const unknown = yield* Effect.flip(rt.exec(`nosuch-${run}`, ["true"], Duration.seconds(10)))
      expect(unknown._tag).toBe("ContainerNotFound")
      yield* rt.stop(id, Duration.seconds(1))
      const stopped = yield* Effect.flip(rt.exec(id, ["true"], Duration.seconds(10)))
      expect(stopped._tag).toBe("RuntimeError")
    }).pipe(Effect.provide(Runtime)))

  it.live("an unreachable socket is RuntimeUnavailable naming the socket", () =>
    Effect.gen(function*() {
      const socket = `/tmp/helyos-no-engine-${run}.sock`
      const rt = yield* ContainerRuntime.pipe(Effect.provide(ContainerRuntimeDocker.layerWith(socket)))
      const error = yield* Effect.flip(rt.ping)
      expect(error._tag).toBe("RuntimeUnavailable")
      expect(error.message).toMatch(new RegExp(`^cannot reach the Docker engine at ${socket}: connect ENOENT`))
      const listing = yield* Effect.flip(rt.listManaged(nodeA))
      expect(listing._tag).toBe("RuntimeUnavailable")
    }))

  it.live("ensureBusyboxImage builds the test image when it is absent", () =>
    Effect.gen(function*() {
      const image = `helyos-test/busybox:build-${run}`
      yield* Effect.addFinalizer(() => Effect.promise(() => docker.getImage(image).remove().catch(() => undefined)))
      yield* Effect.promise(() => ensureBusyboxImage({ image }))
      const inspected = yield* Effect.promise(() => docker.getImage(image).inspect())
      expect(inspected.Config.Cmd).toEqual(["/bin/sh"])
    }).pipe(Effect.scoped))
})
