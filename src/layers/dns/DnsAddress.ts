// Makes the resolver's listen address an address of this host when it is not one yet: the default
// 169.254.20.10 (the same on every node, as Kubernetes' NodeLocal DNSCache uses) goes on an
// interface of our own, `helyos-dns` (a dummy interface; an empty bridge on kernels built without
// dummy support, which serves the same: nothing is ever attached to it). Containers reach it through
// their bridge's gateway like any local address. Only what this start created is removed on
// shutdown; an interface or address that is already there is used as it is (idempotent). Needs root
// (CAP_NET_ADMIN) only when something has to be created.
import { execFile } from "node:child_process"
import { isIPv6 } from "node:net"
import * as os from "node:os"
import { Effect, Layer, Schema, type Scope } from "effect"
import { normalizeAddress } from "../../domain/dns/Records.js"

/** The interface that holds the resolver's address when the host has no interface with it. */
export const INTERFACE = "helyos-dns"

/** The listen address could not be put on this host (not root, no `ip`, …): the daemon does not start. */
export class DnsAddressError extends Schema.TaggedError<DnsAddressError>()("DnsAddressError", {
  address: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `cannot put the DNS address ${this.address} on this host: ${this.reason} ` +
      `(run helyosd as root, or give --dns-listen an address this host has)`
  }
}

interface IpResult {
  readonly ok: boolean
  readonly output: string
}

/** `ip …`; a missing binary is a failed result too (its message says so). */
const ip = (args: ReadonlyArray<string>): Effect.Effect<IpResult> =>
  Effect.async<IpResult>((resume) => {
    execFile("ip", [...args], { timeout: 10_000 }, (error, stdout, stderr) => {
      const output = `${String(stderr)}${String(stdout)}`.trim()
      if (error === null) resume(Effect.succeed({ ok: true, output }))
      else if ((error as NodeJS.ErrnoException).code === "ENOENT") resume(Effect.succeed({ ok: false, output: "the 'ip' command (iproute2) is not installed" }))
      else resume(Effect.succeed({ ok: false, output: output === "" ? error.message : output }))
    })
  })

const isLoopback = (address: string) => address === "::1" || address.startsWith("127.")

/** The interface that has `host` (loopback counts for all of 127/8), or undefined. */
const interfaceWith = (host: string): string | undefined => {
  const wanted = normalizeAddress(host)
  if (isLoopback(wanted)) return "lo"
  for (const [name, list] of Object.entries(os.networkInterfaces())) {
    if ((list ?? []).some((i) => normalizeAddress(i.address) === wanted)) return name
  }
  return undefined
}

/** Is `host` already an address of this host (loopback included)? */
export const isLocalAddress = (host: string): boolean => interfaceWith(host) !== undefined

const firstLine = (text: string) => text.split("\n")[0] ?? text

/**
 * Make `host` local for the enclosing scope (nothing to do when it already is). Fails with one
 * readable line when `ip` fails.
 */
export const make = (host: string): Effect.Effect<void, DnsAddressError, Scope.Scope> =>
  Effect.gen(function*() {
    const holder = interfaceWith(host)
    if (holder !== undefined) {
      // ours from an earlier start that did not clean up (killed): make sure it is up, and keep it
      if (holder === INTERFACE) yield* ip(["link", "set", INTERFACE, "up"])
      return
    }
    const fail = (command: string, result: IpResult) =>
      Effect.fail(new DnsAddressError({ address: host, reason: `'ip ${command}' failed: ${firstLine(result.output)}` }))
    const v6 = isIPv6(host)
    const cidr = `${host}/${v6 ? 128 : 32}`

    // the interface: ours if we create it
    let createdLink = false
    let kind = "dummy"
    if (!(yield* ip(["link", "show", "dev", INTERFACE])).ok) {
      const dummy = yield* ip(["link", "add", INTERFACE, "type", "dummy"])
      if (!dummy.ok) {
        // a kernel without CONFIG_DUMMY says "Unknown device type": an empty bridge holds an address as well
        if (!/unknown device type|not supported/i.test(dummy.output)) return yield* fail(`link add ${INTERFACE} type dummy`, dummy)
        const bridge = yield* ip(["link", "add", INTERFACE, "type", "bridge"])
        if (!bridge.ok) return yield* fail(`link add ${INTERFACE} type bridge`, bridge)
        kind = "bridge (this kernel has no dummy interfaces)"
      }
      createdLink = true
    }
    const removeLink = ip(["link", "del", INTERFACE]).pipe(Effect.asVoid)

    // the address: ours if we add it (an address already there, e.g. left by a crash, is used as it is)
    const added = yield* ip(["addr", "add", cidr, "dev", INTERFACE, ...(v6 ? ["nodad"] : [])])
    if (!added.ok && !/exists|already assigned/i.test(added.output)) {
      if (createdLink) yield* removeLink
      return yield* fail(`addr add ${cidr} dev ${INTERFACE}`, added)
    }
    const up = yield* ip(["link", "set", INTERFACE, "up"])
    if (!up.ok) {
      if (createdLink) yield* removeLink
      else if (added.ok) yield* ip(["addr", "del", cidr, "dev", INTERFACE])
      return yield* fail(`link set ${INTERFACE} up`, up)
    }
    yield* Effect.addFinalizer(() =>
      (createdLink ? removeLink : added.ok ? ip(["addr", "del", cidr, "dev", INTERFACE]).pipe(Effect.asVoid) : Effect.void).pipe(
        Effect.zipRight(Effect.logDebug(`DNS address ${host} removed from ${INTERFACE}`))
      )
    )
    yield* Effect.logInfo(
      createdLink
        ? `DNS address ${host} put on a new interface ${INTERFACE} (${kind}); removed on exit`
        : added.ok
        ? `DNS address ${host} added to the existing interface ${INTERFACE}; removed on exit`
        : `DNS address ${host} is already on ${INTERFACE}`
    )
  })

/** The address for the layer's lifetime (build it before the resolver binds). */
export const layerWith = (host: string): Layer.Layer<never, DnsAddressError> => Layer.scopedDiscard(make(host))
