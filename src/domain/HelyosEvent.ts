// One line of the cluster's event stream (GET /api/v1/events, `helyos events`, `helyos top`).
import { Schema } from "effect"

/**
 * What changed. Actions by kind:
 * - node: joined | ready | notready | dead | drained | undrained | removed
 * - pod: scheduled | started | died | OOMKilled | unhealthy | restarted | crashloop | failed | rescheduled | stopped
 * - deployment: created | updated | scaled | stopped | removed | restarted
 */
export const EventKind = Schema.Literal("node", "pod", "deployment", "project")
export type EventKind = typeof EventKind.Type

export const HelyosEvent = Schema.Struct({
  /** RFC 3339 UTC, e.g. 2026-11-24T22:03:04.123Z */
  timestamp: Schema.String,
  kind: EventKind,
  /** node name, pod name (as `helyos pods` shows it), or `<project>/<deployment>` */
  name: Schema.String,
  action: Schema.String,
  message: Schema.String
})
export type HelyosEvent = typeof HelyosEvent.Type

/** What a subscriber receives: an event, or how many it missed because it fell behind. */
export type EventFeedItem =
  | { readonly _tag: "Event"; readonly event: HelyosEvent }
  | { readonly _tag: "Missed"; readonly count: number }
