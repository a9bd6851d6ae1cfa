// `helyos secret set|list|rm -p PROJECT`: per-project secrets. A value comes from --value (warned:
// shell history), a hidden prompt on a terminal, or one line of stdin; no command ever reads one back.
import { Console, Effect, Either, Redacted } from "effect"
import { decodeSecretText } from "../../domain/Secrets.js"
import { SecretsApi } from "../../services/api/SecretsApi.js"
import type { Globals } from "./CommandLine.js"
import { CliError, clientApi, connect, isLoopback } from "./Connection.js"
import { hidden } from "./Prompts.js"
import { printJson, renderTable } from "./Render.js"

const Api = clientApi(SecretsApi)

/** `-p` is required here: a secret always belongs to one named project. */
const requireProject = (project: string | undefined) =>
  project === undefined || project === ""
    ? Effect.fail(new CliError({ message: "a secret belongs to a project: pass -p PROJECT (--project)" }))
    : Effect.succeed(project)

export const secretsTable = (project: string, names: ReadonlyArray<string>): string =>
  names.length === 0
    ? `No secrets in project '${project}'.`
    : [`Secrets · ${names.length} total`, renderTable(["NAME", "PROJECT"], names.map((n) => [n, project]))].join("\n")

/** Everything on stdin (until EOF), as bytes. */
const readStdin = Effect.tryPromise({
  try: async () => {
    const chunks: Array<Buffer> = []
    for await (const chunk of process.stdin) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk)
    return Buffer.concat(chunks)
  },
  catch: (error) => new CliError({ message: `cannot read the secret from stdin: ${String(error)}` })
})

/** The one line a piped stdin carries, trailing whitespace (the newline included) stripped. */
export const valueFromStdin = (bytes: Uint8Array): Either.Either<string, string> =>
  Either.flatMap(Either.mapLeft(decodeSecretText(bytes), (e) => e.message), (text) => {
    const [first = "", ...rest] = text.split(/\r?\n/)
    if (rest.some((line) => line.trim() !== "")) {
      return Either.left("stdin holds more than one line; a secret is one line (base64-encode multi-line values)")
    }
    const value = first.trimEnd()
    return value === "" ? Either.left("no secret value on stdin") : Either.right(value)
  })

const promptValue = (secret: string) => Effect.map(hidden(`Value for secret '${secret}' (input hidden)`), Redacted.make)

/** --value (warned), else a hidden prompt on a terminal, else one line of stdin. */
const acquireValue = (secret: string, flag: string | undefined) =>
  flag !== undefined
    ? Effect.as(
      Console.error("warning: --value leaves the secret in your shell history and the process list; prefer the prompt or stdin"),
      Redacted.make(flag)
    )
    : process.stdin.isTTY === true
    ? promptValue(secret)
    : Effect.flatMap(readStdin, (bytes) =>
      Either.match(valueFromStdin(bytes), {
        onLeft: (message) => Effect.fail(new CliError({ message })),
        onRight: (value) => Effect.succeed(Redacted.make(value))
      }))

type SecretInput = { readonly name: string; readonly project: string | undefined }

export const set = ({ name, project, value }: SecretInput & { readonly value: string | undefined }, globals: Globals) =>
  Effect.gen(function*() {
    const p = yield* requireProject(project)
    const { request, server } = yield* connect(globals, Api)
    const secret = yield* acquireValue(name, value)
    const url = new URL(server)
    if (url.protocol === "http:" && !isLoopback(url)) {
      yield* Console.error(`warning: ${server} is plain HTTP: the secret value travels unencrypted`)
    }
    yield* request((api) => api.secrets.set({ path: { project: p, name }, payload: { value: secret } }))
    yield* Console.log(`secret '${name}' set in project '${p}' (running pods keep their value until redeployed)`)
  })

export const list = ({ json, project }: { readonly project: string | undefined; readonly json: boolean }, globals: Globals) =>
  Effect.gen(function*() {
    const p = yield* requireProject(project)
    const { request } = yield* connect(globals, Api)
    const answer = yield* request((api) => api.secrets.list({ path: { project: p } }))
    if (json) return yield* printJson(answer)
    yield* Console.log(secretsTable(answer.project, answer.secrets))
  })

export const remove = ({ name, project }: SecretInput, globals: Globals) =>
  Effect.gen(function*() {
    const p = yield* requireProject(project)
    const { request } = yield* connect(globals, Api)
    yield* request((api) => api.secrets.remove({ path: { project: p, name } }))
    yield* Console.log(`secret '${name}' removed from project '${p}' (running containers keep their environment)`)
  })
