// HostInfo from node:os: the host's name, cores, memory and how much of it is free right now.
import { Effect, Layer } from "effect"
import * as os from "node:os"
import { NodeResources } from "../../domain/Node.js"
import { HostInfo } from "../../services/workload/HostInfo.js"

const readResources = (): NodeResources => {
  const cores = os.cpus().length
  // There is no "free CPU" counter. The 1-minute load average counts runnable tasks, so
  // cores − load is a fair estimate of idle cores; a load above the core count means none.
  // (os.loadavg() is [0, 0, 0] on Windows, which reads as "all cores free".)
  const load = os.loadavg()[0] ?? 0
  return new NodeResources({
    cpuCores: cores,
    memoryBytes: os.totalmem(),
    cpuAvailable: Math.max(0, cores - load),
    // Linux: MemAvailable (libuv >= 1.45), so reclaimable page cache counts as available.
    // Container/cgroup limits are not looked at: a worker in a limited container over-reports.
    memoryAvailable: os.freemem()
  })
}

export const layer = Layer.sync(HostInfo, () =>
  HostInfo.of({
    hostname: os.hostname(),
    resources: Effect.sync(readResources)
  }))
