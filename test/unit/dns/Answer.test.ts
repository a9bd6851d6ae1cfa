// What the resolver answers, question by question, for each kind of asker: the names of the
// `.internal` zone, types, project isolation, who counts as the node, reachability, TTL and order.
import { describe, expect, it } from "vitest"
import {
  type Asker,
  type AnswerPolicy,
  DEFAULT_TTL_SECONDS,
  defaultAnswerPolicy,
  identifyAsker,
  nodeAddresses,
  reachableOnNode,
  type Resolution,
  resolve
} from "../../../src/domain/dns/Answer.js"
import { deploymentDnsName, parseName, podDnsName, searchDomain, splitPodHost } from "../../../src/domain/dns/Names.js"
import { fromSnapshot } from "../../../src/domain/dns/Records.js"
import { cluster, nodeA, nodeB, pod } from "./fixtures.js"

const set = fromSnapshot({ revision: 1, records: cluster() })
const node: Asker = { _tag: "Node" }
const shopPod: Asker = { _tag: "Pod", project: "shop" }
const billingPod: Asker = { _tag: "Pod", project: "billing" }
const stranger: Asker = { _tag: "Stranger" }

/** rcode and addresses in order, or "forward" */
const summary = (resolution: Resolution): Summary =>
  resolution._tag === "Forward" ? "forward" : { rcode: resolution.rcode, addresses: resolution.answers.map((a) => a.address) }

type Summary = "forward" | { readonly rcode: string; readonly addresses: ReadonlyArray<string> }
const ok = (...addresses: Array<string>): Summary => ({ rcode: "NOERROR", addresses })
const NXDOMAIN: Summary = { rcode: "NXDOMAIN", addresses: [] }
const NODATA = ok()

describe("names in the .internal zone, asked by the node", () => {
  const cases: ReadonlyArray<readonly [string, string, Summary]> = [
    ["web.shop.internal", "A", ok("10.1.0.10", "10.2.0.12")], // web-1 is not ready: left out
    ["WEB.Shop.INTERNAL", "A", ok("10.1.0.10", "10.2.0.12")], // case-insensitive
    ["web.shop.internal.", "A", ok("10.1.0.10", "10.2.0.12")], // trailing dot
    ["web.shop.internal", "AAAA", ok("fd00::12")],
    ["db.shop.internal", "AAAA", NODATA], // no IPv6 address: NOERROR, no answers
    ["web.shop.internal", "ANY", ok("10.1.0.10", "10.2.0.12", "fd00::12")],
    ["web.shop.internal", "MX", NODATA], // the name exists, another type
    ["web.shop.internal", "TXT", NODATA],
    ["web.shop.internal", "UNKNOWN_65280", NODATA],
    ["web-0.shop.internal", "A", ok("10.1.0.10")], // by replica index
    ["web-2.shop.internal", "A", ok("10.2.0.12")], // the index, not the position among ready pods
    ["web-1.shop.internal", "A", NODATA], // that pod exists but is not ready
    ["web-3.shop.internal", "A", NXDOMAIN], // no such replica
    ["web-01.shop.internal", "A", NXDOMAIN], // one spelling per pod
    ["nope.shop.internal", "A", NXDOMAIN],
    ["shop.internal", "A", NODATA], // the project exists
    ["nope.internal", "A", NXDOMAIN],
    ["internal", "A", NODATA],
    ["a.web.shop.internal", "A", NXDOMAIN], // deeper than a Helyos name
    ["web-1.lab.internal", "A", ok("10.1.2.10")], // a deployment named web-1 wins over pod 1 of web
    ["web-0.lab.internal", "A", ok("10.1.2.20")],
    ["web.shop.internal", "AXFR", { rcode: "REFUSED", addresses: [] }], // no zone transfers
    ["example.com", "A", "forward"],
    ["internal.example.com", "A", "forward"],
    ["web.shop.internal.example", "A", "forward"],
    ["shop", "A", "forward"] // a bare label is not ours (the search domain completes it in the pod)
  ]
  it.each(cases)("%s %s → %j", (name, type, expected) => {
    expect(summary(resolve(set, { name, type, class: "IN" }, node))).toEqual(expected)
  })

  it("answers no addresses for another class than IN", () => {
    expect(summary(resolve(set, { name: "web.shop.internal", type: "A", class: "CH" }, node))).toEqual(NODATA)
  })

  it("echoes the name as asked, with type and TTL", () => {
    const resolution = resolve(set, { name: "Web-2.shop.internal", type: "ANY" }, node)
    expect(resolution).toEqual({
      _tag: "Local",
      rcode: "NOERROR",
      answers: [
        { name: "Web-2.shop.internal", type: "A", ttl: DEFAULT_TTL_SECONDS, address: "10.2.0.12" },
        { name: "Web-2.shop.internal", type: "AAAA", ttl: DEFAULT_TTL_SECONDS, address: "fd00::12" }
      ]
    })
  })
})

