// `helyos deploy FILE`: validate locally (nothing is sent if the spec is invalid), upload, then watch
// the deployment's pods every 500 ms until they all run, one fails, or --timeout passes.
import { Clock, Console, Duration, Effect, Either, Schema } from "effect"
import * as fs from "node:fs"
import { encodeSpec, parseSpecText } from "../../domain/DeploymentSpec.js"
import { DeploymentView, type PodView } from "../../domain/Workload.js"
import { WorkloadsApi } from "../../services/api/WorkloadsApi.js"
import type { Globals } from "./CommandLine.js"
import { CliError, clientApi, connect } from "./Connection.js"
import { printJson } from "./Render.js"

const POLL_EVERY = Duration.millis(500)

/** Where a rollout stands, from the deployment's pods (pods of the old spec are stopping). */
export type Progress =
  | { readonly _tag: "Done"; readonly running: number }
  | { readonly _tag: "Failed"; readonly pod: PodView }
  | { readonly _tag: "Waiting"; readonly running: number }

export const progressOf = (pods: ReadonlyArray<PodView>, replicas: number): Progress => {
  const failed = pods.find((p) => p.status === "failed" || p.status === "crashloopbackoff")
  if (failed !== undefined) return { _tag: "Failed", pod: failed }
  const running = pods.filter((p) => p.status === "running").length
  const stopping = pods.some((p) => p.status === "stopping")
  return running >= replicas && !stopping ? { _tag: "Done", running } : { _tag: "Waiting", running }
}

/** The file's text, or the one line saying why it cannot be read. */
const readSpecFile = (file: string) =>
  Effect.try({
    try: () => fs.readFileSync(file, "utf8"),
    catch: (error) => {
      const code = (error as NodeJS.ErrnoException).code
      const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : (error as Error).message
      return new CliError({ message: `cannot read ${file}: ${why}` })
    }
  })

export const deploy = (
  { file, json, timeout }: { readonly file: string; readonly timeout: number; readonly json: boolean },
  globals: Globals
) =>
  Effect.gen(function*() {
    const text = yield* readSpecFile(file)
    const spec = yield* Either.mapLeft(
      parseSpecText(text),
      (invalid) => new CliError({ message: invalid.problems.map((p) => `${file}: ${p}`).join("\nerror: ") })
    )
    const { request } = yield* connect(globals, clientApi(WorkloadsApi))
    const deployment = yield* request((api) => api.workloads.deploy({ payload: encodeSpec(spec) }))
    const project = deployment.project
    const replicas = deployment.replicas
    const label = `deployment ${project}/${deployment.name}`
    if (!json) yield* Console.log(`${label} accepted (${deployment.image}, ${replicas} replica(s))`)

    const start = yield* Clock.currentTimeMillis
    let shown = -1
    for (;;) {
      const all = yield* request((api) => api.workloads.pods({ urlParams: { project } }))
      const mine = all.filter((p) => p.deployment_name === deployment.name)
      const progress = progressOf(mine, replicas)
      const running = progress._tag === "Failed" ? mine.filter((p) => p.status === "running").length : progress.running
      const finish = (status: string) =>
        json
          ? Effect.flatMap(Schema.encode(DeploymentView)(deployment).pipe(Effect.orDie), (d) =>
            printJson({ status, deployment: d, pods: mine }))
          : Effect.void
      if (progress._tag === "Done") {
        yield* finish("running")
        if (!json) yield* Console.log(`${label}: ${running}/${replicas} pods running`)
        return
      }
      if (progress._tag === "Failed") {
        yield* finish("failed")
        const why = progress.pod.message === undefined || progress.pod.message === "" ? "" : `: ${progress.pod.message}`
        return yield* new CliError({ message: `pod ${progress.pod.name} is ${progress.pod.status}${why}` })
      }
      if (running !== shown && !json) yield* Console.log(`${running}/${replicas} pods running…`)
      shown = running
      const now = yield* Clock.currentTimeMillis
      if (now - start >= timeout * 1000) {
        yield* finish("timeout")
        return yield* new CliError({ message: `timed out after ${timeout}s: ${running}/${replicas} pods running` })
      }
      yield* Effect.sleep(POLL_EVERY)
    }
  })
