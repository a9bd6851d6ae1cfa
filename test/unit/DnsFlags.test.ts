// helyosd's DNS and overlay flags as toDaemonConfig sees them: the seed's master and worker commands
// parse, the documented defaults (noop, 169.254.20.10:53, the host's resolvers, 5 s), --master-ip as
// the address a master advertises when --advertise-addr is absent, and the refusals.
import { Duration, Either, Option } from "effect"
import { describe, expect, it } from "vitest"
import { toDaemonConfig } from "../../src/programs/daemon/Flags.js"
import { defaults } from "../../src/services/DaemonConfig.js"
import { parse, problem } from "../support/harness/DaemonFlags.js"

const configOf = async (...args: ReadonlyArray<string>) => Either.getOrThrow(toDaemonConfig(await parse(args)))

const TOKEN = `nxa_${"ab".repeat(32)}`

describe("toDaemonConfig: DNS and overlay flags", () => {
  it("the seed's master command is accepted: embedded DNS, --master-ip, --overlay", async () => {
    const config = await configOf(
      "--mode", "master", "--host", "0.0.0.0", "--advertise-addr", "10.0.1.1", "--dns-mode", "embedded", "--master-ip", "10.0.1.1", "--overlay"
    )
    expect(config.dnsMode).toBe("embedded")
    expect(config.dnsListen).toEqual({ host: "169.254.20.10", port: 53 })
    expect(config.advertiseAddr).toEqual(Option.some("10.0.1.1"))
    expect(config.overlay).toEqual({ enabled: true, clusterCidr: "172.20.0.0/16", wgPort: 51820 })
  })

  it("the seed's worker command is accepted", async () => {
    const config = await configOf("--mode", "worker", "--join", "10.0.1.1:6444", "--token", TOKEN, "--overlay")
    expect(config.mode).toBe("worker")
    expect(config.overlay.enabled).toBe(true)
    // every node decides for itself: the guide's worker line leaves DNS at its default
    expect(config.dnsMode).toBe("noop")
  })

  it("defaults: noop, 169.254.20.10:53, the host's resolv.conf, a 5 s TTL, no overlay", async () => {
    const config = await configOf()
    expect(config.dnsMode).toBe("noop")
    expect(config.dnsListen).toEqual(defaults.dnsListen)
    expect(config.dnsUpstreams).toEqual(Option.none())
    expect(Duration.toMillis(config.dnsTtl)).toBe(5_000)
    expect(config.overlay).toEqual({ enabled: false, clusterCidr: "172.20.0.0/16", wgPort: 51820 })
  })

  it("--dns-listen, repeated --dns-upstream (port 53 unless given), --dns-ttl", async () => {
    const config = await configOf(
      "--dns-mode", "embedded", "--dns-listen", "127.0.0.1:15353", "--dns-upstream", "10.0.0.2", "--dns-upstream", "[fd00::1]:5353",
      "--dns-ttl", "30s"
    )
    expect(config.dnsListen).toEqual({ host: "127.0.0.1", port: 15353 })
    expect(config.dnsUpstreams).toEqual(Option.some([{ host: "10.0.0.2", port: 53 }, { host: "fd00::1", port: 5353 }]))
    expect(Duration.toSeconds(config.dnsTtl)).toBe(30)
    expect((await configOf("--dns-listen", "169.254.20.10")).dnsListen).toEqual({ host: "169.254.20.10", port: 53 })
  })

  it("--master-ip is what a master advertises without --advertise-addr, and nothing else", async () => {
    expect((await configOf("--mode", "master", "--master-ip", "10.0.1.1")).advertiseAddr).toEqual(Option.some("10.0.1.1"))
    expect((await configOf("--mode", "master", "--master-ip", "10.0.1.1", "--advertise-addr", "10.9.9.9")).advertiseAddr)
      .toEqual(Option.some("10.9.9.9"))
    // single and worker: accepted and ignored
    expect((await configOf("--master-ip", "10.0.1.1")).advertiseAddr).toEqual(Option.none())
    expect((await configOf("--mode", "worker", "--join", "10.0.1.1:6444", "--token", TOKEN, "--master-ip", "10.0.1.1")).advertiseAddr)
      .toEqual(Option.none())
    // the container DNS is --dns-listen's address whatever --master-ip says
    expect((await configOf("--mode", "master", "--dns-mode", "embedded", "--master-ip", "10.0.1.1")).dnsListen.host).toBe("169.254.20.10")
  })

  it("refuses what cannot work, in one line", async () => {
    // @effect/cli refuses an unknown mode itself, naming the two
    await expect(parse(["--dns-mode", "coredns"])).rejects.toThrow(/noop, embedded/)
    expect(await problem("--dns-listen", "0.0.0.0:53")).toMatch(/^--dns-listen must be one address, not 0\.0\.0\.0 or ::/)
    expect(await problem("--dns-listen", "dns.example:53")).toMatch(/^--dns-listen: .*not a host name/)
    expect(await problem("--dns-upstream", "1.1.1.1:99999")).toMatch(/^--dns-upstream: .*port/)
    expect(await problem("--dns-ttl", "1500ms")).toBe("--dns-ttl must be whole seconds, at most 1d (DNS carries seconds)")
    expect(await problem("--master-ip", "master.example")).toBe("--master-ip must be an IP address, got 'master.example'")
    expect(await problem("--cluster-cidr", "172.20.0.0")).toBe("--cluster-cidr must be an IPv4 CIDR such as 172.20.0.0/16, got '172.20.0.0'")
    expect(await problem("--wg-port", "0")).toBe("--wg-port must be between 1 and 65535, got 0")
  })
})
