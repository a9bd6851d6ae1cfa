// How the resolver answers one question for one asker, from the record set alone (no sockets, no
// wire format): a local answer for `.internal` names, "forward" for every other name.
//
// Who asks decides what is visible. Docker's embedded resolver (127.0.0.11 in every container on a
// user-defined network) forwards from inside the container's network namespace, so a query from a
// pod arrives from that pod's container IP; the resolver looks that address up among the records
// (ready or not: a starting pod asks too) and shows the pod its own project's names only. The node
// itself (loopback or one of its own addresses: a predicate) sees every project, for operators.
// Any other source is a *stranger* and sees no `.internal` name at all (NXDOMAIN, exactly as a
// foreign project's name looks, so nothing leaks about what exists). A stranger is most likely a
// pod whose record has not arrived yet, a container Helyos does not manage, or a remote host; none
// of them can be placed in a project, and treating them as the node would hand every project's
// names to anything that can reach the listen address. Strangers' other names are still forwarded:
// a pod must resolve external names from its first second, before its record is pushed.
import type { NodeId } from "../Node.js"
import { type ParsedName, parseName, splitPodHost } from "./Names.js"
import { type DnsRecord, deploymentKey, normalizeAddress, type RecordSet } from "./Records.js"

/** The default answer TTL: short, so that a moved or removed pod does not linger in client caches. */
export const DEFAULT_TTL_SECONDS = 5

export type Asker =
  | { readonly _tag: "Node" }
  | { readonly _tag: "Pod"; readonly project: string }
  | { readonly _tag: "Stranger" }

export interface AskerPolicy {
  /** The node's own addresses (loopback included, when it should be): such an asker sees every project. */
  readonly isNodeAddress: (address: string) => boolean
  /**
   * This node's id: only pods on this node can ask this resolver, so only their records identify an
   * asker (without an overlay two nodes may give the same container IP to pods of different projects).
   * Absent: every record counts.
   */
  readonly localNode?: NodeId | undefined
}

/** Who is asking, by source address. Two projects claiming the address: a stranger (fail closed). */
export const identifyAsker = (set: RecordSet, address: string, policy: AskerPolicy): Asker => {
  const normalized = normalizeAddress(address)
  const holders = set.byAddress.get(normalized)
  let project: string | undefined
  let conflict = false
  if (holders !== undefined) {
    for (const record of holders) {
      if (policy.localNode !== undefined && record.nodeId !== policy.localNode) continue
      const p = record.project.toLowerCase()
      if (project === undefined) project = p
      else if (project !== p) conflict = true
    }
  }
  if (conflict) return { _tag: "Stranger" }
  if (project !== undefined) return { _tag: "Pod", project }
  return policy.isNodeAddress(normalized) ? { _tag: "Node" } : { _tag: "Stranger" }
}

const isLoopback = (address: string): boolean => address === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(address)

/** The node predicate of a node with these addresses: loopback (127/8, ::1) or one of them. */
export const nodeAddresses = (own: Iterable<string>): (address: string) => boolean => {
  const set = new Set(Array.from(own, normalizeAddress))
  return (address) => {
    const normalized = normalizeAddress(address)
    return isLoopback(normalized) || set.has(normalized)
  }
}

/** Which pods' addresses may be answered to this node (without an overlay: only its own pods). */
export type Reachability = (record: DnsRecord) => boolean

/** Every pod is reachable (an overlay joins the pod networks). */
export const reachableEverywhere: Reachability = () => true

/** Only pods on this node are reachable (no overlay: another node's pod IPs do not route from here). */
export const reachableOnNode = (node: NodeId): Reachability => (record) => record.nodeId === node

export interface AnswerPolicy {
  readonly ttlSeconds: number
  readonly reachable: Reachability
}

export const defaultAnswerPolicy: AnswerPolicy = { ttlSeconds: DEFAULT_TTL_SECONDS, reachable: reachableEverywhere }

/** A question as decoded: type and class by their mnemonic (`A`, `AAAA`, `ANY`, `UNKNOWN_65280`, `IN`). */
export interface Question {
  readonly name: string
  readonly type: string
  readonly class?: string | undefined
}

export interface AddressAnswer {
  readonly name: string
  readonly type: "A" | "AAAA"
  readonly ttl: number
  readonly address: string
}

