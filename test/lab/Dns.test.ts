// Lab e2e: service discovery (--dns-mode embedded) on three simulated hosts, each with its own Docker
// engine and its own resolver on the default 169.254.20.10:53 (put on an interface helyos-dns in the
// host's namespace by helyosd). From inside containers, with busybox's wget and nslookup going through
// Docker's 127.0.0.11: a deployment by name, projects apart, an external name forwarded to an upstream
// this test runs on the root namespace's lab address (198.51.100.254:53), a scale-down seen within 1 s
// on the host, and names still resolving on the workers after the master is killed (and restarted).
// Without the overlay network a name answers only the asking host's pods; the test checks that too.
import * as dgram from "node:dgram"
import * as dnsPacket from "dns-packet"
import { afterAll, describe, expect, it } from "vitest"
import { eventually, Lab, type LabCluster, type LabHost, sleep } from "./Lab.js"

const FIRST_TEST_TIMEOUT_MS = 420_000
const DNS_IP = "169.254.20.10"
const UPSTREAM_IP = "198.51.100.254"
/** the one external name the lab's upstream knows */
const EXTERNAL = { name: "www.lab.test", address: "192.0.2.80" }

let lab: Lab | undefined
let cluster: LabCluster
let upstream: { socket: dgram.Socket; asked: Array<{ name: string; from: string }> } | undefined
let building: Promise<void> | undefined

/** A tiny DNS server on the root namespace's lab address: EXTERNAL, NXDOMAIN for the rest; records who asked. */
const startUpstream = () =>
  new Promise<NonNullable<typeof upstream>>((resolve, reject) => {
    const socket = dgram.createSocket("udp4")
    const asked: Array<{ name: string; from: string }> = []
    socket.on("message", (message, from) => {
      try {
        const query = dnsPacket.decode(message)
        const question = query.questions?.[0]
        if (question === undefined) return
        asked.push({ name: question.name, from: from.address })
        const known = question.name.toLowerCase() === EXTERNAL.name
        const answer = dnsPacket.encode({
          type: "response",
          id: query.id,
          flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (known ? 0 : 3),
          questions: [question],
          answers: known && question.type === "A" ? [{ type: "A", name: question.name, ttl: 60, data: EXTERNAL.address }] : []
        })
        socket.send(answer, from.port, from.address)
      } catch {
        // not a query: ignore
      }
    })
    socket.once("error", reject)
    socket.bind(53, UPSTREAM_IP, () => resolve({ socket, asked }))
  })

const dnsArgs = ["--dns-mode", "embedded", "--overlay", "--dns-upstream", UPSTREAM_IP]

const ready = () => {
  building ??= (async () => {
    const t0 = Date.now()
    lab = await Lab.create({ hosts: ["m", "w1", "w2"] })
    upstream = await startUpstream()
    const t1 = Date.now()
    // the seed's master flags (--master-ip is its address) and every worker with its own resolver
    cluster = await lab.startCluster({
      masterArgs: [...dnsArgs, "--master-ip", "198.51.100.1"],
      workerArgs: dnsArgs
    })
    console.log(`lab built in ${(t1 - t0) / 1000} s, cluster Ready ${(Date.now() - t1) / 1000} s later`)
  })()
  return building
}

afterAll(async () => {
  upstream?.socket.close()
  await lab?.destroy()
}, 180_000)

const app = (project: string, name: string, replicas: number, command: string) => `project: ${project}
deployment:
  name: ${name}
image: helyos-test/busybox:2
replicas: ${replicas}
command: ["sh", "-c", "trap 'exit 0' TERM; ${command}"]
`
// busybox httpd serves /tmp/index.html, which names the container (HOSTNAME is its short id)
const WEB = app("shop", "web", 2, "echo web-$HOSTNAME > /tmp/index.html; busybox httpd -f -p 8080 -h /tmp & wait")
const CLIENT = app("shop", "client", 2, "while true; do sleep 1; done")
const BILLING = app("billing", "api", 2, "while true; do sleep 1; done")

interface Pod {
  readonly name: string
  readonly project: string
  readonly deployment_name: string
  readonly node: string | null
  readonly status: string
  readonly container_id: string | null
  readonly container_ip: string | null
  readonly dns_name: string | null
}

const pods = async (project: string) => (await cluster.apiPods(project)) as unknown as ReadonlyArray<Pod>
const runningOf = async (project: string, deployment: string) =>
  (await pods(project)).filter((p) => p.deployment_name === deployment && p.status === "running" && p.container_ip !== null)

/**
 * `busybox <args>` inside a pod's container on its host's engine (the engine call times out; never
 * busybox wget's own -T, which crashes this build of busybox 1.35).
 */
