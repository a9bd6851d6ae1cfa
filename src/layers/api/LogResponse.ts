// A log stream as a streamed text/plain response of `<pod> <line>` lines. Failures before the first
// line (unknown deployment or pod, unreachable node) still get their status; later ones end the stream.
import * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Cause, Duration, Effect, Exit, Fiber, Option, Stream } from "effect"
import type { LogLine } from "../../services/orchestrator/Orchestrator.js"

/** How long the response waits for the first line (or failure) before sending headers anyway. */
const FIRST_LINE_WAIT = Duration.millis(500)

const encoder = new TextEncoder()

/**
 * Start pulling `lines` in the request's scope; fail with its error if it fails early, else answer
 * 200 and stream the rest. The request scope is ejected so it closes when the body ends.
 */
export const logResponse = <E>(lines: Stream.Stream<LogLine, E>) =>
  Effect.gen(function*() {
    const pull = yield* Stream.toPull(Stream.map(lines, ({ line, pod }) => `${pod} ${line}\n`))
    // in the request scope (ejected below): a plain fork would die with the handler before the body is sent
    const first = yield* Effect.forkScoped(pull)
    const early = yield* Effect.timeoutOption(Fiber.await(first), FIRST_LINE_WAIT)
    if (Option.isSome(early) && Exit.isFailure(early.value)) {
      const failure = Cause.failureOption(early.value.cause)
      // Some(Some(e)): the stream failed; Some(None): it ended without a line
      if (Option.isSome(failure) && Option.isSome(failure.value)) return yield* Effect.fail(failure.value.value)
      if (Option.isNone(failure)) return yield* Effect.failCause(early.value.cause as Cause.Cause<never>)
    }
    const head = Stream.unwrap(Effect.matchCause(Fiber.join(first), {
      onFailure: (cause) => {
        const failure = Cause.failureOption(cause)
        if (Option.isSome(failure)) return Option.match(failure.value, { onNone: () => Stream.empty, onSome: Stream.fail })
        return Stream.failCause(cause as Cause.Cause<never>)
      },
      onSuccess: (chunk) => Stream.concat(Stream.fromChunk(chunk), Stream.repeatEffectChunkOption(pull))
    }))
    const body = head.pipe(
      // too late for a status: the reason becomes the last line
      Stream.catchAll((error) => Stream.make(`error: ${messageOf(error)}\n`)),
      Stream.map((text) => encoder.encode(text))
    )
    return HttpApp.unsafeEjectStreamScope(
      HttpServerResponse.stream(body, { contentType: "text/plain; charset=utf-8" })
    )
  })

const messageOf = (error: unknown): string =>
  typeof error === "object" && error !== null && "message" in error ? String(error.message) : String(error)