describe("project isolation", () => {
  const cases: ReadonlyArray<readonly [string, Asker, string, Summary]> = [
    ["a pod of shop", shopPod, "web.shop.internal", ok("10.1.0.10", "10.2.0.12")],
    ["a pod of shop", shopPod, "web-0.shop.internal", ok("10.1.0.10")],
    ["a pod of shop", shopPod, "web.billing.internal", NXDOMAIN], // exists, but in another project
    ["a pod of shop", shopPod, "api.billing.internal", NXDOMAIN],
    ["a pod of shop", shopPod, "billing.internal", NXDOMAIN],
    ["a pod of shop", shopPod, "example.com", "forward"],
    ["a pod of billing", billingPod, "web.billing.internal", ok("10.1.1.10")],
    ["a pod of billing", billingPod, "web.shop.internal", NXDOMAIN],
    ["the node", node, "api.billing.internal", ok("10.1.1.20")], // operators see every project
    ["a stranger", stranger, "web.shop.internal", NXDOMAIN], // no project: no .internal name
    ["a stranger", stranger, "shop.internal", NXDOMAIN],
    ["a stranger", stranger, "example.com", "forward"] // but other names still resolve
  ]
  it.each(cases)("%s asking %s gets %j", (_who, asker, name, expected) => {
    expect(summary(resolve(set, { name, type: "A" }, asker))).toEqual(expected)
  })
})

describe("who asks", () => {
  const isNode = nodeAddresses(["192.168.1.5", "fd00:cafe::5"])
  const cases: ReadonlyArray<readonly [string, string, Asker]> = [
    ["a ready pod's container IP", "10.1.0.10", shopPod],
    ["a pod that is not ready yet", "10.1.0.11", shopPod], // a starting pod asks too
    ["a pod through a dual-stack socket", "::ffff:10.1.1.10", billingPod],
    ["a pod by its IPv6 address", "FD00::12", shopPod],
    ["loopback", "127.0.0.1", node],
    ["loopback, another address of 127/8", "127.0.0.53", node],
    ["IPv6 loopback", "::1", node],
    ["one of the node's addresses", "192.168.1.5", node],
    ["one of the node's IPv6 addresses", "fd00:cafe::5", node],
    ["anything else", "10.9.9.9", stranger]
  ]
  it.each(cases)("%s (%s) is %j", (_what, address, asker) => {
    expect(identifyAsker(set, address, { isNodeAddress: isNode })).toEqual(asker)
  })

  it("looks only at this node's pods when told which node it is", () => {
    // without an overlay, node B may hand 10.1.0.10 to a pod of another project
    const clash = fromSnapshot({
      revision: 1,
      records: [pod("shop", "web", 0, "10.1.0.10"), pod("billing", "web", 0, "10.1.0.10", { nodeId: nodeB })]
    })
    expect(identifyAsker(clash, "10.1.0.10", { isNodeAddress: isNode, localNode: nodeA })).toEqual(shopPod)
    expect(identifyAsker(clash, "10.1.0.10", { isNodeAddress: isNode, localNode: nodeB })).toEqual(billingPod)
    expect(identifyAsker(clash, "10.2.0.12", { isNodeAddress: isNode, localNode: nodeA })).toEqual(stranger)
  })

  it("fails closed when two projects claim the address", () => {
    const clash = fromSnapshot({ revision: 1, records: [pod("shop", "web", 0, "10.1.0.10"), pod("billing", "web", 0, "10.1.0.10")] })
    expect(identifyAsker(clash, "10.1.0.10", { isNodeAddress: isNode })).toEqual(stranger)
  })

  it("takes a pod's record before the node predicate", () => {
    expect(identifyAsker(set, "10.1.0.10", { isNodeAddress: () => true })).toEqual(shopPod)
  })
})