export type LocalRcode = "NOERROR" | "NXDOMAIN" | "REFUSED"

/**
 * - `Local`: answered here (`.internal`): NOERROR with the addresses (maybe none: the name exists but
 *   has no ready, reachable pod or no address of that type), NXDOMAIN for a name that does not exist
 *   for this asker, REFUSED for a zone transfer;
 * - `Forward`: not ours: ask the upstreams.
 */
export type Resolution =
  | { readonly _tag: "Local"; readonly rcode: LocalRcode; readonly answers: ReadonlyArray<AddressAnswer> }
  | { readonly _tag: "Forward" }

const FORWARD: Resolution = { _tag: "Forward" }
const NXDOMAIN: Resolution = { _tag: "Local", rcode: "NXDOMAIN", answers: [] }
const NODATA: Resolution = { _tag: "Local", rcode: "NOERROR", answers: [] }
const REFUSED: Resolution = { _tag: "Local", rcode: "REFUSED", answers: [] }

const sees = (asker: Asker, project: string): boolean =>
  asker._tag === "Node" || (asker._tag === "Pod" && asker.project === project)

/**
 * The records a host label names in a project: the deployment of that exact name, else (for
 * `<deployment>-<n>`) that deployment's pods with replica index n (one, or two while a replacement
 * overlaps its predecessor). A deployment literally named `web-1` wins over pod 1 of `web`.
 */
export const lookupHost = (set: RecordSet, project: string, host: string): ReadonlyArray<DnsRecord> | undefined => {
  const exact = set.deployments.get(deploymentKey(project, host))
  if (exact !== undefined) return exact
  const pod = splitPodHost(host)
  if (pod === undefined) return undefined
  const pods = set.deployments.get(deploymentKey(project, pod.deployment))?.filter((r) => r.replicaIndex === pod.replicaIndex)
  return pods === undefined || pods.length === 0 ? undefined : pods
}

const rotated = <A>(items: ReadonlyArray<A>, by: number): ReadonlyArray<A> => {
  if (items.length < 2) return items
  const k = ((by % items.length) + items.length) % items.length
  return k === 0 ? items : [...items.slice(k), ...items.slice(0, k)]
}

const isZoneTransfer = (type: string) => type === "AXFR" || type === "IXFR"
const inClass = (klass: string | undefined) => klass === undefined || klass === "IN" || klass === "ANY"

const existing = (parsed: Exclude<ParsedName, { _tag: "External" }>, set: RecordSet, asker: Asker) => {
  switch (parsed._tag) {
    case "Zone":
      return true
    case "Project":
      return sees(asker, parsed.project) && set.projects.has(parsed.project)
    case "Deeper":
      return false
    case "Host":
      return sees(asker, parsed.project) && lookupHost(set, parsed.project, parsed.host) !== undefined
  }
}

/**
 * The answer to `question` for `asker`. `rotation` turns the order of a several-pod answer (pass a
 * counter: clients that take the first address then spread over the pods).
 */
export const resolve = (
  set: RecordSet,
  question: Question,
  asker: Asker,
  policy: AnswerPolicy = defaultAnswerPolicy,
  rotation = 0
): Resolution => {
  const parsed = parseName(question.name)
  if (parsed._tag === "External") return FORWARD
  if (!existing(parsed, set, asker)) return NXDOMAIN
  const type = question.type.toUpperCase()
  if (isZoneTransfer(type)) return REFUSED
  if (parsed._tag !== "Host" || !inClass(question.class?.toUpperCase())) return NODATA
  const wantA = type === "A" || type === "ANY"
  const wantAaaa = type === "AAAA" || type === "ANY"
  if (!wantA && !wantAaaa) return NODATA
  const usable = rotated(
    (lookupHost(set, parsed.project, parsed.host) ?? []).filter((r) => r.ready && policy.reachable(r)),
    rotation
  )
  const ttl = Math.max(0, Math.floor(policy.ttlSeconds))
  const answers: Array<AddressAnswer> = []
  if (wantA) for (const r of usable) answers.push({ name: question.name, type: "A", ttl, address: r.ipv4 })
  if (wantAaaa) {
    for (const r of usable) if (r.ipv6 !== undefined) answers.push({ name: question.name, type: "AAAA", ttl, address: r.ipv6 })
  }
  return { _tag: "Local", rcode: "NOERROR", answers }
}
