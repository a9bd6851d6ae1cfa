// A worker's cluster-trust flags as toDaemonConfig sees them: bad pins are refused before anything starts.
import { Either, Option } from "effect"
import { describe, expect, it } from "vitest"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const worker = ["--mode", "worker", "--join", "10.0.1.1:6444", "--token", `nxa_${"a".repeat(64)}`]
const fingerprint = `sha256:${"9f".repeat(32)}`

describe("toDaemonConfig: cluster trust", () => {
  it("passes the pinned fingerprint through (any spelling the docs allow)", async () => {
    for (const spelling of [fingerprint, fingerprint.toUpperCase(), "9f:".repeat(31) + "9f"]) {
      const config = Either.getOrThrow(toDaemonConfig(await parse([...worker, "--ca-fingerprint", spelling])))
      expect(config.clusterTrust).toEqual({ caFingerprint: Option.some(spelling), insecureSkipCaVerify: false })
    }
  })

  it("a worker without a pin still starts (a saved grpc-ca.pem may do; it refuses later if not)", async () => {
    expect(await problem(...worker)).toBeUndefined()
    expect(await problem(...worker, "--insecure-skip-ca-verify")).toBeUndefined()
  })

  it("refuses a fingerprint that is not a SHA-256", async () => {
    expect(await problem(...worker, "--ca-fingerprint", "sha256:abc")).toBe(
      "--ca-fingerprint must be sha256:<64 hex digits> as the master printed it, got 'sha256:abc'"
    )
    expect(await problem(...worker, "--ca-fingerprint", `md5:${"ab".repeat(32)}`)).toMatch(/^--ca-fingerprint must be/)
  })

  it("refuses a pin together with --insecure-skip-ca-verify, and both flags outside worker mode", async () => {
    expect(await problem(...worker, "--ca-fingerprint", fingerprint, "--insecure-skip-ca-verify")).toMatch(/contradict each other/)
    expect(await problem("--mode", "master", "--ca-fingerprint", fingerprint)).toMatch(/^--ca-fingerprint is a worker flag/)
    expect(await problem("--insecure-skip-ca-verify")).toBe("--insecure-skip-ca-verify is a worker flag")
  })
})