describe("reachability", () => {
  const onlyNodeA: AnswerPolicy = { ...defaultAnswerPolicy, reachable: reachableOnNode(nodeA) }

  it("leaves out the pods this node cannot reach", () => {
    expect(summary(resolve(set, { name: "web.shop.internal", type: "ANY" }, node, onlyNodeA))).toEqual(ok("10.1.0.10"))
  })

  it("answers an existing but unreachable pod with no addresses, not NXDOMAIN", () => {
    expect(summary(resolve(set, { name: "web-2.shop.internal", type: "A" }, node, onlyNodeA))).toEqual(NODATA)
  })
})

describe("TTL and order", () => {
  it("carries the configured TTL in whole seconds", () => {
    const ttls = (ttlSeconds: number) => {
      const r = resolve(set, { name: "web.shop.internal", type: "A" }, node, { ...defaultAnswerPolicy, ttlSeconds })
      return r._tag === "Local" ? r.answers.map((a) => a.ttl) : []
    }
    expect(ttls(DEFAULT_TTL_SECONDS)).toEqual([5, 5])
    expect(ttls(30)).toEqual([30, 30])
    expect(ttls(2.7)).toEqual([2, 2])
    expect(ttls(0)).toEqual([0, 0])
  })

  it("turns a several-pod answer by the rotation counter, so first addresses spread over the pods", () => {
    const first = (rotation: number) => {
      const r = resolve(set, { name: "web.lab.internal", type: "A" }, node, defaultAnswerPolicy, rotation)
      return r._tag === "Local" ? r.answers.map((a) => a.address) : []
    }
    expect(first(0)).toEqual(["10.1.2.20", "10.1.2.21"])
    expect(first(1)).toEqual(["10.1.2.21", "10.1.2.20"])
    expect(first(2)).toEqual(["10.1.2.20", "10.1.2.21"])
  })
})

describe("names", () => {
  it("are built lowercase", () => {
    expect(deploymentDnsName("Shop", "Web")).toBe("web.shop.internal")
    expect(podDnsName("shop", "web", 2)).toBe("web-2.shop.internal")
    expect(searchDomain("shop")).toBe("shop.internal")
  })

  it.each([
    ["example.com", { _tag: "External" }],
    ["internal", { _tag: "Zone" }],
    ["shop.internal", { _tag: "Project", project: "shop" }],
    ["web.shop.internal", { _tag: "Host", project: "shop", host: "web" }],
    ["x.web.shop.internal", { _tag: "Deeper", project: "shop" }]
  ])("%s reads as %j", (name, parsed) => {
    expect(parseName(name)).toEqual(parsed)
  })

  it.each([
    ["web-0", { deployment: "web", replicaIndex: 0 }],
    ["web-12", { deployment: "web", replicaIndex: 12 }],
    ["my-app-3", { deployment: "my-app", replicaIndex: 3 }],
    ["web-03", undefined],
    ["web", undefined],
    ["-3", undefined]
  ])("the host %s splits into %j", (host, split) => {
    expect(splitPodHost(host)).toEqual(split)
  })
})