const inPod = (host: LabHost, pod: Pod, args: ReadonlyArray<string>) => host.docker(["exec", pod.container_id!, "busybox", ...args], 30_000)

/** The addresses busybox nslookup prints for `name` (after the server lines), or the error it printed. */
const nslookup = async (host: LabHost, pod: Pod, name: string) => {
  const result = await inPod(host, pod, ["nslookup", "-type=a", name])
  const text = result.stdout + result.stderr
  if (/NXDOMAIN/.test(text)) return "NXDOMAIN"
  const answers = text.split(/\n\s*\n/).slice(1).join("\n")
  return [...answers.matchAll(/Address:\s*([0-9.]+)/g)].map((m) => m[1]!).sort()
}

/** dig at this host's resolver, from the host itself (the node sees every project). */
const digHost = async (host: LabHost, name: string) => {
  const result = await host.exec("dig", [`@${DNS_IP}`, name, "A", "+tries=1", "+time=2", "+short"], { timeoutMs: 10_000 })
  return result.stdout.split("\n").map((l) => l.trim()).filter((l) => /^[0-9.]+$/.test(l)).sort()
}

const podsOn = (all: ReadonlyArray<Pod>, node: string) => all.filter((p) => p.node === node)
const ipsOn = (all: ReadonlyArray<Pod>, node: string) => podsOn(all, node).map((p) => p.container_ip!).sort()

