// helyosd's TLS flags as toDaemonConfig sees them: refusals happen there, before anything starts.
import { Either, Option } from "effect"
import { describe, expect, it } from "vitest"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const API_TOKEN = `nxa-api_${"ab".repeat(32)}`

describe("toDaemonConfig: REST TLS", () => {
  it("passes the TLS settings through", async () => {
    const config = Either.getOrThrow(toDaemonConfig(await parse(["--tls", "on", "--tls-san", "api.example.test", "--tls-san", "10.0.0.9"])))
    expect(config.apiTls).toEqual({
      mode: "on", certFile: Option.none(), keyFile: Option.none(), sans: ["api.example.test", "10.0.0.9"], insecureHttp: false
    })
  })

  it("the defaults (127.0.0.1, --tls auto) and HTTPS on 0.0.0.0 start", async () => {
    expect(await problem()).toBeUndefined()
    expect(await problem("--host", "0.0.0.0")).toBeUndefined()
  })

  it("refuses plain HTTP on 0.0.0.0, and --insecure-http without a token", async () => {
    expect(await problem("--host", "0.0.0.0", "--tls", "off")).toMatch(/^refusing to serve a non-loopback address \(0\.0\.0\.0\) over plain HTTP;/)
    expect(await problem("--host", "0.0.0.0", "--tls", "off", "--insecure-http")).toMatch(/^refusing to expose a non-loopback address with no API token/)
  })

  it("accepts --tls off --insecure-http on 0.0.0.0 once --api-token is configured", async () => {
    expect(await problem("--host", "0.0.0.0", "--tls", "off", "--insecure-http", "--api-token", API_TOKEN)).toBeUndefined()
  })

  it("a worker serves no API, so the REST guardrails do not apply to it", async () => {
    expect(await problem(
      "--mode", "worker", "--host", "0.0.0.0", "--tls", "off", "--join", "127.0.0.1:6444", "--token", `nxa_${"ab".repeat(32)}`,
      "--insecure-skip-ca-verify"
    )).toBeUndefined()
  })

  it("refuses half a brought certificate and a malformed --tls-san", async () => {
    expect(await problem("--tls-key", "/k.pem")).toBe("--tls-key needs --tls-cert (the certificate it belongs to)")
    expect(await problem("--tls-san", "bad name")).toBe("--tls-san: 'bad name' is not a DNS name or an IP address")
  })
})
