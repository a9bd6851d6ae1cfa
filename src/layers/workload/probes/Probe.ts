// A pod's health probe as the node runs it: read from the assignment (documented defaults filled in)
// and run once against the pod's container, bounded by the probe's timeout on Effect's Clock.
import { Duration, Effect } from "effect"
import { HEALTHCHECK_DEFAULTS } from "../../../domain/RestartRules.js"
import type { PodAssignment } from "../../../domain/PodAssignment.js"
import type { ContainerRuntime } from "../../../services/workload/ContainerRuntime.js"
import { httpProbe } from "./HttpProbe.js"
import { healthy, inconclusive, type ProbeResult, unhealthy } from "./ProbeResult.js"
import { tcpProbe } from "./TcpProbe.js"

export type ProbeCheck =
  | { readonly _tag: "Http"; readonly path: string; readonly port: number }
  | { readonly _tag: "Tcp"; readonly port: number }
  | { readonly _tag: "Exec"; readonly command: ReadonlyArray<string> }

export interface HealthProbe {
  readonly check: ProbeCheck
  readonly interval: Duration.Duration
  readonly timeout: Duration.Duration
  /** consecutive failures that make the pod unhealthy */
  readonly retries: number
}

/** What the assignment says about probing: nothing, a probe, or one this node cannot run (and why). */
export type ProbePlan =
  | { readonly _tag: "None" }
  | { readonly _tag: "Probe"; readonly probe: HealthProbe }
  | { readonly _tag: "Invalid"; readonly problem: string }

/** The pod's probe; ports default to the pod's first port, timings to the documented 10s/5s/3. */
export const probePlanOf = (pod: PodAssignment): ProbePlan => {
  const hc = pod.healthcheck
  if (hc === undefined) return { _tag: "None" }
  const port = hc.port > 0 ? hc.port : (pod.ports[0] ?? 0)
  const kind = hc.kind === "" ? (hc.command.length > 0 ? "exec" : "http") : hc.kind
  let check: ProbeCheck
  switch (kind) {
    case "http":
      if (port === 0) return { _tag: "Invalid", problem: "HTTP health check without a port (and the pod has no ports)" }
      check = { _tag: "Http", path: hc.path === "" ? "/" : hc.path, port }
      break
    case "tcp":
      if (port === 0) return { _tag: "Invalid", problem: "TCP health check without a port" }
      check = { _tag: "Tcp", port }
      break
    case "exec":
      if (hc.command.length === 0) return { _tag: "Invalid", problem: "exec health check without a command" }
      check = { _tag: "Exec", command: hc.command }
      break
    default:
      return { _tag: "Invalid", problem: `unknown health check kind '${kind}'` }
  }
  return {
    _tag: "Probe",
    probe: {
      check,
      interval: hc.intervalMs > 0 ? Duration.millis(hc.intervalMs) : HEALTHCHECK_DEFAULTS.interval,
      timeout: hc.timeoutMs > 0 ? Duration.millis(hc.timeoutMs) : HEALTHCHECK_DEFAULTS.timeout,
      retries: hc.retries > 0 ? hc.retries : HEALTHCHECK_DEFAULTS.retries
    }
  }
}

/** Where the probe goes: the container (exec) and its IP on the project network (http, tcp). */
export interface ProbeTarget {
  readonly containerId: string
  readonly ip: string
}

/** "http GET :8080/health", "tcp :5432", "exec cat /ready": how a probe is named in messages. */
export const describeCheck = (check: ProbeCheck): string => {
  switch (check._tag) {
    case "Http":
      return `http GET :${check.port}${check.path}`
    case "Tcp":
      return `tcp :${check.port}`
    case "Exec":
      return `exec ${check.command.join(" ")}`
  }
}

/** Run the probe once; it never fails: refusals, errors and timeouts are verdicts. */
export const runProbe = (
  runtime: ContainerRuntime["Type"],
  probe: HealthProbe,
  target: ProbeTarget
): Effect.Effect<ProbeResult> => {
  const noIp = Effect.succeed(unhealthy("the container has no IP on its network"))
  const { check } = probe
  const attempt: Effect.Effect<ProbeResult> = check._tag === "Http"
    ? (target.ip === "" ? noIp : httpProbe(target.ip, check.port, check.path))
    : check._tag === "Tcp"
    ? (target.ip === "" ? noIp : tcpProbe(target.ip, check.port))
    : runtime.exec(target.containerId, check.command, probe.timeout).pipe(
      Effect.map((code) => (code === 0 ? healthy : unhealthy(`'${check.command.join(" ")}' exited with code ${code}`))),
      Effect.catchAll((e) =>
        Effect.succeed(e._tag === "RuntimeUnavailable" ? inconclusive(e.message) : unhealthy(e.message))
      )
    )
  return attempt.pipe(
    Effect.timeoutTo({
      duration: probe.timeout,
      onSuccess: (result) => result,
      onTimeout: () => unhealthy(`no answer within ${Duration.format(probe.timeout)}`)
    })
  )
}
