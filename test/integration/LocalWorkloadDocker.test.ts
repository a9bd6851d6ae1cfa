// LocalWorkloadRuntime on the real engine: assignments become busybox containers and go away again.
// Requires the engine (fails, never skips, without it). Containers and the network are removed afterwards.
import { afterAll, describe, expect, it } from "@effect/vitest"
import Docker from "dockerode"
import { Chunk, Duration, Effect, Layer, Schedule, Stream } from "effect"
import type { PodAssignment } from "../../src/domain/PodAssignment.js"
import type { PodEvent, PodReport } from "../../src/domain/PodReport.js"
import { type LocalWorkloadOptions } from "../../src/layers/workload/LocalWorkloadRuntime.js"
import { DaemonConfig } from "../../src/services/DaemonConfig.js"
import { LocalWorkload } from "../../src/services/workload/LocalWorkload.js"
import { BUSYBOX_IMAGE, DOCKER_SOCKET, testEngine } from "../support/docker/busyboxImage.js"
import * as ContainerRuntimeDocker from "../../src/layers/workload/ContainerRuntimeDocker.js"
import * as LocalWorkloadRuntime from "../../src/layers/workload/LocalWorkloadRuntime.js"

const run = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const node = `lw-itest-${run}`
const project = `lwitest${run.replace(/[^a-z0-9]/g, "")}`
// creating the client contacts nothing; testEngine() in the layer is what requires the engine
const docker = new Docker({ socketPath: DOCKER_SOCKET })
/** The engine as the runtime sees it, to act on containers from outside (docker exec) */
const engine = ContainerRuntimeDocker.make(DOCKER_SOCKET)

const config = DaemonConfig.layer({
  dataDir: "/tmp",
  nodeName: node,
  dockerSocket: DOCKER_SOCKET,
  cliConfigPath: "/tmp/helyos-itest-cli.toml"
})

/** Building it fails the test when there is no engine. */
const workloadWith = (options: LocalWorkloadOptions) =>
  LocalWorkloadRuntime.layerWith(options).pipe(
    Layer.provide(ContainerRuntimeDocker.layerWith(DOCKER_SOCKET)),
    Layer.provide(config),
    Layer.provideMerge(Layer.effectDiscard(Effect.promise(testEngine)))
  )

const Workload = workloadWith({ resyncInterval: "1 second", stopGrace: "1 second" })

/** Small restart rules so a real ladder takes a second or two: 200 ms doubling. */
const QuickRestarts = workloadWith({
  resyncInterval: "1 second",
  stopGrace: "1 second",
  restartRules: {
    backoffBase: Duration.millis(200),
    backoffCap: Duration.seconds(2),
    crashLoopAfter: 10,
    resetAfter: Duration.minutes(10)
  }
})

const pod = (index: number, overrides: Partial<PodAssignment> = {}): PodAssignment => ({
  podId: `pod-${run}-${index}`,
  containerName: `helyos-${project}-web-${index}`,
  project,
  deployment: "web",
  replicaIndex: index,
  image: BUSYBOX_IMAGE,
  command: ["httpd", "-f", "-p", "8080"],
  env: {},
  ports: [8080],
  publishPorts: false,
  volumes: [],
  cpu: 0,
  memoryBytes: 0,
  restartPolicy: "always",
  ...overrides
})

const mine = () => docker.listContainers({ all: true, filters: { label: [`helyos.node=${node}`] } })

/** Poll statuses (real time) until `check` holds. */
const statusesUntil = (check: (all: ReadonlyArray<PodReport>) => boolean, within: Duration.DurationInput = "20 seconds") =>
  Effect.flatMap(LocalWorkload, (w) =>
    w.statuses.pipe(
      Effect.filterOrFail(check, () => "not yet"),
      Effect.retry(Schedule.spaced("100 millis").pipe(Schedule.upTo(within))),
      Effect.orElse(() => Effect.flatMap(w.statuses, (last) => Effect.dieMessage(`statuses never matched: ${JSON.stringify(last)}`)))
    ))

afterAll(async () => {
  for (const c of await mine().catch(() => [])) {
    await docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)
  }
  await docker.getNetwork(`helyos-${project}`).remove().catch(() => undefined)
})

