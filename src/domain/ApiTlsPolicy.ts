// How the REST API is served, decided from flags alone: HTTP or HTTPS, the cleartext guardrails,
// and which names the self-signed server certificate must carry. Pure: no files, no sockets.
import { Schema } from "effect"
import { isIP, isIPv4 } from "node:net"

export type ApiScheme = "http" | "https"

export type TlsMode = "auto" | "on" | "off"

/** `[::1]` → `::1`, `LocalHost` → `localhost`. */
const bare = (host: string) => host.trim().replace(/^\[(.*)\]$/, "$1").toLowerCase()

/** A bind that only this machine can reach: localhost, 127.0.0.0/8, ::1 (also IPv4-mapped). */
export const isLoopbackHost = (host: string): boolean => {
  const h = bare(host).replace(/^::ffff:/, "")
  if (h === "localhost" || h.endsWith(".localhost")) return true
  if (isIPv4(h)) return h.startsWith("127.")
  return isIP(h) === 6 && /^(0{0,4}:){7}0{0,3}1$|^::1$/.test(h)
}

/** A bind on every interface; it names no host, so it is no SAN. */
export const isWildcardHost = (host: string): boolean => {
  const h = bare(host)
  return h === "0.0.0.0" || h === "::" || h === ""
}

/** auto: HTTPS unless bound to loopback. */
export const apiScheme = (mode: TlsMode, host: string): ApiScheme =>
  mode === "on" || (mode === "auto" && !isLoopbackHost(host)) ? "https" : "http"

/** The TLS part of helyosd's flags. */
export interface ApiTlsFlags {
  readonly mode: TlsMode
  readonly host: string
  readonly hasCertFile: boolean
  readonly hasKeyFile: boolean
  readonly sans: ReadonlyArray<string>
  readonly insecureHttp: boolean
  /** an API token came from --api-token / HELYOS_API_TOKEN (not generated now, not only stored) */
  readonly apiTokenConfigured: boolean
}

/** The documented refusal for cleartext on a non-loopback address (two lines). */
export const plainHttpRefusal = (host: string) =>
  `refusing to serve a non-loopback address (${host}) over plain HTTP;\n` +
  "use --tls on, or pass BOTH --tls off and --insecure-http"

/** The documented refusal for exposing the API without an operator-chosen token (two lines). */
export const noTokenRefusal =
  "refusing to expose a non-loopback address with no API token configured;\n" +
  "set --api-token / HELYOS_API_TOKEN first"

/**
 * What is wrong with these TLS flags, or undefined. Runs before anything listens. Cleartext on a
 * non-loopback bind needs --tls off AND --insecure-http AND a token the operator configured: a token
 * generated at this start would cross the network in clear before anyone chose to accept that.
 */
export const apiTlsProblem = (flags: ApiTlsFlags): string | undefined => {
  if (flags.hasCertFile && !flags.hasKeyFile) return "--tls-cert needs --tls-key (the certificate's private key)"
  if (flags.hasKeyFile && !flags.hasCertFile) return "--tls-key needs --tls-cert (the certificate it belongs to)"
  if (flags.mode === "off" && flags.hasCertFile) return "--tls off contradicts --tls-cert/--tls-key; drop one of them"
  for (const san of flags.sans) {
    if (!isValidSan(san)) return `--tls-san: '${san}' is not a DNS name or an IP address`
  }
  if (apiScheme(flags.mode, flags.host) === "http" && !isLoopbackHost(flags.host)) {
    if (!flags.insecureHttp) return plainHttpRefusal(flags.host)
    if (!flags.apiTokenConfigured) return noTokenRefusal
  }
  return undefined
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/

/** A DNS name (one leading `*.` allowed) or an IP address. */
export const isValidSan = (name: string): boolean => {
  const n = bare(name)
  if (isIP(n) !== 0) return true
  if (n.length === 0 || n.length > 253) return false
  const labels = n.replace(/^\*\./, "").split(".")
  return labels.every((label) => DNS_LABEL.test(label))
}

/**
 * The names the self-signed server certificate must carry: localhost, 127.0.0.1 and ::1 always,
 * the bind host, the advertised address, each --tls-san and the hostname. A wildcard bind names no
 * host, so it contributes this machine's interface addresses instead (the login hint may print one).
 * Names that are no valid SAN (an odd hostname) are left out rather than breaking the start.
 */
export const wantedSans = (input: {
  readonly host: string
  readonly advertiseAddr: string | undefined
  readonly extra: ReadonlyArray<string>
  readonly hostname: string
  readonly interfaceAddresses: ReadonlyArray<string>
}): ReadonlyArray<string> => {
  const names = ["localhost", "127.0.0.1", "::1", ...input.extra, input.hostname]
  names.push(...(isWildcardHost(input.host) ? input.interfaceAddresses : [input.host]))
  if (input.advertiseAddr !== undefined) names.push(input.advertiseAddr)
  const seen = new Set<string>()
  const out: Array<string> = []
  for (const name of names) {
    const n = bare(name)
    if (!isValidSan(n) || seen.has(n)) continue
    seen.add(n)
    out.push(n)
  }
  return out
}

/** `https://host:port`, with IPv6 hosts bracketed. */
export const urlOf = (scheme: ApiScheme, host: string, port: number): string => {
  const h = bare(host)
  return `${scheme}://${isIP(h) === 6 ? `[${h}]` : h}:${port}`
}

/** GET /api/v1/ca when there is no self-signed CA to hand out. */
export class NoSelfSignedCa extends Schema.TaggedError<NoSelfSignedCa>()("NoSelfSignedCa", {}) {
  override get message() {
    return "no self-signed CA (TLS off or BYO cert)"
  }
}
