// The shared Docker engine the e2e tests run containers on.
import { execFileSync } from "node:child_process"

/** Remove the containers and networks helyos made for `project` (what killed daemons left behind). */
export const removeProjectLeftovers = (project: string) => {
  const left = execFileSync("docker", ["ps", "-aq", "--filter", `label=helyos.project=${project}`]).toString().trim()
  if (left !== "") execFileSync("docker", ["rm", "-f", ...left.split("\n")])
  const networks = execFileSync("docker", ["network", "ls", "-q", "--filter", `name=helyos-${project}`]).toString().trim()
  if (networks !== "") execFileSync("docker", ["network", "rm", ...networks.split("\n")])
}
