// Calling grpc-js from Effects: unary, client-streaming and bidi calls with cancellation on
// interruption and backpressure on both directions.
import type * as grpc from "@grpc/grpc-js"
import { Deferred, Effect, Exit, Stream } from "effect"
import { type GrpcError, toGrpcError } from "./GrpcError.js"
import { fromReadable, write } from "./Server.js"

/**
 * Cancel a call we no longer read (a no-op once it has finished). Cancelling makes grpc-js emit
 * an "error" (CANCELLED) that nobody listens to any more, which Node would throw as uncaught.
 */
const cancelQuietly = (call: { on(event: "error", listener: (err: Error) => void): unknown; cancel(): void }) => {
  call.on("error", () => {})
  call.cancel()
}

/**
 * A unary call. `start` issues it with the given callback (grpc-js may throw synchronously, e.g.
 * "Channel has been shut down": that becomes a failure too); interrupting cancels the call.
 */
export const unary = <Res>(
  start: (callback: (error: grpc.ServiceError | null, response: Res) => void) => grpc.ClientUnaryCall
): Effect.Effect<Res, GrpcError> =>
  Effect.async<Res, GrpcError>((resume) => {
    try {
      const call = start((err, res) => resume(err ? Effect.fail(toGrpcError(err)) : Effect.succeed(res)))
      return Effect.sync(() => call.cancel())
    } catch (err) {
      resume(Effect.fail(toGrpcError(err)))
    }
  })

/**
 * A client-streaming call: writes `messages` with backpressure, half-closes, then awaits the reply.
 * Writing stops early if the server answers (or fails) before the messages run out; interruption
 * or a failure cancels the call.
 */
export const clientStreaming = <I, Res, E, R>(
  start: (callback: (error: grpc.ServiceError | null, response: Res) => void) => grpc.ClientWritableStream<I>,
  messages: Stream.Stream<I, E, R>
): Effect.Effect<Res, GrpcError | E, R> =>
  Effect.acquireUseRelease(
    Effect.gen(function*() {
      const reply = yield* Deferred.make<Res, GrpcError>()
      const call = yield* Effect.try({
        try: () => start((err, res) => Deferred.unsafeDone(reply, err ? Exit.fail(toGrpcError(err)) : Exit.succeed(res))),
        catch: toGrpcError
      })
      return { call, reply }
    }),
    ({ call, reply }) =>
      Stream.runForEach(messages, (m) => write(call, m)).pipe(
        Effect.zipRight(Effect.sync(() => void call.end())),
        Effect.zipRight(Effect.never),
        // whichever comes first: the reply, or a failure of our own writing
        Effect.raceFirst(Deferred.await(reply))
      ),
    ({ call }, exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.sync(() => cancelQuietly(call)))
  )

/**
 * A bidi call: `outgoing` is written by a fiber tied to the returned stream (half-closing when it
 * ends), and the returned stream yields what the server sends. It ends when the server ends the
 * call with OK and fails with the status otherwise. When the stream's consumer stops (or is
 * interrupted) the call is cancelled.
 */
export const bidi = <I, O, R>(
  start: () => grpc.ClientDuplexStream<I, O>,
  outgoing: Stream.Stream<I, never, R>
): Stream.Stream<O, GrpcError, R> =>
  Stream.unwrapScoped(
    Effect.gen(function*() {
      const call = yield* Effect.acquireRelease(
        Effect.try({ try: start, catch: toGrpcError }),
        (call) => Effect.sync(() => cancelQuietly(call))
      )
      const pump = Stream.runForEach(outgoing, (m) => write(call, m)).pipe(
        Effect.zipRight(Effect.sync(() => void call.end()))
      )
      // the pump's failure fails the stream; the pump finishing does not end it (haltStrategy left)
      return Stream.merge(fromReadable<O>(call), Stream.execute(pump), { haltStrategy: "left" })
    })
  )
