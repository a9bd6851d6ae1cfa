// `helyos pods`, `deployments`, `scale`, `stop`, `restart`, `rm` and `logs`: a deployment's life after deploy.
import { Args, Command, Options } from "@effect/cli"
import { HttpClientRequest } from "@effect/platform"
import { Clock, Console, Effect, Option, Schema, Stream } from "effect"
import { DeploymentView, podStatusLabel, type PodView } from "../../domain/Workload.js"
import { connect, connectionOptions, unexpectedAnswer } from "./Connection.js"
import { confirmed, connectInProject, jsonOption, projectFilter, projectOption, yesOption } from "./Flags.js"
import { age, printEncoded, printJson, renderTable } from "./Render.js"

/** "5m" rather than "5m ago" in tables. */
const since = (iso: string, nowMs: number) => age(Date.parse(iso), nowMs).replace(/ ago$/, "")

const capitalised = (text: string) => text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1)

/** Why the last container ended and its code: `Error (exit 1)`, `Unhealthy`; `-` while none did. */
export const lastExit = (pod: Pick<PodView, "reason" | "exit_code">): string => {
  const code = pod.exit_code === null ? undefined : `exit ${pod.exit_code}`
  if (pod.reason === null) return code ?? "-"
  return code === undefined ? pod.reason : `${pod.reason} (${code})`
}

export const podsTable = (pods: ReadonlyArray<PodView>, nowMs: number): string =>
  pods.length === 0
    ? "No pods."
    : renderTable(
      ["NAME", "PROJECT", "NODE", "STATUS", "RESTARTS", "LAST EXIT", "IP", "AGE"],
      pods.map((p) => [
        p.name,
        p.project,
        p.node ?? "-",
        podStatusLabel(p.status),
        String(p.restart_count),
        lastExit(p),
        p.container_ip ?? "-",
        since(p.created_at, nowMs)
      ])
    )

export const deploymentsTable = (deployments: ReadonlyArray<DeploymentView>, nowMs: number): string =>
  deployments.length === 0
    ? "No deployments."
    : renderTable(
      ["NAME", "PROJECT", "STATUS", "REPLICAS", "IMAGE", "AGE"],
      deployments.map((d) => [
        d.name,
        d.project,
        capitalised(d.status),
        `${d.ready_replicas}/${d.replicas}`,
        d.image,
        since(d.created_at, nowMs)
      ])
    )

export const pods = Command.make(
  "pods",
  { project: projectFilter, json: jsonOption, ...connectionOptions },
  ({ json, project, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      const list = yield* request((api) => api.workloads.pods({ urlParams: Option.match(project, { onNone: () => ({}), onSome: (p) => ({ project: p }) }) }))
      if (json) return yield* printJson(list)
      yield* Console.log(podsTable(list, yield* Clock.currentTimeMillis))
    })
).pipe(Command.withDescription("List pods (every project, or one with -p)"))

export const deployments = Command.make(
  "deployments",
  { project: projectFilter, json: jsonOption, ...connectionOptions },
  ({ json, project, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      const list = yield* request((api) =>
        api.workloads.deployments({ urlParams: Option.match(project, { onNone: () => ({}), onSome: (p) => ({ project: p }) }) }))
      if (json) {
        return yield* printEncoded(Schema.Array(DeploymentView), list)
      }
      yield* Console.log(deploymentsTable(list, yield* Clock.currentTimeMillis))
    })
).pipe(Command.withDescription("List deployments: status, ready/desired replicas, image"))

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("the deployment's name"))

export const scale = Command.make(
  "scale",
  {
    name,
    replicas: Args.integer({ name: "REPLICAS" }).pipe(Args.withDescription("the desired number of pods (0 allowed)")),
    project: projectOption,
    json: jsonOption,
    ...connectionOptions
  },
  ({ json, name, project, replicas, ...flags }) =>
    Effect.gen(function*() {
      const { project: p, request } = yield* connectInProject(flags, project)
      const deployment = yield* request((api) =>
        api.workloads.scale({ path: { project: p, name }, payload: { replicas } }))
      if (json) return yield* printEncoded(DeploymentView, deployment)
      yield* Console.log(`deployment ${p}/${name} scaled to ${deployment.replicas} replica(s)`)
    })
).pipe(Command.withDescription("Set a deployment's replica count"))

export const stop = Command.make(
  "stop",
  { name, project: projectOption, ...connectionOptions },
  ({ name, project, ...flags }) =>
    Effect.gen(function*() {
      const { project: p, request } = yield* connectInProject(flags, project)
      yield* request((api) => api.workloads.stop({ path: { project: p, name } }))
      yield* Console.log(`deployment ${p}/${name} stopped (definition kept; scale or deploy to start it again)`)
    })
).pipe(Command.withDescription("Stop every pod of a deployment, keeping its definition"))

export const restart = Command.make(
  "restart",
  { name, project: projectOption, json: jsonOption, ...connectionOptions },
  ({ json, name, project, ...flags }) =>
    Effect.gen(function*() {
      const { project: p, request } = yield* connectInProject(flags, project)
      const deployment = yield* request((api) => api.workloads.restart({ path: { project: p, name } }))
      if (json) return yield* printEncoded(DeploymentView, deployment)
      yield* Console.log(
        `deployment ${p}/${name} restarting: each of its ${deployment.replicas} pod(s) is replaced by a fresh one, one at a time`
      )
    })
).pipe(Command.withDescription("Replace every pod of a deployment with a fresh one (clean restart counters, out of a crash loop)"))

export const rm = Command.make(
  "rm",
  { name, project: projectOption, yes: yesOption, ...connectionOptions },
  ({ name, project, yes, ...flags }) =>
    Effect.gen(function*() {
      const { project: p, request } = yield* connectInProject(flags, project)
      yield* confirmed(yes, `remove deployment ${p}/${name} and its pods`)
      yield* request((api) => api.workloads.remove({ path: { project: p, name } }))
      yield* Console.log(`deployment ${p}/${name} removed`)
    })
).pipe(Command.withDescription("Remove a deployment: its pods and its definition"))

export const logs = Command.make(
  "logs",
  {
    name,
    project: projectOption,
    tail: Options.integer("tail").pipe(Options.withDescription("start from the last N lines of each pod"), Options.optional),
    follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("keep streaming new lines")),
    pod: Options.text("pod").pipe(Options.withDescription("one pod by name (e.g. api-0)"), Options.optional),
    ...connectionOptions
  },
  ({ follow, name, pod, project, tail, ...flags }) =>
    Effect.gen(function*() {
      const { explainError, http, project: p } = yield* connectInProject(flags, project)
      const params: Record<string, string> = { follow: String(follow) }
      if (Option.isSome(tail)) params.tail = String(tail.value)
      if (Option.isSome(pod)) params.pod = pod.value
      const route = `/api/v1/projects/${encodeURIComponent(p)}/deployments/${encodeURIComponent(name)}/logs`
      const response = yield* http.execute(HttpClientRequest.get(route, { urlParams: params })).pipe(
        Effect.catchAll(explainError)
      )
      if (response.status !== 200) return yield* explainError({ message: yield* unexpectedAnswer(response) })
      yield* response.stream.pipe(
        Stream.decodeText(),
        Stream.runForEach((text) => Effect.sync(() => void process.stdout.write(text))),
        Effect.catchAll(explainError)
      )
    }).pipe(Effect.scoped)
).pipe(Command.withDescription("Print a deployment's logs, `<pod> <line>` (-f follows)"))
