// Pod reports and events as a node sends them, from the fields a test cares about: every other
// field is "" / 0 / false, in the order a decoded ping has them (as the generated fromPartial did).
import type { PodEvent, PodReport } from "../../../src/domain/PodReport.js"

const noReport: PodReport = {
  podId: "",
  status: "",
  containerId: "",
  containerIp: "",
  restartCount: 0,
  message: "",
  exited: false,
  exitCode: 0,
  reason: "",
  health: "",
  lastExitAtMs: 0,
  startedAtMs: 0
}

const noEvent: PodEvent = { podId: "", action: "", message: "", atMs: 0, exitCode: 0 }

export const podReport = (fields: Partial<PodReport>): PodReport => ({ ...noReport, ...fields })

export const podEvent = (fields: Partial<PodEvent>): PodEvent => ({ ...noEvent, ...fields })