describe("LocalWorkloadRuntime on Docker", () => {
  it.live("runs two httpd pods with IPs on the project network, then removes them for an empty set", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      yield* workload.apply({ generation: 1, pods: [pod(0), pod(1)] })
      const running = yield* statusesUntil((all) => all.length === 2 && all.every((s) => s.status === "running"))
      for (const s of running) {
        expect(s.containerIp).toMatch(/^\d+\.\d+\.\d+\.\d+$/)
        expect(s.containerId).not.toBe("")
      }
      const containers = yield* Effect.promise(mine)
      expect(containers.map((c) => c.Names[0]).sort()).toEqual([`/helyos-${project}-web-0`, `/helyos-${project}-web-1`])
      for (const c of containers) {
        expect(c.Labels).toMatchObject({
          "managed-by": "helyos",
          "helyos.project": project,
          "helyos.deployment": "web",
          "helyos.node": node
        })
        expect(c.State).toBe("running")
      }
      // httpd answers on the pod IP (404 for "/" is an answer)
      const answer = yield* Effect.tryPromise(() =>
        fetch(`http://${running[0]!.containerIp}:8080/`, { signal: AbortSignal.timeout(5_000) }))
      expect(answer.status).toBeGreaterThan(0)
      expect(yield* workload.appliedGeneration).toBe(1)

      yield* workload.apply({ generation: 2, pods: [] })
      yield* Effect.promise(mine).pipe(
        Effect.filterOrFail((cs) => cs.length === 0, () => "still there"),
        Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo(Duration.seconds(20))))
      )
      expect(yield* Effect.promise(mine)).toEqual([])
      expect(yield* workload.statuses).toEqual([])
    }).pipe(Effect.provide(Workload)))

  it.live("a pod that exits under restart policy never is failed, with its exit code and its logs", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const crashing = pod(2, { command: ["sh", "-c", "echo bye; exit 3"], ports: [], restartPolicy: "never" })
      yield* workload.apply({ generation: 1, pods: [crashing] })
      const [failed] = yield* statusesUntil((all) => all[0]?.status === "failed")
      expect(failed!.message).toBe("container exited with code 3")
      const logs = yield* Stream.runCollect(workload.logs({ requestId: "r", podId: crashing.podId, tail: 0, follow: false }))
      expect(Chunk.toReadonlyArray(logs).map((b) => Buffer.from(b).toString("utf8")).join("")).toBe("bye\n")
    }).pipe(Effect.provide(Workload)))

  it.live("a pod whose image cannot be found is failed with the image named", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const image = `helyos-test/nosuch-${run}:1`
      yield* workload.apply({ generation: 1, pods: [pod(3, { image })] })
      const [failed] = yield* statusesUntil((all) => all[0]?.status === "failed")
      expect(failed!.message).toBe(`image '${image}' not found`)
    }).pipe(Effect.provide(Workload)))

  // -------------------------------------------------------------------------------------------
  // Restart policy, OOM and health probes on the real engine.

  it.live("a container that exits 1 is restarted with growing delays (200 ms, 400 ms, 800 ms)", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const crashing = pod(10, { command: ["sh", "-c", "exit 1"], ports: [] })
      yield* workload.apply({ generation: 1, pods: [crashing] })
      const events: Array<PodEvent> = []
      const messages = new Set<string>()
      yield* Effect.flatMap(workload.statuses, (all) =>
        Effect.flatMap(workload.takeEvents, (fresh) =>
          Effect.sync(() => {
            events.push(...fresh)
            for (const s of all) messages.add(s.message)
            return all[0]?.restartCount ?? 0
          }))).pipe(
        Effect.filterOrFail((n) => n >= 4, () => "not yet"),
        Effect.retry(Schedule.spaced("20 millis").pipe(Schedule.upTo(Duration.seconds(30))))
      )
      // every restart was announced with its delay, doubling from the base
      for (const [n, delay] of [[1, "200ms"], [2, "400ms"], [3, "800ms"]] as const) {
        expect(messages).toContain(`container exited with code 1; restart ${n} in ${delay}`)
      }
      // and no restart came before its delay: from each death to the next start, at least the backoff
      const died = events.filter((e) => e.action === "died")
      const restarted = events.filter((e) => e.action === "restarted")
      expect(died.every((e) => e.exitCode === 1)).toBe(true)
      for (const [i, delayMs] of [200, 400, 800].entries()) {
        expect(restarted[i]!.atMs - died[i]!.atMs).toBeGreaterThanOrEqual(delayMs)
      }
      const final = (yield* workload.statuses)[0]!
      expect(final).toMatchObject({ exited: true, exitCode: 1, reason: "Error" })
    }).pipe(Effect.provide(QuickRestarts)), 40_000)

  it.live("a container that exits 0 under onfailure is left failed (Completed), not restarted", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const done = pod(11, { command: ["sh", "-c", "echo done"], ports: [], restartPolicy: "onfailure" })
      yield* workload.apply({ generation: 1, pods: [done] })
      const [failed] = yield* statusesUntil((all) => all[0]?.status === "failed")
      expect(failed).toMatchObject({ exited: true, exitCode: 0, reason: "Completed", restartCount: 0 })
      // two resyncs later: still one container, still failed
      yield* Effect.sleep("2500 millis")
      expect((yield* workload.statuses)[0]!.status).toBe("failed")
      const containers = (yield* Effect.promise(mine)).filter((c) => c.Labels["helyos.pod-id"] === done.podId)
      expect(containers.map((c) => c.State)).toEqual(["exited"])
      expect((yield* workload.takeEvents).map((e) => e.action)).toEqual(["started", "died", "failed"])
    }).pipe(Effect.provide(QuickRestarts)))

  it.live("a container over its memory limit is reported OOMKilled (exit 137)", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const hungry = pod(12, {
        // holds ~50 MB in a shell variable under an 8 MiB limit
        command: ["sh", "-c", "x=$(busybox head -c 50000000 /dev/zero | busybox tr '\\0' a); echo survived ${#x}"],
        ports: [],
        memoryBytes: 8 * 1024 * 1024,
        restartPolicy: "never"
      })
      yield* workload.apply({ generation: 1, pods: [hungry] })
      const [failed] = yield* statusesUntil((all) => all[0]?.status === "failed")
      expect(failed).toMatchObject({ exited: true, exitCode: 137, reason: "OOMKilled" })
      expect(failed!.message).toBe("container was OOMKilled (exit code 137)")
      const events = yield* workload.takeEvents
      expect(events.find((e) => e.action === "OOMKilled")).toMatchObject({ exitCode: 137, podId: hungry.podId })
    }).pipe(Effect.provide(QuickRestarts)))

  it.live("an HTTP probe against httpd turns unhealthy when the served file is removed, and the pod is restarted", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const web = pod(13, {
        command: ["sh", "-c", "mkdir -p /www && echo ok > /www/health && exec httpd -f -p 8080 -h /www"],
        healthcheck: { kind: "http", path: "/health", port: 0, command: [], intervalMs: 300, timeoutMs: 1_000, retries: 2 }
      })
      yield* workload.apply({ generation: 1, pods: [web] })
      const [healthy] = yield* statusesUntil((all) => all[0]?.health === "healthy")
      expect(healthy).toMatchObject({ status: "running", restartCount: 0 })
      // break it from inside, as an operator would
      expect(yield* engine.exec(healthy!.containerId, ["sh", "-c", "rm /www/health"], Duration.seconds(10))).toBe(0)
      const [unhealthy] = yield* statusesUntil((all) => all[0]?.reason === "Unhealthy")
      expect(unhealthy!.restartCount).toBe(1)
      expect(unhealthy!.message).toContain("GET /health answered 404")
      // the replacement serves the file again: a new container, healthy
      const [again] = yield* statusesUntil((all) =>
        all[0]?.health === "healthy" && all[0].containerId !== healthy!.containerId)
      expect(again).toMatchObject({ status: "running", restartCount: 1, reason: "Unhealthy" })
      const actions = (yield* workload.takeEvents).map((e) => e.action)
      expect(actions).toEqual(["started", "unhealthy", "restarted"])
    }).pipe(Effect.provide(QuickRestarts)), 40_000)

  it.live("an exec probe runs in the container: healthy while the file is there, failed once it is gone", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const worker = pod(14, {
        command: ["sh", "-c", "echo yes > /ready; exec sleep 300"],
        ports: [],
        restartPolicy: "never",
        healthcheck: { kind: "exec", path: "", port: 0, command: ["cat", "/ready"], intervalMs: 300, timeoutMs: 2_000, retries: 1 }
      })
      yield* workload.apply({ generation: 1, pods: [worker] })
      const [healthy] = yield* statusesUntil((all) => all[0]?.health === "healthy")
      expect(yield* engine.exec(healthy!.containerId, ["sh", "-c", "rm /ready"], Duration.seconds(10))).toBe(0)
      const [failed] = yield* statusesUntil((all) => all[0]?.status === "failed")
      expect(failed).toMatchObject({ reason: "Unhealthy", health: "unhealthy" })
      expect(failed!.message).toContain("'cat /ready' exited with code 1")
    }).pipe(Effect.provide(QuickRestarts)))

  it.live("a tcp probe is healthy on a listening port and unhealthy on a closed one", () =>
    Effect.gen(function*() {
      const workload = yield* LocalWorkload
      const tcp = (port: number) => ({ kind: "tcp", path: "", port, command: [], intervalMs: 300, timeoutMs: 1_000, retries: 2 })
      const open = pod(15, { healthcheck: tcp(8080) })
      const closed = pod(16, { restartPolicy: "never", healthcheck: tcp(8081) })
      yield* workload.apply({ generation: 1, pods: [open, closed] })
      const all = yield* statusesUntil((all) => all[0]?.health === "healthy" && all[1]?.status === "failed")
      expect(all[1]).toMatchObject({ reason: "Unhealthy", health: "unhealthy" })
      expect(all[1]!.message).toContain("connect to port 8081")
      expect(all[0]).toMatchObject({ status: "running", restartCount: 0 })
    }).pipe(Effect.provide(QuickRestarts)))
})
