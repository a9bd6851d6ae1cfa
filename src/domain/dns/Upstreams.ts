// Where the resolver forwards names that are not its own, and where it listens: `host:port` values
// (IP literals only, so that reaching an upstream never needs a lookup, which could loop back to this
// very resolver), and the host's own resolvers read from resolv.conf text.
import { isIP, isIPv6 } from "node:net"
import { Either } from "effect"

export const DNS_PORT = 53
/** glibc reads at most three nameservers (MAXNS); so does this. */
export const MAX_RESOLV_CONF_NAMESERVERS = 3

export interface HostPort {
  readonly host: string
  readonly port: number
}

/** `host:port` as a user types it back: `10.0.0.2:53`, `[fd00::1]:53`. */
export const formatHostPort = ({ host, port }: HostPort): string => (isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`)

const parsePort = (text: string): number | undefined =>
  /^[0-9]{1,5}$/.test(text) && Number(text) <= 65535 ? Number(text) : undefined

/**
 * `10.0.0.2`, `10.0.0.2:5353`, `fd00::1`, `[fd00::1]:5353` (an IPv6 zone, `fe80::1%eth0`, is kept).
 * A missing port is `defaultPort`; a host name is refused.
 */
export const parseHostPort = (text: string, defaultPort: number = DNS_PORT): Either.Either<HostPort, string> => {
  const value = text.trim()
  const fail = (why: string) => Either.left(`${JSON.stringify(text)}: ${why}`)
  let host: string
  let port: number | undefined = defaultPort
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(value)
  if (bracketed !== null) {
    host = bracketed[1]!
    if (bracketed[2] !== undefined) port = parsePort(bracketed[2])
  } else if (value.split(":").length === 2) {
    const [h, p] = value.split(":") as [string, string]
    host = h
    port = parsePort(p)
  } else {
    host = value
  }
  const bare = host.includes("%") ? host.slice(0, host.indexOf("%")) : host
  if (isIP(bare) === 0) return fail("give an IP address (and optionally :port), not a host name")
  if (port === undefined) return fail("the port must be a number from 0 to 65535")
  return Either.right({ host, port })
}

/** An upstream resolver: port 53 unless given. */
export const parseUpstream = (text: string): Either.Either<HostPort, string> => parseHostPort(text, DNS_PORT)

/**
 * The `nameserver` lines of resolv.conf text, in order, at most three, port 53 (comments with # or ;,
 * other keywords ignored; a line that is not an IP address is skipped, as glibc does).
 */
export const upstreamsFromResolvConf = (text: string): ReadonlyArray<HostPort> => {
  const upstreams: Array<HostPort> = []
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/[#;].*$/, "").trim()
    const [keyword, address] = line.split(/\s+/)
    if (keyword !== "nameserver" || address === undefined) continue
    const bare = address.includes("%") ? address.slice(0, address.indexOf("%")) : address
    if (isIP(bare) === 0) continue
    upstreams.push({ host: address, port: DNS_PORT })
    if (upstreams.length === MAX_RESOLV_CONF_NAMESERVERS) break
  }
  return upstreams
}
