// What a pod's exit or failed health check means and when it runs again: the documented numbers
// (concepts/health-and-restart) in one place, and the pure decisions the node-side runtime applies.
import { Duration } from "effect"
// type only: Workload imports DeploymentSpec, which imports these rules
import type { PodStatus } from "./Workload.js"

/** Every number of the restart ladder; the runtime takes these as an option so tests can shrink them. */
export interface RestartRules {
  /** delay before the first restart; doubles with every restart */
  readonly backoffBase: Duration.Duration
  /** the longest delay between two restarts */
  readonly backoffCap: Duration.Duration
  /** restarts allowed without sustained recovery; the next exit is a crash loop */
  readonly crashLoopAfter: number
  /** continuous health (running, and healthy when probed) that starts the counter over */
  readonly resetAfter: Duration.Duration
}

/** The documented rules: 1 s doubling, capped at 300 s; crash loop after 10; reset after 600 s. */
export const defaultRestartRules: RestartRules = {
  backoffBase: Duration.seconds(1),
  backoffCap: Duration.seconds(300),
  crashLoopAfter: 10,
  resetAfter: Duration.seconds(600)
}

/** Documented health-check defaults (deployment spec `healthcheck`). */
export const HEALTHCHECK_DEFAULTS = {
  interval: Duration.seconds(10),
  timeout: Duration.seconds(5),
  retries: 3
} as const

/** Delay before restart number n (1-based): min(cap, base * 2^(n-1)). */
export const restartDelay = (n: number, rules: RestartRules = defaultRestartRules): Duration.Duration => {
  const factor = 2 ** Math.max(0, n - 1)
  // 2^n overflows to Infinity for huge n; the cap holds anyway
  const ms = Duration.toMillis(rules.backoffBase) * factor
  return Duration.min(rules.backoffCap, Number.isFinite(ms) ? Duration.millis(ms) : rules.backoffCap)
}

export type RestartPolicy = "always" | "onfailure" | "never"

/** The policy a pod assignment carries ("" from an older master means the default). */
export const restartPolicyOf = (text: string): RestartPolicy =>
  text === "onfailure" || text === "never" ? text : "always"

/** Why a pod's container ended, as users see it. */
export type ExitReason = "OOMKilled" | "Error" | "Completed" | "Unhealthy"

/** How a container ended: its exit code and whether the kernel killed it for memory. */
export interface ContainerExit {
  readonly code: number
  readonly oomKilled: boolean
}

/** 137 with OOMKilled set is the OOM killer; any other non-zero is an error; zero completed. */
export const exitReason = (exit: ContainerExit): ExitReason =>
  exit.oomKilled ? "OOMKilled" : exit.code === 0 ? "Completed" : "Error"

/** Does the policy restart after this? A failed health check counts as a failure, never as success. */
export const restartsAfter = (policy: RestartPolicy, reason: ExitReason): boolean =>
  policy === "always" || (policy === "onfailure" && reason !== "Completed")

/** What happens to a pod after its container ended. */
export type AfterExit =
  | { readonly _tag: "Restart"; readonly restart: number; readonly delay: Duration.Duration }
  | { readonly _tag: "Failed" }
  | { readonly _tag: "CrashLoop" }

/**
 * The decision for a pod that has been restarted `restarts` times so far: settled `Failed` when the
 * policy says no, `CrashLoop` once the allowance is used up, else restart number restarts+1 after its backoff.
 */
export const afterExit = (
  policy: RestartPolicy,
  reason: ExitReason,
  restarts: number,
  rules: RestartRules = defaultRestartRules
): AfterExit => {
  if (!restartsAfter(policy, reason)) return { _tag: "Failed" }
  if (restarts >= rules.crashLoopAfter) return { _tag: "CrashLoop" }
  const restart = restarts + 1
  return { _tag: "Restart", restart, delay: restartDelay(restart, rules) }
}

/** Has the pod been healthy long enough (since `healthySinceMs`) to start the counter over? */
export const recovered = (healthySinceMs: number | undefined, nowMs: number, rules: RestartRules = defaultRestartRules) =>
  healthySinceMs !== undefined && nowMs - healthySinceMs >= Duration.toMillis(rules.resetAfter)

/** "exited with code 1", "was OOMKilled (exit code 137)", "failed its health check". */
export const describeExit = (reason: ExitReason, exit: ContainerExit): string => {
  switch (reason) {
    case "OOMKilled":
      return `was OOMKilled (exit code ${exit.code})`
    case "Unhealthy":
      return "failed its health check"
    default:
      return `exited with code ${exit.code}`
  }
}

/** A pod that stopped trying: failed for good, or in a crash loop. Only a redeploy starts it afresh. */
export const gaveUp = (status: PodStatus): boolean => status === "failed" || status === "crashloopbackoff"
