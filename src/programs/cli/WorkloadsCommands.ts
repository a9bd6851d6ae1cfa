// `helyos pods`, `deployments`, `scale`, `stop`, `restart`, `rm` and `logs`: a deployment's life after deploy.
import { HttpClientRequest } from "@effect/platform"
import { Clock, Console, Effect, Schema, Stream } from "effect"
import { DeploymentView, podStatusLabel, type PodView } from "../../domain/Workload.js"
import { WorkloadsApi } from "../../services/api/WorkloadsApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect, unexpectedAnswer } from "./Connection.js"
import { confirmed, projectOrDefault } from "./Flags.js"
import { age, printEncoded, printJson, renderTable } from "./Render.js"

const Api = clientApi(WorkloadsApi)

/** `?project=P` when a project is given, else every project. */
const projectParam = (project: string | undefined) => (project === undefined ? {} : { project })

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

interface ListInput {
  readonly project: string | undefined
  readonly json: boolean
}

export const pods = ({ json, project }: ListInput, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const list = yield* request((api) => api.workloads.pods({ urlParams: projectParam(project) }))
    if (json) return yield* printJson(list)
    yield* Console.log(podsTable(list, yield* Clock.currentTimeMillis))
  })

export const deployments = ({ json, project }: ListInput, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const list = yield* request((api) => api.workloads.deployments({ urlParams: projectParam(project) }))
    if (json) return yield* printEncoded(Schema.Array(DeploymentView), list)
    yield* Console.log(deploymentsTable(list, yield* Clock.currentTimeMillis))
  })

/** `connect`, with the project resolved: -p, else the active context's project, else `default`. */
const connectInProject = (globals: Globals, project: string | undefined) =>
  Effect.map(connect(globals, Api), (connection) => ({ ...connection, project: projectOrDefault(project, connection.project) }))

interface DeploymentInput {
  readonly name: string
  readonly project: string | undefined
}

export const scale = (
  { json, name, project, replicas }: DeploymentInput & { readonly replicas: number; readonly json: boolean },
  globals: Globals
) =>
  Effect.gen(function*() {
    const { project: p, request } = yield* connectInProject(globals, project)
    const deployment = yield* request((api) => api.workloads.scale({ path: { project: p, name }, payload: { replicas } }))
    if (json) return yield* printEncoded(DeploymentView, deployment)
    yield* Console.log(`deployment ${p}/${name} scaled to ${deployment.replicas} replica(s)`)
  })

export const stop = ({ name, project }: DeploymentInput, globals: Globals) =>
  Effect.gen(function*() {
    const { project: p, request } = yield* connectInProject(globals, project)
    yield* request((api) => api.workloads.stop({ path: { project: p, name } }))
    yield* Console.log(`deployment ${p}/${name} stopped (definition kept; scale or deploy to start it again)`)
  })

export const restart = ({ json, name, project }: DeploymentInput & { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { project: p, request } = yield* connectInProject(globals, project)
    const deployment = yield* request((api) => api.workloads.restart({ path: { project: p, name } }))
    if (json) return yield* printEncoded(DeploymentView, deployment)
    yield* Console.log(
      `deployment ${p}/${name} restarting: each of its ${deployment.replicas} pod(s) is replaced by a fresh one, one at a time`
    )
  })

export const rm = ({ name, project, yes }: DeploymentInput & { readonly yes: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { project: p, request } = yield* connectInProject(globals, project)
    yield* confirmed(yes, `remove deployment ${p}/${name} and its pods`)
    yield* request((api) => api.workloads.remove({ path: { project: p, name } }))
    yield* Console.log(`deployment ${p}/${name} removed`)
  })

export const logs = (
  { follow, name, pod, project, tail }: DeploymentInput & {
    readonly tail: number | undefined
    readonly follow: boolean
    readonly pod: string | undefined
  },
  globals: Globals
) =>
  Effect.gen(function*() {
    const { explainError, http, project: p } = yield* connectInProject(globals, project)
    const params: Record<string, string> = { follow: String(follow) }
    if (tail !== undefined) params.tail = String(tail)
    if (pod !== undefined) params.pod = pod
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
