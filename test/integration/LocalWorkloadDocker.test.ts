// LocalWorkloadRuntime on the real engine: assignments become busybox containers and go away again.
// Requires the engine (fails, never skips, without it). Containers and the network are removed afterwards.
import { afterAll, describe, expect, it } from "@effect/vitest"
import Docker from "dockerode"
import { Chunk, Duration, Effect, Layer, Option, Schedule, Stream } from "effect"
import type { PodAssignment, PodStatus } from "../../src/generated/cluster.js"
import { ContainerRuntimeDockerAt } from "../../src/layers/ContainerRuntimeDocker.js"
import { LocalWorkloadRuntime } from "../../src/layers/LocalWorkloadRuntime.js"
import { DaemonConfig, defaultTimers, defaultApiTls, defaultClusterTrust } from "../../src/services/DaemonConfig.js"
import { LocalWorkload } from "../../src/services/LocalWorkload.js"
import { BUSYBOX_IMAGE, DOCKER_SOCKET, testEngine } from "../support/busyboxImage.js"

const run = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const node = `lw-itest-${run}`
const project = `lwitest${run.replace(/[^a-z0-9]/g, "")}`
// creating the client contacts nothing; testEngine() in the layer is what requires the engine
const docker = new Docker({ socketPath: DOCKER_SOCKET })

const config = Layer.succeed(DaemonConfig, DaemonConfig.of({
  mode: "single",
  host: "127.0.0.1",
  port: 0,
  grpcPort: 0,
  advertiseAddr: Option.none(),
  dataDir: "/tmp",
  nodeName: node,
  apiToken: Option.none(),
  join: Option.none(),
  joinToken: Option.none(),
  ...defaultTimers,
  maxPods: 110,
  dockerSocket: DOCKER_SOCKET,
  apiTls: defaultApiTls,
  clusterTrust: defaultClusterTrust,
  cliConfigPath: "/tmp/helyos-itest-cli.toml"
}))

/** Building it fails the test when there is no engine. */
const Workload = LocalWorkloadRuntime({ resyncInterval: "1 second", stopGrace: "1 second" }).pipe(
  Layer.provide(ContainerRuntimeDockerAt(DOCKER_SOCKET)),
  Layer.provide(config),
  Layer.provideMerge(Layer.effectDiscard(Effect.promise(testEngine)))
)

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
const statusesUntil = (check: (all: ReadonlyArray<PodStatus>) => boolean) =>
  Effect.flatMap(LocalWorkload, (w) =>
    w.statuses.pipe(
      Effect.filterOrFail(check, () => "not yet"),
      Effect.retry(Schedule.spaced("200 millis").pipe(Schedule.upTo(Duration.seconds(20)))),
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
})
