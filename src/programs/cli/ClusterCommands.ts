// `helyos cluster token show|rotate`: the join token workers use (shown once, only at creation);
// `helyos cluster config …`: the scheduler (SchedulerCommands).
import { Command, HelpDoc, Options, ValidationError } from "@effect/cli"
import { Console, Duration, Effect, Either, Option, Redacted } from "effect"
import { formatDuration, parseDuration } from "../../domain/Duration.js"
import { connect, connectionOptions } from "./Connection.js"
import { config } from "./SchedulerCommands.js"

const show = Command.make("show", connectionOptions, (flags) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    // the daemon always refuses (410): only a hash is stored; its message says what to do instead
    yield* request((api) => api.cluster.showToken())
  })).pipe(Command.withDescription("Explains that the join token is shown only once (use rotate for a new one)"))

/** "90s", "30m", "1h", "7d": how long the new token admits workers (whole seconds, at least 1 s). */
const parseTtl = (text: string): Either.Either<Duration.Duration, string> => {
  const days = /^(\d+)d$/.exec(text.trim())
  const parsed = days !== null ? Either.right(Duration.days(Number(days[1]))) : parseDuration(text)
  return Either.flatMap(parsed, (d) =>
    Duration.toMillis(d) >= 1_000 ? Either.right(d) : Either.left(`--ttl must be at least 1s, got '${text}'`))
}

const ttl = Options.text("ttl").pipe(
  Options.withDescription("the new token expires after this long (e.g. 30m, 1h, 7d); default: never"),
  Options.mapEffect((text) =>
    Either.match(parseTtl(text), {
      onLeft: (problem) => Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--ttl: ${problem}`))),
      onRight: Effect.succeed
    })
  ),
  Options.optional
)

const rotate = Command.make("rotate", { ...connectionOptions, ttl }, (flags) =>
  Effect.gen(function*() {
    const { request, server } = yield* connect(flags)
    const ttlSecs = Option.map(flags.ttl, (d) => Math.ceil(Duration.toSeconds(d)))
    const rotated = yield* request((api) =>
      api.cluster.rotateToken({ payload: Option.match(ttlSecs, { onNone: () => ({}), onSome: (s) => ({ ttl_secs: s }) }) })
    )
    const plain = Redacted.value(rotated.token)
    const master = new URL(server).hostname
    const expiry = rotated.expires_at === null
      ? []
      : [`Expires at ${rotated.expires_at} (in ${formatDuration(Duration.seconds(Option.getOrElse(ttlSecs, () => 0)))}).`]
    yield* Console.log(
      [
        "New join token (shown once — save it now; the previous token no longer admits workers):",
        `  ${plain}`,
        ...expiry,
        "",
        "Workers join with:",
        `  helyosd --mode worker --join ${master}:${rotated.grpc_port} --token ${plain} --ca-fingerprint ${rotated.ca_fingerprint}`
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
