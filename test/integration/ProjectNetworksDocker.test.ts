// Project networks on the real engine: made with the given subnet and MTU, listed, removed, and an
// overlapping subnet refused with one line. Requires the engine (fails, never skips, without it).
import { afterAll, describe, expect, it } from "@effect/vitest"
import Docker from "dockerode"
import { Effect, Exit, Layer } from "effect"
import { ContainerRuntime } from "../../src/services/workload/ContainerRuntime.js"
import { DOCKER_SOCKET, testEngine } from "../support/docker/busyboxImage.js"
import * as ContainerRuntimeDocker from "../../src/layers/workload/ContainerRuntimeDocker.js"

const run = `${process.pid}-${Math.random().toString(36).slice(2, 8)}`
const first = `helyos-netitest-a-${run}`
const second = `helyos-netitest-b-${run}`
// TEST-NET-1: documentation addresses, never routed anywhere; the bridge only adds a local route
const SUBNET = "192.0.2.0/26"
const docker = new Docker({ socketPath: DOCKER_SOCKET })

const Runtime = ContainerRuntimeDocker.layerWith(DOCKER_SOCKET).pipe(
  Layer.provideMerge(Layer.effectDiscard(Effect.promise(testEngine)))
)

afterAll(async () => {
  for (const name of [first, second]) await docker.getNetwork(name).remove().catch(() => undefined)
})

describe("project networks on Docker", () => {
  it.live("made with its subnet and MTU, listed with no container, an overlapping one refused in one line, removed once", () =>
    Effect.gen(function*() {
      const rt = yield* ContainerRuntime
      yield* rt.ensureNetwork(first, { subnet: SUBNET, gateway: "192.0.2.1", mtu: 1420 })
      const inspected = yield* Effect.promise(() => docker.getNetwork(first).inspect())
      expect(inspected.IPAM?.Config?.[0]?.Subnet).toBe(SUBNET)
      expect(inspected.IPAM?.Config?.[0]?.Gateway).toBe("192.0.2.1")
      expect(inspected.Options?.["com.docker.network.driver.mtu"]).toBe("1420")
      const listed = (yield* rt.listNetworks).find((n) => n.name === first)
      expect(listed?.containers).toBe(0)
      const refused = yield* Effect.exit(rt.ensureNetwork(second, { subnet: "192.0.2.0/27" }))
      expect(Exit.isFailure(refused)).toBe(true)
      if (Exit.isFailure(refused)) {
        const message = String(refused.cause._tag === "Fail" ? refused.cause.error.message : refused.cause)
        expect(message.startsWith(`cannot create network ${second}: `)).toBe(true)
        expect(message).toMatch(/overlap/i)
        expect(message).not.toContain("\n")
      }
      expect(yield* rt.removeNetwork(first)).toBe(true)
      expect(yield* rt.removeNetwork(first)).toBe(false)
      expect((yield* rt.listNetworks).some((n) => n.name === first)).toBe(false)
    }).pipe(Effect.provide(Runtime)))
})
