// The `.internal` zone: how a deployment and a pod are named, and how an asked name is read.
// Names compare case-insensitively and a trailing dot is tolerated.

export const ZONE = "internal"

/** Every ready pod of the deployment: `<deployment>.<project>.internal`. */
export const deploymentDnsName = (project: string, deployment: string): string =>
  `${deployment}.${project}.${ZONE}`.toLowerCase()

/** The pod with this (stable) replica index: `<deployment>-<n>.<project>.internal`. */
export const podDnsName = (project: string, deployment: string, replicaIndex: number): string =>
  `${deployment}-${replicaIndex}.${project}.${ZONE}`.toLowerCase()

/** The search domain a pod of `project` resolves short names in (`api` → `api.<project>.internal`). */
export const searchDomain = (project: string): string => `${project}.${ZONE}`.toLowerCase()

/**
 * An asked name, read against the zone:
 * - `External`: not under `.internal`: forwarded upstream;
 * - `Zone`: `internal` itself; `Project`: `<project>.internal`;
 * - `Host`: `<host>.<project>.internal` (a deployment, or a deployment's pod `<deployment>-<n>`);
 * - `Deeper`: more labels than that (`a.b.<project>.internal`): never a Helyos name.
 */
export type ParsedName =
  | { readonly _tag: "External" }
  | { readonly _tag: "Zone" }
  | { readonly _tag: "Project"; readonly project: string }
  | { readonly _tag: "Host"; readonly project: string; readonly host: string }
  | { readonly _tag: "Deeper"; readonly project: string }

/** Lowercase, without one trailing dot. */
export const normalizeName = (name: string): string => {
  const lower = name.toLowerCase()
  return lower.endsWith(".") ? lower.slice(0, -1) : lower
}

export const parseName = (name: string): ParsedName => {
  const labels = normalizeName(name).split(".")
  const n = labels.length
  if (labels[n - 1] !== ZONE) return { _tag: "External" }
  if (n === 1) return { _tag: "Zone" }
  const project = labels[n - 2]!
  if (n === 2) return { _tag: "Project", project }
  if (n === 3) return { _tag: "Host", project, host: labels[0]! }
  return { _tag: "Deeper", project }
}

/**
 * `<deployment>-<n>` split into the deployment and the replica index, when the host label has that
 * shape: n in canonical decimal (no sign, no leading zero), so each pod has exactly one name.
 */
export const splitPodHost = (host: string): { readonly deployment: string; readonly replicaIndex: number } | undefined => {
  const match = /^(.+)-(0|[1-9][0-9]{0,8})$/.exec(host)
  return match === null ? undefined : { deployment: match[1]!, replicaIndex: Number(match[2]) }
}
