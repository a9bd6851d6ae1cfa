// `helyos project list|create|suspend|resume|delete`: the namespaces deployments live in.
import { Args, Command } from "@effect/cli"
import { Clock, Console, Effect } from "effect"
import type { ProjectView } from "../../domain/Workload.js"
import { connect, connectionOptions } from "./Connection.js"
import { confirmed, jsonOption, yesOption } from "./Flags.js"
import { age, printJson, renderTable } from "./Render.js"

export const projectsTable = (projects: ReadonlyArray<ProjectView>, nowMs: number): string =>
  projects.length === 0
    ? "No projects."
    : renderTable(
      ["NAME", "STATUS", "AGE"],
      projects.map((p) => [p.name, p.status, age(Date.parse(p.created_at), nowMs).replace(/ ago$/, "")])
    )

const name = Args.text({ name: "NAME" }).pipe(Args.withDescription("the project's name"))

const list = Command.make("list", { json: jsonOption, ...connectionOptions }, ({ json, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    const projects = yield* request((api) => api.projects.list())
    if (json) return yield* printJson(projects)
    yield* Console.log(projectsTable(projects, yield* Clock.currentTimeMillis))
  })).pipe(Command.withDescription("List projects"))

const create = Command.make("create", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    yield* request((api) => api.projects.create({ payload: { name } }))
    yield* Console.log(`project '${name}' created`)
  })).pipe(Command.withDescription("Create an empty project (deploying also creates it)"))

const suspend = Command.make("suspend", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    yield* request((api) => api.projects.suspend({ path: { project: name } }))
    yield* Console.log(`project '${name}' suspended: its pods are stopped and new deploys are refused`)
  })).pipe(Command.withDescription("Stop every pod of a project and refuse deploys until resumed"))

const resume = Command.make("resume", { name, ...connectionOptions }, ({ name, ...flags }) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    yield* request((api) => api.projects.resume({ path: { project: name } }))
    yield* Console.log(`project '${name}' resumed`)
  })).pipe(Command.withDescription("Reactivate a suspended project (its deployments start again)"))

const remove = Command.make("delete", { name, yes: yesOption, ...connectionOptions }, ({ name, yes, ...flags }) =>
  Effect.gen(function*() {
    yield* confirmed(yes, `delete project '${name}'`)
    const { request } = yield* connect(flags)
    yield* request((api) => api.projects.remove({ path: { project: name } }))
    yield* Console.log(`project '${name}' deleted`)
  })).pipe(Command.withDescription("Delete an empty project (remove its deployments first)"))

export const project = Command.make("project").pipe(
  Command.withDescription("Projects: list, create, suspend, resume, delete"),
  Command.withSubcommands([list, create, suspend, resume, remove])
)
