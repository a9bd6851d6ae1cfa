// Timestamps as the REST API, the event feed and the CLI show them: one spelling, from epoch milliseconds
// the caller read from Effect's Clock (so tests under TestClock see their own time).

/** RFC 3339 UTC with milliseconds (`2026-07-01T12:00:00.000Z`), as every timestamp in the API. */
export const rfc3339 = (epochMs: number): string => new Date(epochMs).toISOString()
