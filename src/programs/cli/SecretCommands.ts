// `helyos secret set|list|rm -p PROJECT`: per-project secrets. A value comes from --value (warned:
// shell history), a hidden prompt on a terminal, or one line of stdin; no command ever reads one back.
import { Args, Command, Options, Prompt } from "@effect/cli"
import { Console, Effect, Either, Option, Redacted } from "effect"
import { decodeSecretText } from "../../domain/Secrets.js"
import { CliError, connect, connectionOptions, isLoopback } from "./Connection.js"
import { jsonOption } from "./Flags.js"
import { printJson, renderTable } from "./Render.js"

/** `-p` is required here: a secret always belongs to one named project. */
const projectRequired = Options.text("project").pipe(
  Options.withAlias("p"),
  Options.withDescription("the project the secret belongs to (required)")
)

const name = Args.text({ name: "NAME" }).pipe(
  Args.withDescription("the secret's name; it becomes an environment variable ([A-Za-z_][A-Za-z0-9_]*)")
)

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

const promptValue = (secret: string) =>
  Prompt.hidden({ message: `Value for secret '${secret}': (input hidden)` }).pipe(
    Effect.catchTag("QuitException", () => Effect.fail(new CliError({ message: "cancelled" })))
  )

/** --value (warned), else a hidden prompt on a terminal, else one line of stdin. */
const acquireValue = (secret: string, flag: Option.Option<Redacted.Redacted<string>>) =>
  Option.match(flag, {
    onSome: (value) =>
      Effect.as(
        Console.error("warning: --value leaves the secret in your shell history and the process list; prefer the prompt or stdin"),
        value
      ),
    onNone: () =>
      process.stdin.isTTY === true
        ? promptValue(secret)
        : Effect.flatMap(readStdin, (bytes) =>
          Either.match(valueFromStdin(bytes), {
            onLeft: (message) => Effect.fail(new CliError({ message })),
            onRight: (value) => Effect.succeed(Redacted.make(value))
          }))
  })

const set = Command.make(
  "set",
  {
    name,
    project: projectRequired,
    value: Options.redacted("value").pipe(
      Options.withDescription("the value (visible in shell history: prefer the prompt or stdin)"),
      Options.optional
    ),
    ...connectionOptions
  },
  ({ name, project, value, ...flags }) =>
    Effect.gen(function*() {
      const { request, server } = yield* connect(flags)
      const secret = yield* acquireValue(name, value)
      const url = new URL(server)
      if (url.protocol === "http:" && !isLoopback(url)) {
        yield* Console.error(`warning: ${server} is plain HTTP: the secret value travels unencrypted`)
      }
      yield* request((api) => api.secrets.set({ path: { project, name }, payload: { value: secret } }))
      yield* Console.log(`secret '${name}' set in project '${project}' (running pods keep their value until redeployed)`)
    })
).pipe(Command.withDescription("Create or overwrite a secret (--value, a hidden prompt, or one line on stdin)"))

const list = Command.make(
  "list",
  { project: projectRequired, json: jsonOption, ...connectionOptions },
  ({ json, project, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      const answer = yield* request((api) => api.secrets.list({ path: { project } }))
      if (json) return yield* printJson(answer)
      yield* Console.log(secretsTable(answer.project, answer.secrets))
    })
).pipe(Command.withDescription("List a project's secret names (values are never shown)"))

const remove = Command.make(
  "rm",
  { name, project: projectRequired, ...connectionOptions },
  ({ name, project, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      yield* request((api) => api.secrets.remove({ path: { project, name } }))
      yield* Console.log(`secret '${name}' removed from project '${project}' (running containers keep their environment)`)
    })
).pipe(Command.withDescription("Delete a secret"))

export const secret = Command.make("secret").pipe(
  Command.withDescription("Per-project secrets, injected into pods as environment variables: set, list, rm"),
  Command.withSubcommands([set, list, remove])
)
