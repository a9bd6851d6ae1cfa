// `helyos cluster token show|rotate`: the join token workers use (shown once, only at creation);
// `helyos cluster config …`: the scheduler (SchedulerCommands).
import { Command } from "@effect/cli"
import { Console, Effect, Redacted } from "effect"
import { connect, connectionOptions } from "./Connection.js"
import { config } from "./SchedulerCommands.js"

/** The master's default cluster gRPC port, for the hint line (the API does not report the real one). */
const DEFAULT_GRPC_PORT = 6444

const show = Command.make("show", connectionOptions, (flags) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    // the daemon always refuses (410): only a hash is stored; its message says what to do instead
    yield* request((api) => api.cluster.showToken())
  })).pipe(Command.withDescription("Explains that the join token is shown only once (use rotate for a new one)"))

const rotate = Command.make("rotate", connectionOptions, (flags) =>
  Effect.gen(function*() {
    const { request, server } = yield* connect(flags)
    const { token } = yield* request((api) => api.cluster.rotateToken())
    const plain = Redacted.value(token)
    const master = new URL(server).hostname
    yield* Console.log(
      [
        "New join token (shown once — save it now; the previous token no longer admits workers):",
        `  ${plain}`,
        "",
        `Workers join with (${DEFAULT_GRPC_PORT} is the default --grpc-port):`,
        `  helyosd --mode worker --join ${master}:${DEFAULT_GRPC_PORT} --token ${plain}`
      ].join("\n")
    )
  })).pipe(Command.withDescription("Replace the join token and print the new one once (joined workers are unaffected)"))

const token = Command.make("token").pipe(
  Command.withDescription("The join token workers present to the master"),
  Command.withSubcommands([show, rotate])
)

export const cluster = Command.make("cluster").pipe(
  Command.withDescription("Cluster-wide settings"),
  Command.withSubcommands([token, config])
)
