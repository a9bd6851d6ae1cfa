// Scheduler throughput: 10,000 pods placed over 1,000 nodes with placeMany (goal: all in < 1 s).
// Prints figures only; run with `npm run build && node dist/bench/scheduler.js`.
import { Either } from "effect"
import { NodeId } from "../src/domain/Node.js"
import {
  bestEffort,
  DEFAULT_MAX_PODS,
  place,
  placeMany,
  presetConfig,
  type NodeSnapshot,
  type PodRequest,
  type SchedulerConfig
} from "../src/domain/Scheduler.js"

const NODES = 1_000
const PODS = 10_000
const GiB = 1024 ** 3
const MiB = 1024 ** 2
const now = Date.now()

// A varied cluster: a few sizes, some load already, a few recent failures, some nodes not eligible.
const nodes: Array<NodeSnapshot> = Array.from({ length: NODES }, (_, i) => {
  const cores = [4, 8, 16, 32][i % 4]!
  const memory = cores * 4 * GiB
  const used = (i % 7) / 10
  return {
    id: NodeId.make(`node-${i}`),
    name: `worker-${String(i).padStart(4, "0")}`,
    role: "Worker",
    eligible: i % 50 !== 0,
    cpuTotal: cores,
    cpuAvailable: cores * (1 - used),
    memoryTotal: memory,
    memoryAvailable: memory * (1 - used),
    pods: i % 13,
    maxPods: DEFAULT_MAX_PODS,
    recentFailures: i % 17 === 0 ? [now - 3 * 60_000, now - 25 * 60_000] : []
  }
})

// Half best-effort pods, half with requests (as deployments with and without `resources`).
const requests: Array<PodRequest> = Array.from({ length: PODS }, (_, i) =>
  i % 2 === 0 ? bestEffort : { cpu: [0.1, 0.25, 0.5][i % 3]!, memoryBytes: [128, 256, 512][i % 3]! * MiB }
)

const run = (label: string, config: SchedulerConfig, how: "placeMany" | "place") => {
  const started = performance.now()
  const results = how === "placeMany"
    ? placeMany(nodes, requests, config, now)
    : requests.map((request) => place(nodes, request, config, now))
  const ms = performance.now() - started
  const placed = results.filter(Either.isRight).length
  const perSecond = Math.round((PODS / ms) * 1000)
  console.log(
    `${label.padEnd(22)} ${how.padEnd(10)} ${PODS} pods / ${NODES} nodes: ${ms.toFixed(1)} ms total, ` +
      `${perSecond.toLocaleString("en-US")} placements/s, ${placed} placed`
  )
}

// warm-up, so the figures measure the optimised code
placeMany(nodes, requests.slice(0, 1_000), presetConfig("spread"), now)

run("spread", presetConfig("spread"), "placeMany")
run("binpack", presetConfig("binpack"), "placeMany")
run("spread", presetConfig("spread"), "placeMany")
run("spread (one at a time)", presetConfig("spread"), "place")
