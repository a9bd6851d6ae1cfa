// Secrets out of `ps`: the join token and the API token can come from a file or the environment; a
// token on the command line still works, and giving one twice is refused.
import { Either, Option, Redacted } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterEach, describe, expect, it } from "vitest"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const joinToken = `nxa_${"a".repeat(64)}`
const apiToken = `nxa-api_${"b".repeat(64)}`
const worker = ["--mode", "worker", "--join", "10.0.1.1:6444"]

const secretFile = (content: string) => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "helyos-token-")), "token")
  fs.writeFileSync(file, content, { mode: 0o600 })
  return file
}
const configOf = async (args: ReadonlyArray<string>) => Either.getOrThrow(toDaemonConfig(await parse(args)))
const tokenOf = (token: Option.Option<Redacted.Redacted<string>>) => Option.map(token, Redacted.value)

afterEach(() => {
  delete process.env.HELYOS_JOIN_TOKEN
})

describe("toDaemonConfig: where the tokens come from", () => {
  it("the join token from --token, --token-file (trimmed) or HELYOS_JOIN_TOKEN", async () => {
    expect(tokenOf((await configOf([...worker, "--token", joinToken])).joinToken)).toEqual(Option.some(joinToken))
    expect(tokenOf((await configOf([...worker, "--token-file", secretFile(`${joinToken}\n`)])).joinToken)).toEqual(Option.some(joinToken))
    process.env.HELYOS_JOIN_TOKEN = joinToken
    expect(tokenOf((await configOf(worker)).joinToken)).toEqual(Option.some(joinToken))
  })

  it("the API token from --api-token-file", async () => {
    expect(tokenOf((await configOf(["--api-token-file", secretFile(apiToken)])).apiToken)).toEqual(Option.some(apiToken))
  })

  it("refuses a token given twice, an empty file, a malformed token from a file, and a worker with none", async () => {
    expect(await problem(...worker, "--token", joinToken, "--token-file", secretFile(joinToken))).toMatch(/both give the token: keep one/)
    expect(await problem(...worker, "--token-file", secretFile("\n"))).toMatch(/--token-file .* is empty/)
    expect(await problem(...worker, "--token-file", secretFile("nxa_short"))).toMatch(/^--token: /)
    expect(await problem(...worker)).toMatch(/--token nxa_…, --token-file FILE or HELYOS_JOIN_TOKEN/)
  })
})
