// The verdict of one health probe, with what a user reads when it failed.
export interface ProbeResult {
  /** inconclusive: the node could not ask (engine away); counts neither way */
  readonly verdict: "healthy" | "unhealthy" | "inconclusive"
  /** why it failed ("GET /health answered 503", "no answer within 5s"); empty when healthy */
  readonly detail: string
}

export const healthy: ProbeResult = { verdict: "healthy", detail: "" }

export const unhealthy = (detail: string): ProbeResult => ({ verdict: "unhealthy", detail })

export const inconclusive = (detail: string): ProbeResult => ({ verdict: "inconclusive", detail })
