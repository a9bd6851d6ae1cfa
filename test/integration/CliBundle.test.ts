// The built CLI (npm run build → dist/cli, scripts/build-cli.mjs): a small entry that does not carry
// Effect, and one bundle per command module whose V8 code cache this Node accepts. Needs the build.
import { readdirSync, readFileSync, statSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { cacheAccepted } from "../../src/programs/cli/CommandBundles.js"

const dist = path.resolve(import.meta.dirname, "../../dist/cli")
const commands = path.join(dist, "commands")

describe("the CLI bundle", () => {
  it("the entry reads the command line and prints help without Effect: small, no effect runtime in it", () => {
    const entry = readFileSync(path.join(dist, "helyos.js"), "utf8")
    expect(statSync(path.join(dist, "helyos.js")).size).toBeLessThan(64 * 1024)
    expect(entry).not.toMatch(/effect\/(Effect|Schema|Layer)|FiberRuntime|runFork/)
  })

  it("has one bundle per command module of Commands.ts, each with a code cache V8 accepts", () => {
    const source = readFileSync(path.resolve(import.meta.dirname, "../../src/programs/cli/Commands.ts"), "utf8")
    const modules = [...new Set([...source.matchAll(/import\("\.\/(\w+)\.js"\)/g)].map((m) => m[1]!))].sort()
    const bundles = readdirSync(commands).filter((f) => f.endsWith(".cjs")).map((f) => f.replace(/\.cjs$/, "")).sort()
    expect(bundles).toEqual(modules)
    for (const name of bundles) expect(cacheAccepted(path.join(commands, `${name}.cjs`)), name).toBe(true)
  })

  it("leaves undici out of the bundles (NodeHttpClient's undici client is never used by the CLI)", () => {
    for (const file of readdirSync(commands).filter((f) => f.endsWith(".cjs"))) {
      // undici's error codes (UND_ERR_…) are in every part of it
      expect(readFileSync(path.join(commands, file), "utf8").includes("UND_ERR"), file).toBe(false)
    }
  })
})
