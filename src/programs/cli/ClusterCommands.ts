// `helyos cluster token show|rotate`: the join token workers use (shown once, only at creation).
// `helyos cluster config …` is SchedulerCommands.
import { Console, Duration, Effect, Either, Redacted } from "effect"
import { formatDuration, parseDuration } from "../../domain/Duration.js"
import { ClusterApi } from "../../services/api/ClusterApi.js"
import type { Globals } from "./CommandLine.js"
import { CliError, clientApi, connect } from "./Connection.js"

const Api = clientApi(ClusterApi)

export const showToken = (globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    // the daemon always refuses (410): only a hash is stored; its message says what to do instead
    yield* request((api) => api.cluster.showToken())
  })

/** "90s", "30m", "1h", "7d": how long the new token admits workers (whole seconds, at least 1 s). */
export const parseTtl = (text: string): Either.Either<Duration.Duration, string> => {
  const days = /^(\d+)d$/.exec(text.trim())
  const parsed = days !== null ? Either.right(Duration.days(Number(days[1]))) : parseDuration(text)
  return Either.flatMap(parsed, (d) =>
    Duration.toMillis(d) >= 1_000 ? Either.right(d) : Either.left(`--ttl must be at least 1s, got '${text}'`))
}

export const rotateToken = ({ ttl }: { readonly ttl: string | undefined }, globals: Globals) =>
  Effect.gen(function*() {
    const ttlSecs = ttl === undefined
      ? undefined
      : yield* Either.match(parseTtl(ttl), {
        onLeft: (problem) => Effect.fail(new CliError({ message: `--ttl: ${problem}` })),
        onRight: (d) => Effect.succeed(Math.ceil(Duration.toSeconds(d)))
      })
    const { request, server } = yield* connect(globals, Api)
    const rotated = yield* request((api) =>
      api.cluster.rotateToken({ payload: ttlSecs === undefined ? {} : { ttl_secs: ttlSecs } })
    )
    const plain = Redacted.value(rotated.token)
    const master = new URL(server).hostname
    const expiry = rotated.expires_at === null
      ? []
      : [`Expires at ${rotated.expires_at} (in ${formatDuration(Duration.seconds(ttlSecs ?? 0))}).`]
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
  })
