// Secrets into pods: a pod's assignment carries its template's env with the project's secrets,
// decrypted, on top. A pod's secrets are read once, when it is first assigned, and kept (in memory
// only) for its life: later changes reach new pods (a redeploy rolls them), never running ones.
import { Effect, Either, Redacted } from "effect"
import type { PodId } from "../../domain/Workload.js"
import type { PodAssignment } from "../../domain/PodAssignment.js"
import type { SecretStore } from "../../services/security/SecretStore.js"
import { assignedPods, type ParseTemplate } from "./Assignments.js"
import type { PodRow, Store } from "./Store.js"

const noSecrets: Readonly<Record<string, string>> = {}

const podLabel = (pod: PodRow) => `pod ${pod.project}/${pod.deploymentName}-${pod.replicaIndex} (${pod.id.slice(0, 8)})`

export const makeSecretEnv = (secrets: SecretStore["Type"], store: Store, parseTemplate: ParseTemplate) => {
  const pinned = new Map<PodId, Readonly<Record<string, string>>>()
  // pods already told about (running without a secret that disappeared): warn once, not every pass
  const warned = new Set<PodId>()

  /** The secret env of one pod, resolving and pinning it on first use; None when it cannot be had. */
  const envOf = (pod: PodRow) =>
    Effect.gen(function*() {
      const names = parseTemplate(pod.templateJson).secrets
      if (names.length === 0) return Either.right(noSecrets)
      const known = pinned.get(pod.id)
      if (known !== undefined) return Either.right(known)
      const resolved = yield* Effect.either(secrets.resolve(pod.project, names))
      if (Either.isLeft(resolved)) return Either.left(resolved.left.message)
      const env: Record<string, string> = {}
      for (const [name, value] of resolved.right.values) env[name] = Redacted.value(value)
      pinned.set(pod.id, env)
      return Either.right(env)
    })

  /**
   * The assignments of a node's run pods. A pod whose secrets cannot be resolved and that never had
   * a container is failed with the reason and left out: it must not start without them. One that
   * runs already keeps running (its container has its environment), assigned without them.
   */
  const assign = (pods: ReadonlyArray<PodRow>): Effect.Effect<Array<PodAssignment>> =>
    Effect.gen(function*() {
      // the common case (no pod uses secrets) stays one synchronous scan
      if (pods.every((pod) => parseTemplate(pod.templateJson).secrets.length === 0)) return assignedPods(pods, parseTemplate)
      const envs = new Map<PodId, Readonly<Record<string, string>>>()
      const included: Array<PodRow> = []
      for (const pod of pods) {
        const env = yield* envOf(pod)
        if (Either.isRight(env)) {
          envs.set(pod.id, env.right)
          included.push(pod)
          continue
        }
        const message = env.left
        if (pod.containerId === null) {
          if (pod.status !== "failed" || pod.message !== message) {
            yield* store.updatePod(pod.id, { status: "failed", message })
            yield* Effect.logWarning(`${podLabel(pod)} failed: ${message}`)
          }
          continue
        }
        if (!warned.has(pod.id)) {
          warned.add(pod.id)
          yield* Effect.logWarning(`${podLabel(pod)} keeps running, but ${message}: if it restarts, it starts without its secrets`)
        }
        included.push(pod)
      }
      return assignedPods(included, parseTemplate, (pod) => envs.get(pod.id) ?? noSecrets)
    })

  /** Forget pods that are no longer wanted anywhere (their values leave memory). */
  const retain = (runPodIds: ReadonlySet<PodId>) =>
    Effect.sync(() => {
      for (const id of pinned.keys()) if (!runPodIds.has(id)) pinned.delete(id)
      for (const id of warned) if (!runPodIds.has(id)) warned.delete(id)
    })

  return { assign, retain } as const
}

export type SecretEnv = ReturnType<typeof makeSecretEnv>
