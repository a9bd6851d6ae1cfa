// helyosd's --metrics-port as toDaemonConfig sees it: 6445 by default, 0 allowed (any free port), and
// out-of-range ports refused before anything starts.
import { Either } from "effect"
import { describe, expect, it } from "vitest"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { defaults } from "../../src/services/DaemonConfig.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const metricsPortOf = async (...args: ReadonlyArray<string>) => Either.getOrThrow(toDaemonConfig(await parse(args))).metricsPort

describe("toDaemonConfig: --metrics-port", () => {
  it("defaults to 6445 and takes 0 or any valid port", async () => {
    expect(defaults.metricsPort).toBe(6445)
    expect(await metricsPortOf()).toBe(6445)
    expect(await metricsPortOf("--metrics-port", "0")).toBe(0)
    expect(await metricsPortOf("--metrics-port", "9100")).toBe(9100)
  })

  it("refuses a port out of range", async () => {
    expect(await problem("--metrics-port", "70000")).toBe("--metrics-port must be between 0 and 65535, got 70000")
    expect(await problem("--metrics-port", "-1")).toBe("--metrics-port must be between 0 and 65535, got -1")
  })
})
