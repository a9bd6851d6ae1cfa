// Node reports, answered from memory when the same report changed nothing last time (the quiet cache).
// A steady node pings the same statuses over and over: against the same pods and generation, no lock, no SQL.
import { Effect } from "effect"
import type { NodeId } from "../../domain/Node.js"
import type { PodEvent, PodReport } from "../../domain/PodReport.js"
import type { NodeRegistry } from "../../services/cluster/NodeRegistry.js"
import type { Generations } from "./Assignments.js"
import type { Reconciler, WriterLock } from "./Reconciler.js"
import type { Store } from "./Store.js"

export interface QuietReportsDeps {
  readonly store: Store
  readonly registry: NodeRegistry["Type"]
  readonly generations: Generations
  readonly reconciler: Pick<Reconciler, "report" | "podEvents">
  readonly serialized: WriterLock
}

/** What a quiet report was checked against: the same again against the same would change nothing either. */
interface Quiet {
  readonly key: string
  /** the store's pod-write counter then: any pod written since and the report may matter again */
  readonly podWrites: number
  /** the generation last sent to the node then: a new set and its report must be looked at */
  readonly lastSent: number | undefined
}

const reportKey = (statuses: ReadonlyArray<PodReport>, appliedGeneration: number) =>
  `${appliedGeneration}|${JSON.stringify(statuses)}`

export const makeQuietReports = (deps: QuietReportsDeps) => {
  const { generations, reconciler, registry, serialized, store } = deps
  /**
   * The last report of each node that changed nothing, with what it was checked against. Every ping of
   * a steady node is one of these: answered with no lock and no SQL.
   */
  const quiet = new Map<NodeId, Quiet>()

  /** A node's report (worker ping, or the local node's poll): looked at under the lock unless it is quiet. */
  const report = (
    id: NodeId,
    statuses: ReadonlyArray<PodReport>,
    appliedGeneration: number,
    podEvents: ReadonlyArray<PodEvent>
  ) =>
    Effect.gen(function*() {
      // before the quiet shortcut: a ping's events are news even when its statuses are not
      yield* reconciler.podEvents(id, podEvents)
      const key = reportKey(statuses, appliedGeneration)
      const lastSent = yield* generations.lastSent(id)
      const known = quiet.get(id)
      if (known !== undefined && known.key === key && known.lastSent === lastSent && known.podWrites === (yield* store.podWrites)) {
        return
      }
      yield* serialized(Effect.gen(function*() {
        const before = yield* store.podWrites
        const sentBefore = yield* generations.lastSent(id)
        yield* reconciler.report(id, statuses, appliedGeneration)
        if ((yield* store.podWrites) === before) quiet.set(id, { key, podWrites: before, lastSent: sentBefore })
        else quiet.delete(id)
      }))
    })

  /** Forget the quiet reports of nodes that are gone (run from the loop; no registry read while none is kept). */
  const forgetGone = Effect.gen(function*() {
    if (quiet.size === 0) return
    const ids = new Set((yield* registry.list).map((n) => n.id))
    for (const id of quiet.keys()) if (!ids.has(id)) quiet.delete(id)
  })

  return { report, forgetGone } as const
}
