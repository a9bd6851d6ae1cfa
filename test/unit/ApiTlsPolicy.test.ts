// How the REST API is served, decided from flags alone: scheme, cleartext guardrails, SANs.
import { describe, expect, it } from "vitest"
import {
  apiScheme,
  type ApiTlsFlags,
  apiTlsProblem,
  isLoopbackHost,
  isValidSan,
  noTokenRefusal,
  plainHttpRefusal,
  urlOf,
  wantedSans
} from "../../src/domain/ApiTlsPolicy.js"

const flags = (over: Partial<ApiTlsFlags> = {}): ApiTlsFlags => ({
  mode: "auto",
  host: "127.0.0.1",
  hasCertFile: false,
  hasKeyFile: false,
  sans: [],
  insecureHttp: false,
  apiTokenConfigured: false,
  ...over
})

describe("loopback", () => {
  it("localhost, 127.0.0.0/8 and ::1 (any spelling) are loopback", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"]) {
      expect(isLoopbackHost(host), host).toBe(true)
    }
  })

  it("wildcards, LAN addresses and names are not", () => {
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "128.0.0.1", "example.com", "::2", "fe80::1"]) {
      expect(isLoopbackHost(host), host).toBe(false)
    }
  })
})

describe("scheme", () => {
  it("auto is HTTP on loopback and HTTPS everywhere else", () => {
    expect(apiScheme("auto", "127.0.0.1")).toBe("http")
    expect(apiScheme("auto", "localhost")).toBe("http")
    expect(apiScheme("auto", "0.0.0.0")).toBe("https")
    expect(apiScheme("auto", "10.0.0.5")).toBe("https")
  })

  it("on forces HTTPS even on loopback; off is always HTTP", () => {
    expect(apiScheme("on", "127.0.0.1")).toBe("https")
    expect(apiScheme("off", "0.0.0.0")).toBe("http")
  })
})

describe("guardrails", () => {
  it("the defaults (loopback, auto) and HTTPS anywhere are fine", () => {
    expect(apiTlsProblem(flags())).toBeUndefined()
    expect(apiTlsProblem(flags({ host: "0.0.0.0" }))).toBeUndefined()
    expect(apiTlsProblem(flags({ host: "0.0.0.0", mode: "on" }))).toBeUndefined()
  })

  it("plain HTTP on a non-loopback bind is refused with the documented two lines", () => {
    const problem = apiTlsProblem(flags({ host: "0.0.0.0", mode: "off" }))
    expect(problem).toBe(plainHttpRefusal("0.0.0.0"))
    expect(problem!.split("\n")).toEqual([
      "refusing to serve a non-loopback address (0.0.0.0) over plain HTTP;",
      "use --tls on, or pass BOTH --tls off and --insecure-http"
    ])
  })

  it("--insecure-http alone is not enough: it needs --tls off too", () => {
    // auto on a LAN address is HTTPS, so --insecure-http changes nothing and nothing is refused
    expect(apiTlsProblem(flags({ host: "10.0.0.5", insecureHttp: true }))).toBeUndefined()
    expect(apiScheme("auto", "10.0.0.5")).toBe("https")
  })

  it("--tls off --insecure-http still needs a token the operator configured", () => {
    const problem = apiTlsProblem(flags({ host: "0.0.0.0", mode: "off", insecureHttp: true }))
    expect(problem).toBe(noTokenRefusal)
    expect(problem!.split("\n")).toEqual([
      "refusing to expose a non-loopback address with no API token configured;",
      "set --api-token / HELYOS_API_TOKEN first"
    ])
    expect(apiTlsProblem(flags({ host: "0.0.0.0", mode: "off", insecureHttp: true, apiTokenConfigured: true })))
      .toBeUndefined()
  })

  it("loopback binds are never subject to the guardrails", () => {
    expect(apiTlsProblem(flags({ host: "127.0.0.1", mode: "off" }))).toBeUndefined()
    expect(apiTlsProblem(flags({ host: "::1", mode: "off" }))).toBeUndefined()
  })

  it("a certificate without its key (or a key without its certificate) is refused", () => {
    expect(apiTlsProblem(flags({ hasCertFile: true }))).toBe("--tls-cert needs --tls-key (the certificate's private key)")
    expect(apiTlsProblem(flags({ hasKeyFile: true }))).toBe("--tls-key needs --tls-cert (the certificate it belongs to)")
    expect(apiTlsProblem(flags({ hasCertFile: true, hasKeyFile: true, mode: "on" }))).toBeUndefined()
  })

  it("--tls off with a brought certificate is a contradiction", () => {
    expect(apiTlsProblem(flags({ mode: "off", hasCertFile: true, hasKeyFile: true })))
      .toBe("--tls off contradicts --tls-cert/--tls-key; drop one of them")
  })

  it("a --tls-san that is neither a DNS name nor an IP is refused, naming it", () => {
    expect(apiTlsProblem(flags({ sans: ["api.example.com", "10.0.0.9", "*.example.com"] }))).toBeUndefined()
    expect(apiTlsProblem(flags({ sans: ["not a name"] }))).toBe("--tls-san: 'not a name' is not a DNS name or an IP address")
    expect(apiTlsProblem(flags({ sans: ["-bad.example"] }))).toContain("'-bad.example'")
  })
})

describe("SANs", () => {
  const base = { advertiseAddr: undefined, extra: [], hostname: "node-1", interfaceAddresses: ["192.168.1.20"] }

  it("always localhost, 127.0.0.1 and ::1, plus the bind host, the hostname, --advertise-addr and each --tls-san", () => {
    expect(wantedSans({ ...base, host: "10.0.0.5", advertiseAddr: "api.example.com", extra: ["10.9.9.9", "Extra.Example"] }))
      .toEqual(["localhost", "127.0.0.1", "::1", "10.9.9.9", "extra.example", "node-1", "10.0.0.5", "api.example.com"])
  })

  it("a wildcard bind names no host: the interface addresses stand in for it", () => {
    const sans = wantedSans({ ...base, host: "0.0.0.0" })
    expect(sans).not.toContain("0.0.0.0")
    expect(sans).toContain("192.168.1.20")
    expect(wantedSans({ ...base, host: "::" })).not.toContain("::")
    expect(wantedSans({ ...base, host: "10.0.0.5" })).not.toContain("192.168.1.20")
  })

  it("duplicates collapse and an unusable hostname is left out", () => {
    expect(wantedSans({ ...base, host: "localhost", hostname: "my_host", extra: ["LOCALHOST", "127.0.0.1"] }))
      .toEqual(["localhost", "127.0.0.1", "::1"])
  })

  it("validates names like a certificate would", () => {
    expect(isValidSan("a.b-c.example")).toBe(true)
    expect(isValidSan("[::1]")).toBe(true)
    expect(isValidSan("a..b")).toBe(false)
    expect(isValidSan("")).toBe(false)
  })

  it("URLs bracket IPv6 hosts", () => {
    expect(urlOf("https", "::1", 6443)).toBe("https://[::1]:6443")
    expect(urlOf("http", "127.0.0.1", 80)).toBe("http://127.0.0.1:80")
  })
})