describe("lab: embedded DNS on every host", () => {
  it("every node runs its resolver on 169.254.20.10:53, on an interface of its own; `helyos status` says DNS is on", async () => {
    await ready()
    for (const host of lab!.hosts) {
      const link = await host.exec("ip", ["-br", "addr", "show", "dev", "helyos-dns"])
      expect(link.code, `${host.name}: ${link.stderr}`).toBe(0)
      expect(link.stdout).toContain(`${DNS_IP}/32`)
    }
    const status = await cluster.cliJson<{ dns: { mode: string; listen: string } }>(["status"])
    expect(status.dns).toMatchObject({ mode: "embedded", listen: `${DNS_IP}:53` })
    // --master-ip is the address the master advertises (the join command it printed names it)
    expect(cluster.joinArgs[cluster.joinArgs.indexOf("--join") + 1]).toBe("198.51.100.1:6444")
  }, FIRST_TEST_TIMEOUT_MS)

  it("from a container, wget http://web.shop.internal:8080/ reaches the deployment (and the short name `web` through the search domain)", async () => {
    await ready()
    for (const yaml of [WEB, CLIENT, BILLING]) {
      const deployed = await cluster.deploy(yaml)
      expect(deployed.code, deployed.stdout + deployed.stderr).toBe(0)
    }
    const web = await eventually(async () => {
      const running = await runningOf("shop", "web")
      expect(running).toHaveLength(2)
      return running
    }, 60_000)
    const clients = await eventually(async () => {
      const running = await runningOf("shop", "client")
      expect(running).toHaveLength(2)
      return running
    }, 60_000)
    expect(web.map((p) => p.dns_name).sort()).toEqual(["web-0.shop.internal", "web-1.shop.internal"])
    // a client on a host that runs a web replica: it reaches one of that host's replicas by name
    const client = clients.find((c) => podsOn(web, c.node!).length > 0)!
    const host = lab!.host(client.node!)
    const local = podsOn(web, client.node!)
    const markers = local.map((p) => `web-${p.container_id!.slice(0, 12)}`)
    for (const url of ["http://web.shop.internal:8080/", "http://web:8080/"]) {
      const page = await eventually(async () => {
        const got = await inPod(host, client, ["wget", "-q", "-O-", url])
        expect(got.code, `${url}: ${got.stderr}`).toBe(0)
        return got.stdout.trim()
      }, 30_000, 500)
      expect(markers, url).toContain(page)
    }
    // the pod's own name resolves to that pod only
    const one = local[0]!
    expect(await nslookup(host, client, one.dns_name!)).toEqual([one.container_ip])
  }, 240_000)

  it("another project's name is NXDOMAIN from inside a pod; without the overlay a name answers only the asking host's pods", async () => {
    await ready()
    const web = await runningOf("shop", "web")
    const clients = await runningOf("shop", "client")
    const billing = await runningOf("billing", "api")
    for (const client of clients) {
      const host = lab!.host(client.node!)
      expect(await nslookup(host, client, "api.billing.internal"), `shop pod on ${host.name}`).toBe("NXDOMAIN")
      expect(await nslookup(host, client, "nothing.shop.internal")).toBe("NXDOMAIN")
      // only this host's replicas (another host's pod IPs do not route from here)
      const expected = ipsOn(web, host.name)
      if (expected.length > 0) expect(await nslookup(host, client, "web.shop.internal")).toEqual(expected)
    }
    for (const pod of billing) {
      expect(await nslookup(lab!.host(pod.node!), pod, "web.shop.internal"), `billing pod on ${pod.node}`).toBe("NXDOMAIN")
    }
    // the node itself (an operator on the host) sees every project, still only its own pods' addresses
    for (const name of ["w1", "w2"]) expect(await digHost(lab!.host(name), "web.shop.internal")).toEqual(ipsOn(web, name))
  }, 120_000)

  it("an external name is forwarded, from the host, to the upstream the lab runs", async () => {
    await ready()
    const [client] = await runningOf("shop", "client")
    const host = lab!.host(client!.node!)
    const before = upstream!.asked.length
    expect(await nslookup(host, client!, EXTERNAL.name)).toEqual([EXTERNAL.address])
    const asked = upstream!.asked.slice(before).filter((q) => q.name === EXTERNAL.name)
    expect(asked.length).toBeGreaterThan(0)
    // asked by the host's resolver from the host's own address, never by the pod itself
    expect(asked.every((q) => q.from === host.addr)).toBe(true)
    // .internal names never leave the host
    expect(upstream!.asked.filter((q) => q.name.endsWith(".internal"))).toEqual([])
  }, 120_000)

  it("after a scale-down the answers on the pod's host change within 1 s", async () => {
    await ready()
    const web = await runningOf("shop", "web")
    const gone = web.find((p) => p.name === "web-1")!
    const host = lab!.host(gone.node!)
    expect(await digHost(host, "web.shop.internal")).toContain(gone.container_ip)
    const sampled: Array<{ atMs: number; ips: ReadonlyArray<string> }> = []
    const started = Date.now()
    const scaled = await cluster.cli(["scale", "web", "1", "-p", "shop"])
    expect(scaled.code, scaled.stderr).toBe(0)
    const t0 = Date.now()
    const changedAt = await eventually(async () => {
      const ips = await digHost(host, "web.shop.internal")
      sampled.push({ atMs: Date.now() - t0, ips })
      expect(ips).not.toContain(gone.container_ip)
      return Date.now() - t0
    }, 10_000, 50)
    console.log(
      `scale-down: ${host.name} stopped answering web-1 by the dig done ${changedAt} ms after \`helyos scale\` returned ` +
        `(${Date.now() - started} ms after it was started, CLI start-up included; ${sampled.length} dig(s))`
    )
    expect(changedAt).toBeLessThan(1_000)
    // inside a pod on that host too (Docker's 127.0.0.11 does not cache)
    const client = (await runningOf("shop", "client")).find((c) => c.node === host.name)
    if (client !== undefined) {
      const left = ipsOn(await runningOf("shop", "web"), host.name)
      expect(await nslookup(host, client, "web.shop.internal")).toEqual(left.length === 0 ? [] : left)
    }
  }, 120_000)

  it("the master killed: names still resolve on the workers (and after it restarts)", async () => {
    await ready()
    const web = await runningOf("shop", "web")
    const clients = await runningOf("shop", "client")
    const expected = new Map(["w1", "w2"].map((n) => [n, ipsOn(web, n)]))
    await cluster.killMaster()
    await sleep(2_000)
    for (const client of clients) {
      const host = lab!.host(client.node!)
      expect(await nslookup(host, client, "web.shop.internal"), `on ${host.name}, master down`).toEqual(expected.get(host.name))
      expect(await nslookup(host, client, "api.billing.internal")).toBe("NXDOMAIN")
      expect(await nslookup(host, client, EXTERNAL.name)).toEqual([EXTERNAL.address])
      if (expected.get(host.name)!.length > 0) {
        const page = await inPod(host, client, ["wget", "-q", "-O-", "http://web.shop.internal:8080/"])
        expect(page.code, page.stderr).toBe(0)
      }
    }
    await cluster.restartMaster()
    await eventually(async () => {
      const ready = (await cluster.apiNodes()).filter((n) => n.status === "Ready").map((n) => n.name).sort()
      expect(ready).toEqual(["m", "w1", "w2"])
    }, 60_000, 500)
    // a restarted master counts its revisions anew: its snapshot replaces what the workers held
    for (const name of ["w1", "w2"]) {
      await eventually(async () => expect(await digHost(lab!.host(name), "web.shop.internal")).toEqual(expected.get(name)), 15_000, 250)
    }
  }, 180_000)
})
