// What this node knows about each of its pods (beyond what the engine shows), how a container's end
// changes it under the restart rules, and how it is reported in the ping.
import { Duration } from "effect"
import { formatDuration } from "../../../domain/Duration.js"
import {
  afterExit,
  type ContainerExit,
  describeExit,
  type ExitReason,
  type RestartPolicy,
  type RestartRules
} from "../../../domain/RestartRules.js"
import type { PodStatus as PodPhase } from "../../../domain/Workload.js"
import type { PodReport } from "../../../domain/PodReport.js"
import type { PodEventAction } from "./PodEventBuffer.js"

/** "" no probe | starting (no verdict yet) | healthy | unhealthy */
export type Health = "" | "starting" | "healthy" | "unhealthy"

export interface LastExit {
  readonly code: number
  readonly reason: ExitReason
  readonly atMs: number
}

export interface PodState {
  readonly status: PodPhase
  readonly containerId: string
  readonly containerIp: string
  readonly restartCount: number
  readonly message: string
  /** restarting: when the replacement container is due (epoch ms) */
  readonly restartAtMs: number | undefined
  /** the restart policy has spoken (failed on exit, crash loop): leave the pod alone until reassigned */
  readonly settled: boolean
  readonly health: Health
  /** since when the pod is continuously healthy (running; and passing its probe when it has one) */
  readonly healthySinceMs: number | undefined
  /** the container stopped because it failed its health check ("" none): stop it, never adopt it again */
  readonly condemned: string
  readonly lastExit: LastExit | undefined
  /** start of the current container (epoch ms), 0 when none runs */
  readonly startedAtMs: number
  /** a container of this pod ran before: the next start is a "restarted" */
  readonly everStarted: boolean
}

export const initialPodState: PodState = {
  status: "pending",
  containerId: "",
  containerIp: "",
  restartCount: 0,
  message: "",
  restartAtMs: undefined,
  settled: false,
  health: "",
  healthySinceMs: undefined,
  condemned: "",
  lastExit: undefined,
  startedAtMs: 0,
  everStarted: false
}

export interface PodEventDraft {
  readonly action: PodEventAction
  readonly message: string
  readonly exitCode: number
}

/** How a container ended, as this node saw it. */
export interface ContainerEnd extends ContainerExit {
  readonly containerId: string
  readonly reason: ExitReason
  /** when it ended (epoch ms) */
  readonly atMs: number
  /** for Unhealthy: what the probe said */
  readonly detail?: string
}

/**
 * The pod after its container ended, and what to announce: restart after the backoff, or settle
 * as failed (the policy says no) or crash-looping (the restart allowance is used up).
 */
export const containerEnded = (
  policy: RestartPolicy,
  state: PodState,
  end: ContainerEnd,
  nowMs: number,
  rules: RestartRules
): { readonly state: PodState; readonly events: ReadonlyArray<PodEventDraft> } => {
  const what = `container ${describeExit(end.reason, end)}${end.detail ? ` (${end.detail})` : ""}`
  const ended: PodEventDraft = {
    action: end.reason === "OOMKilled" ? "OOMKilled" : end.reason === "Unhealthy" ? "unhealthy" : "died",
    message: what,
    exitCode: end.code
  }
  const base: PodState = {
    ...state,
    containerId: end.containerId,
    restartAtMs: undefined,
    health: state.health === "" ? "" : end.reason === "Unhealthy" ? "unhealthy" : state.health,
    healthySinceMs: undefined,
    lastExit: { code: end.code, reason: end.reason, atMs: end.atMs },
    startedAtMs: 0
  }
  const decision = afterExit(policy, end.reason, state.restartCount, rules)
  switch (decision._tag) {
    case "Failed":
      return {
        state: { ...base, status: "failed", message: what, settled: true },
        events: [ended, { action: "failed", message: `${what}; restart policy ${policy}: not restarting`, exitCode: end.code }]
      }
    case "CrashLoop": {
      const message = `${what}; crash loop after ${state.restartCount} restarts, not restarting`
      return {
        state: { ...base, status: "crashloopbackoff", message, settled: true },
        events: [ended, { action: "crashloop", message, exitCode: end.code }]
      }
    }
    case "Restart":
      return {
        state: {
          ...base,
          status: "restarting",
          restartCount: decision.restart,
          restartAtMs: nowMs + Duration.toMillis(decision.delay),
          message: `${what}; restart ${decision.restart} in ${formatDuration(decision.delay)}`,
          settled: false
        },
        events: [ended]
      }
  }
}

/** The pod as the ping reports it. */
export const toPodReport = (podId: string, s: PodState): PodReport => ({
  podId,
  status: s.status,
  containerId: s.containerId,
  containerIp: s.containerIp,
  restartCount: s.restartCount,
  message: s.message,
  exited: s.lastExit !== undefined,
  exitCode: s.lastExit?.code ?? 0,
  reason: s.lastExit?.reason ?? "",
  health: s.health,
  lastExitAtMs: s.lastExit?.atMs ?? 0,
  startedAtMs: s.startedAtMs
})
