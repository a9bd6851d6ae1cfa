// `helyos deploy FILE`: validate locally (nothing is sent if the spec is invalid), upload, then watch
// the deployment's pods every 500 ms until they all run, one fails, or --timeout passes.
import { Args, Command, Options } from "@effect/cli"
import { FileSystem } from "@effect/platform"
import { Clock, Console, Duration, Effect, Either, Schema } from "effect"
import { encodeSpec, parseSpecText } from "../../domain/DeploymentSpec.js"
import { DeploymentView, type PodView } from "../../domain/Workload.js"
import { CliError, connect, connectionOptions } from "./Connection.js"
import { jsonOption } from "./Flags.js"
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

export const deploy = Command.make(
  "deploy",
  {
    file: Args.file({ name: "FILE", exists: "yes" }).pipe(Args.withDescription("the deployment spec (YAML or JSON)")),
    timeout: Options.integer("timeout").pipe(
      Options.withDescription("seconds to wait for every pod to run"),
      Options.withDefault(60)
    ),
    json: jsonOption,
    ...connectionOptions
  },
  ({ file, json, timeout, ...flags }) =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const text = yield* fs.readFileString(file).pipe(
        Effect.mapError((error) => new CliError({ message: `cannot read ${file}: ${error.message}` }))
      )
      const spec = yield* Either.mapLeft(
        parseSpecText(text),
        (invalid) => new CliError({ message: invalid.problems.map((p) => `${file}: ${p}`).join("\nerror: ") })
      )
      const { request } = yield* connect(flags)
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
).pipe(Command.withDescription("Apply a deployment spec and wait (--timeout, default 60 s) until its pods run"))
