// helyos/testkit as a package export: what `npm run build` puts in dist/ is what Node resolves for
// `import … from "helyos/testkit"` (package self-reference; tests here use the source, see vitest.config.ts).
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const root = fileURLToPath(new URL("../..", import.meta.url))
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as {
  readonly exports: Record<string, Record<string, string>>
}
const entry = pkg.exports["./testkit"]!
const built = existsSync(path.join(root, entry.default!))

describe("helyos/testkit", () => {
  it("is exported with its types, from dist/ for users and from the source for this repository", () => {
    expect(entry).toEqual({
      "helyos-source": "./src/testkit/index.ts",
      types: "./dist/src/testkit/index.d.ts",
      default: "./dist/src/testkit/index.js"
    })
  })

  it.skipIf(!built)("resolves from Node to the build, with declarations beside it (after npm run build)", () => {
    expect(existsSync(path.join(root, entry.types!))).toBe(true)
    const script = `const m = await import("helyos/testkit"); console.log(import.meta.resolve("helyos/testkit")); console.log(Object.keys(m).sort().join(","))`
    const [resolved, names] = execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: root, encoding: "utf8" }).trim().split("\n")
    expect(resolved).toBe(new URL(entry.default!, `file://${root.endsWith("/") ? root : `${root}/`}`).href)
    expect(names).toBe("FaultRuns,Invariants,SimCluster,make")
  })
})
