// helyosd: the Helyos daemon. single (default), master (+ cluster gRPC) or worker (joins a master).
import * as CliConfig from "@effect/cli/CliConfig"
import * as Command from "@effect/cli/Command"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Either, Logger, LogLevel, Option } from "effect"
import { HELYOS_VERSION } from "../services/api/SystemApi.js"
import { daemonFlags, toDaemonConfig } from "./daemon/Flags.js"
import { PlainLoggerLive } from "./daemon/Logger.js"
import { runServer, runWorker } from "./daemon/Modes.js"


/** A start-up refusal: printed as one line, exit code 1. */
class Refused {
  readonly _tag = "Refused"
  constructor(readonly message: string) {}
}

const helyosd = Command.make("helyosd", daemonFlags, (flags) =>
  Effect.gen(function*() {
    const config = yield* Either.match(toDaemonConfig(flags), {
      onLeft: (problem) => Effect.fail(new Refused(problem)),
      onRight: Effect.succeed
    })
    const level = { trace: LogLevel.Trace, debug: LogLevel.Debug, info: LogLevel.Info, warn: LogLevel.Warning, warning: LogLevel.Warning, error: LogLevel.Error }[flags.logLevel]
    if (config.mode !== "worker") {
      return yield* runServer(config).pipe(
        Logger.withMinimumLogLevel(level),
        // unusable TLS material (a bad --tls-cert, a broken CA in the data dir): one line, exit 1
        Effect.catchTag("ApiTlsMaterialError", (e) => Effect.fail(new Refused(e.message))),
        // a master.key of the wrong size or unreadable: refuse rather than replace it (secrets would be lost)
        Effect.catchTag("MasterKeyInvalid", (e) => Effect.fail(new Refused(e.message))),
        // --dns-mode embedded: the listen address taken or not ours to add (not root): one line, exit 1
        Effect.catchTags({
          DnsListenError: (e) => Effect.fail(new Refused(e.message)),
          DnsAddressError: (e) => Effect.fail(new Refused(e.message))
        })
      )
    }
    return yield* runWorker(config).pipe(
      Logger.withMinimumLogLevel(level),
      // --metrics-port taken: one line, exit 1
      Effect.catchTag("WorkerHttpListenError", (e) => Effect.fail(new Refused(e.message))),
      Effect.catchTags({
        DnsListenError: (e) => Effect.fail(new Refused(e.message)),
        DnsAddressError: (e) => Effect.fail(new Refused(e.message))
      }),
      Effect.catchTag("WorkerStopped", (e) =>
        e.reason === "Removed"
          // removed by an operator: a clean stop, so a supervisor does not bring it back
          ? Effect.logWarning("this worker was removed from the cluster; exiting")
          : Effect.fail(new Refused(e.message)))
    )
  })
).pipe(Command.withDescription("The Helyos daemon: runs containers; --mode master serves a cluster, --mode worker joins one. Also: --help, --version."))

const cli = Command.run(helyosd, { name: "helyosd", version: HELYOS_VERSION })

cli(process.argv).pipe(
  Effect.catchAllCause((cause) => {
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value instanceof Refused) {
      return Console.error(`error: ${failure.value.message}`).pipe(Effect.zipRight(Effect.failCause(cause)))
    }
    // @effect/cli already printed validation errors with the usage
    if (Option.isSome(failure) && typeof failure.value === "object" && failure.value !== null && "_tag" in failure.value) {
      return Effect.failCause(cause)
    }
    return Cause.isInterruptedOnly(cause) ? Effect.void : Effect.logError("helyosd stopped on an unexpected error", cause).pipe(Effect.zipRight(Effect.failCause(cause)))
  }),
  // one --log-level (ours, defaulting to info): @effect/cli's built-in one is hidden with the other
  // built-ins, which the description names instead
  Effect.provide(CliConfig.layer({ showBuiltIns: false })),
  Effect.provide(NodeContext.layer),
  Effect.provide(PlainLoggerLive),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true })
)
