// `helyos project list|create|suspend|resume|delete`: the namespaces deployments live in.
import { Clock, Console, Effect } from "effect"
import type { ProjectView } from "../../domain/Workload.js"
import { ProjectsApi } from "../../services/api/ProjectsApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect } from "./Connection.js"
import { confirmed } from "./Flags.js"
import { age, printJson, renderTable } from "./Render.js"

const Api = clientApi(ProjectsApi)

export const projectsTable = (projects: ReadonlyArray<ProjectView>, nowMs: number): string =>
  projects.length === 0
    ? "No projects."
    : renderTable(
      ["NAME", "STATUS", "AGE"],
      projects.map((p) => [p.name, p.status, age(Date.parse(p.created_at), nowMs).replace(/ ago$/, "")])
    )

type Named = { readonly name: string }

export const list = ({ json }: { readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    const projects = yield* request((api) => api.projects.list())
    if (json) return yield* printJson(projects)
    yield* Console.log(projectsTable(projects, yield* Clock.currentTimeMillis))
  })

export const create = ({ name }: Named, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.projects.create({ payload: { name } }))
    yield* Console.log(`project '${name}' created`)
  })

export const suspend = ({ name }: Named, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.projects.suspend({ path: { project: name } }))
    yield* Console.log(`project '${name}' suspended: its pods are stopped and new deploys are refused`)
  })

export const resume = ({ name }: Named, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.projects.resume({ path: { project: name } }))
    yield* Console.log(`project '${name}' resumed`)
  })

export const remove = ({ name, yes }: Named & { readonly yes: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    yield* confirmed(yes, `delete project '${name}'`)
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.projects.remove({ path: { project: name } }))
    yield* Console.log(`project '${name}' deleted`)
  })
