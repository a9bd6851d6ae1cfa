// When `helyos deploy` stops waiting: every pod of the new spec running (none of the old one still
// stopping), or one pod failed / crash-looping; otherwise it keeps waiting with the running count.
import { describe, expect, it } from "@effect/vitest"
import type { PodStatus, PodView } from "../../src/domain/Workload.js"
import { progressOf } from "../../src/programs/cli/DeployCommand.js"
import { schedulerText } from "../../src/programs/cli/SchedulerCommands.js"

const pod = (index: number, status: PodStatus, message?: string): PodView => ({
  id: `p${index}`,
  name: `api-${index}`,
  project: "shop",
  deployment_name: "api",
  replica_index: index,
  node: "master",
  node_id: "n1",
  container_id: null,
  container_ip: null,
  status,
  image: "nginx:1",
  restart_count: 0,
  exit_code: null,
  reason: null,
  last_exit_at: null,
  health: null,
  started_at: null,
  created_at: "2026-01-01T00:00:00.000Z",
  dns_name: null,
  ...(message === undefined ? {} : { message })
})

describe("deploy progress", () => {
  it("is done when as many pods run as desired and none is stopping", () => {
    expect(progressOf([pod(0, "running"), pod(1, "running")], 2)).toEqual({ _tag: "Done", running: 2 })
  })

  it("keeps waiting while an old pod is still stopping, or pods are coming up", () => {
    expect(progressOf([pod(0, "running"), pod(1, "running"), pod(2, "stopping")], 2)).toEqual({ _tag: "Waiting", running: 2 })
    expect(progressOf([pod(0, "running"), pod(1, "creating")], 2)).toEqual({ _tag: "Waiting", running: 1 })
  })

  it("fails on the first failed or crash-looping pod", () => {
    const crashing = pod(1, "crashloopbackoff", "exit 1")
    expect(progressOf([pod(0, "running"), crashing], 2)).toEqual({ _tag: "Failed", pod: crashing })
  })
})

describe("cluster config get-scheduler", () => {
  it("prints the documented block, weights with two decimals (more only when needed)", () => {
    expect(schedulerText({ strategy: "custom", weights: { cpu: -0.3, memory: 0.125, load: 2, failure: 0.15 } })).toBe(
      "Scheduler configuration:\n  Strategy: custom\n  Weights:\n    cpu:     -0.30\n    memory:  0.125\n    load:    2.00\n    failure: 0.15"
    )
  })
})
