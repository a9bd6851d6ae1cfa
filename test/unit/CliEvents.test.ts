// How the CLI shows events and pods: the human event line, SSE parsing (events, lag warnings,
// keepalive comments, messages split across chunks) and the LAST EXIT column of `helyos pods`.
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Stream } from "effect"
import { eventLine, sseItems } from "../../src/programs/cli/EventsCommands.js"
import { lastExit } from "../../src/programs/cli/WorkloadsCommands.js"

const event = {
  timestamp: "2026-11-24T22:03:04.123Z",
  kind: "pod" as const,
  name: "web-0",
  action: "restarted",
  message: "exited with code 1; restart 2 in 2s"
}

describe("helyos events", () => {
  it("prints one line per event, timestamp to the second", () => {
    expect(eventLine(event)).toBe("2026-11-24T22:03:04Z  pod  web-0  restarted  exited with code 1; restart 2 in 2s")
  })

  it.effect("reads SSE: events and warnings, comments skipped, messages split anywhere across chunks", () =>
    Effect.gen(function*() {
      const text = `: connected\n\ndata: ${JSON.stringify(event)}\n\n: keepalive\n\ndata: {"warning":"missed 5 events"}\n\ndata: not json\n\n`
      // cut into 7-character chunks: no message arrives whole
      const chunks = text.match(/[\s\S]{1,7}/g)!
      const items = Chunk.toReadonlyArray(yield* Stream.runCollect(sseItems(Stream.fromIterable(chunks))))
      expect(items).toEqual([
        { _tag: "Event", event },
        { _tag: "Warning", warning: "missed 5 events" },
        { _tag: "Warning", warning: "unreadable event from helyosd: not json" }
      ])
    }))
})

describe("helyos pods: LAST EXIT", () => {
  it("shows the reason and the exit code, or a dash while the pod never exited", () => {
    expect(lastExit({ reason: "Error", exit_code: 1 })).toBe("Error (exit 1)")
    expect(lastExit({ reason: "OOMKilled", exit_code: 137 })).toBe("OOMKilled (exit 137)")
    expect(lastExit({ reason: "Unhealthy", exit_code: null })).toBe("Unhealthy")
    expect(lastExit({ reason: null, exit_code: null })).toBe("-")
  })
})
