// helyos: the Helyos CLI. Talks to helyosd's REST API through a client derived from HelyosApi.
import { Command, ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Option } from "effect"
import { HELYOS_VERSION } from "../services/api/SystemApi.js"
import { auth, whoami } from "./cli/AuthCommands.js"
import { cluster } from "./cli/ClusterCommands.js"
import { CliError, helyosRoot } from "./cli/Connection.js"
import { context } from "./cli/ContextCommands.js"
import { deploy } from "./cli/DeployCommand.js"
import { events } from "./cli/EventsCommands.js"
import { login, logout } from "./cli/LoginCommands.js"
import { node, nodes } from "./cli/NodesCommands.js"
import { project } from "./cli/ProjectCommands.js"
import { secret } from "./cli/SecretCommands.js"
import { status } from "./cli/StatusCommand.js"
import { top } from "./cli/TopCommand.js"
import { deployments, logs, pods, restart, rm, scale, stop } from "./cli/WorkloadsCommands.js"

const helyos = helyosRoot.pipe(
  Command.withDescription("The Helyos CLI. --server, --token and --context go before or after the command."),
  Command.withSubcommands([status, top, deploy, pods, deployments, scale, stop, restart, rm, logs, events, project, secret, nodes, node, cluster, auth, whoami, login, logout, context])
)

/** One line on stderr per failure, exit code 1; @effect/cli prints its own usage errors. */
const report = (cause: Cause.Cause<unknown>) => {
  // Ctrl-C (logs -f, events -f): what failed while stopping (an aborted stream) is part of stopping, exit 0
  if (Cause.isInterrupted(cause)) return Effect.interrupt
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure) && ValidationError.isValidationError(failure.value)) return Effect.failCause(cause)
  const message = Option.isSome(failure) && failure.value instanceof CliError
    ? failure.value.message
    : `unexpected failure in helyos: ${String(Cause.squash(cause)).split("\n")[0]}`
  return Console.error(`error: ${message}`).pipe(Effect.zipRight(Effect.failCause(cause)))
}

Command.run(helyos, { name: "helyos", version: HELYOS_VERSION })(process.argv).pipe(
  Effect.catchAllCause(report),
  // no ambient HttpClient: every request goes through connect(), which applies the context's TLS trust
  Effect.provide(NodeContext.layer),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
