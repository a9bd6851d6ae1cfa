// What a node tells the master about its pods with every ping: each pod's status (PodReport) and what
// happened to them since the previous ping (PodEvent). The fields are what the node sends, as it sends
// them (plain strings and numbers, "" or 0 for none): a master reads thousands of these per heartbeat,
// so nothing decodes them per ping; the reconciler checks what it uses (e.g. the status literal).
import { Schema } from "effect"

/** One pod's state on its node. */
export const PodReport = Schema.Struct({
  podId: Schema.String,
  /** pending | creating | running | stopping | stopped | failed | restarting | crashloopbackoff */
  status: Schema.String,
  containerId: Schema.String,
  containerIp: Schema.String,
  restartCount: Schema.Number,
  /** why a pod failed (e.g. "image 'x' not found"); empty otherwise */
  message: Schema.String,
  /** the last exit of the pod's container, if it ever exited */
  exited: Schema.Boolean,
  exitCode: Schema.Number,
  /** why the last container ended: OOMKilled | Error | Completed | Unhealthy; empty while none did */
  reason: Schema.String,
  /** probe verdict: "" (no health check) | starting | healthy | unhealthy */
  health: Schema.String,
  /** epoch ms of the last exit (0 = none) */
  lastExitAtMs: Schema.Number,
  /** epoch ms of the current container's start (0 = not running) */
  startedAtMs: Schema.Number
})
export interface PodReport extends Schema.Schema.Type<typeof PodReport> {}

/**
 * One thing that happened to a pod where it runs: started | died | OOMKilled | unhealthy | restarted |
 * crashloop | failed. The master adds it to the cluster's event stream.
 */
export const PodEvent = Schema.Struct({
  podId: Schema.String,
  action: Schema.String,
  message: Schema.String,
  atMs: Schema.Number,
  exitCode: Schema.Number
})
export interface PodEvent extends Schema.Schema.Type<typeof PodEvent> {}
