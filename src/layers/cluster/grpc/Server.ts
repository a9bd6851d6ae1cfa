// Serving grpc-js calls from Effects: handler fibers live in a FiberSet owned by the server's
// scope, and the server itself is a scoped resource that shuts down fast.
import * as NodeStream from "@effect/platform-node/NodeStream"
import * as grpc from "@grpc/grpc-js"
import { Cause, Effect, Exit, Fiber, FiberId, FiberSet, Option, Runtime, type Scope, type Stream } from "effect"
import type { Readable } from "node:stream"
import { type GrpcError, grpcError, toGrpcError, toMetadata } from "./GrpcError.js"

/** Forks a handler effect into the server's FiberSet (so closing the server interrupts it). */
export type HandlerRuntime = <A, E>(effect: Effect.Effect<A, E>) => Fiber.RuntimeFiber<A, E>

interface Cancellable {
  on(event: "cancelled", listener: () => void): unknown
}

/** The status a failed handler answers with. Interruption means the server is stopping: clients retry. */
const toServiceError = (cause: Cause.Cause<GrpcError>): Partial<grpc.ServiceError> => {
  const failure = Cause.failureOption(cause)
  if (Option.isSome(failure)) {
    const { code, details, trailers } = failure.value
    return trailers === undefined ? { code, details } : { code, details, metadata: toMetadata(trailers) }
  }
  if (Cause.isInterruptedOnly(cause)) return { code: grpc.status.UNAVAILABLE, details: "server shutting down" }
  // a defect: the client learns nothing about our internals; the log gets the full cause
  return { code: grpc.status.INTERNAL, details: "internal error" }
}

const logDefects = <A>(method: string, effect: Effect.Effect<A, GrpcError>) =>
  effect.pipe(
    Effect.tapErrorCause((cause) =>
      Cause.isDie(cause) ? Effect.logError(`gRPC ${method} failed unexpectedly`, cause) : Effect.void
    )
  )

/** Answer a unary or client-streaming call with the result of `effect`; a client cancel interrupts it. */
export const serveUnary = <Res>(
  run: HandlerRuntime,
  method: string,
  call: Cancellable,
  callback: grpc.sendUnaryData<Res>,
  effect: Effect.Effect<Res, GrpcError>
): void => {
  // the failure is answered to the client: as the fiber's value it is not reported as "unhandled"
  const fiber = run(Effect.exit(logDefects(method, effect)))
  call.on("cancelled", () => fiber.unsafeInterruptAsFork(FiberId.none))
  const answer = (exit: Exit.Exit<Res, GrpcError>) =>
    Exit.isSuccess(exit) ? callback(null, exit.value) : callback(toServiceError(exit.cause), null)
  // the outer exit fails only when the fiber was interrupted from outside (server stopping)
  fiber.addObserver((outer) => answer(Exit.isSuccess(outer) ? outer.value : Exit.failCause(outer.cause)))
}

/** Client-streaming calls answer once too: read the call with `fromReadable` inside `effect`. */
export const serveClientStreaming = serveUnary

/**
 * Serve a bidi call: `effect` reads and writes the call; when it succeeds the call ends with OK,
 * when it fails the call ends with its status. `onExit` also runs on interruption, so a server
 * shutdown ends open streams with UNAVAILABLE at once instead of letting tryShutdown wait for them.
 */
export const serveBidi = <I, O>(
  run: HandlerRuntime,
  method: string,
  call: grpc.ServerDuplexStream<I, O>,
  effect: Effect.Effect<void, GrpcError>
): void => {
  const fiber = run(logDefects(method, effect).pipe(
    Effect.onExit(Exit.match({
      onSuccess: () => Effect.sync(() => void call.end()),
      onFailure: (cause) => Effect.sync(() => void call.emit("error", toServiceError(cause)))
    })),
    // answered on the call already: not an "unhandled" fiber failure
    Effect.exit
  ))
  call.on("cancelled", () => fiber.unsafeInterruptAsFork(FiberId.none))
}

/**
 * A pull-based (backpressured) Stream over a grpc-js readable call, server or client side.
 * closeOnDone: false is essential on duplex calls: destroying the stream when the incoming half
 * ends kills the outgoing half too (no status reaches the peer and it hangs). The same trap is
 * behind `for await (… of call)` and Stream.fromAsyncIterable(call).
 */
export const fromReadable = <A>(readable: Readable): Stream.Stream<A, GrpcError> =>
  NodeStream.fromReadable<GrpcError, A>(() => readable, toGrpcError, { closeOnDone: false })

/**
 * Handle every message of a grpc-js readable call, one at a time and in order, until the peer
 * half-closes (success) or the call fails. Lighter than `fromReadable` + `Stream.runForEach` for
 * long-lived calls carrying many small messages: nothing stays allocated between messages, and each
 * message runs as a short-lived fiber (a child of the caller's runtime). The call is paused while a
 * message is handled, so a slow handler still pushes back on the peer. A failing handler ends it.
 */
export const readEach = <A, E>(
  readable: Readable,
  handle: (message: A) => Effect.Effect<void, E>
): Effect.Effect<void, E | GrpcError> =>
  Effect.flatMap(Effect.runtime<never>(), (runtime) =>
    Effect.async<void, E | GrpcError>((resume) => {
      // already over (like fromReadable: nothing left to read)
      if (!readable.readable) return resume(Effect.void)
      const runFork = Runtime.runFork(runtime)
      let current: Fiber.RuntimeFiber<void, E> | undefined
      let ended = false
      let done = false
      const finish = (effect: Effect.Effect<void, E | GrpcError>) => {
        if (done) return
        done = true
        readable.off("data", onData)
        readable.off("end", onEnd)
        readable.off("error", onError)
        resume(effect)
      }
      const onData = (message: A) => {
        readable.pause()
        const fiber = runFork(handle(message))
        current = fiber
        fiber.addObserver((exit) => {
          current = undefined
          if (Exit.isFailure(exit)) return finish(Effect.failCause(exit.cause))
          if (ended) return finish(Effect.void)
          readable.resume()
        })
      }
      const onEnd = () => {
        ended = true
        // the last message may still be in hand: it finishes first
        if (current === undefined) finish(Effect.void)
      }
      const onError = (err: unknown) => finish(Effect.fail(toGrpcError(err)))
      readable.on("data", onData)
      readable.on("end", onEnd)
      readable.on("error", onError)
      return Effect.suspend(() => {
        done = true
        readable.off("data", onData)
        readable.off("end", onEnd)
        readable.off("error", onError)
        const fiber = current
        return fiber === undefined ? Effect.void : Fiber.interrupt(fiber)
      })
    }))

export interface MessageWritable<A> {
  write(message: A, cb: (error?: Error | null) => void): boolean
}

/** Write one message; resumes once grpc-js has taken it (backpressure for the writer). */
export const write = <A>(stream: MessageWritable<A>, message: A): Effect.Effect<void, GrpcError> =>
  Effect.async<void, GrpcError>((resume) => {
    try {
      stream.write(message, (err) => resume(err ? Effect.fail(toGrpcError(err)) : Effect.void))
    } catch (err) {
      resume(Effect.fail(toGrpcError(err)))
    }
  })

/**
 * Server-authenticated TLS: the certificate chain (server certificate, then the CA that signed it,
 * so a worker can read the CA in the handshake and compare its fingerprint) and its key. No client
 * certificates: workers authenticate with the join token, then with their session secret.
 */
export const tlsCredentials = (chainPem: string, keyPem: string): grpc.ServerCredentials =>
  grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(chainPem), private_key: Buffer.from(keyPem) }], false)

/** The first value of a metadata key, as text. */
export const metadataText = (metadata: grpc.Metadata, key: string): Option.Option<string> =>
  Option.fromNullable(metadata.get(key)[0]).pipe(
    Option.map((v) => (typeof v === "string" ? v : v.toString("utf8"))),
    Option.filter((v) => v.length > 0)
  )

/**
 * Bind a grpc-js server serving one service on host:port (port 0 = any free port) as a scoped
 * resource, with a FiberSet runtime for the handlers. Closing the scope first interrupts every
 * handler fiber (open streams end with UNAVAILABLE), then shuts the server down.
 *
 * `credentials` are required: the cluster port is only ever served over TLS (see tlsCredentials).
 */
export const serve = <D extends grpc.ServiceDefinition>(options: {
  readonly definition: D
  readonly host: string
  readonly port: number
  readonly credentials: grpc.ServerCredentials
  /** channel arguments of the server (keepalive) */
  readonly options?: grpc.ServerOptions
  readonly implementation: (run: HandlerRuntime) => grpc.UntypedServiceImplementation
}): Effect.Effect<{ readonly port: number }, GrpcError, Scope.Scope> =>
  Effect.gen(function*() {
    const fibers = yield* FiberSet.make()
    const run: HandlerRuntime = yield* FiberSet.runtime(fibers)<never>()
    const impl = options.implementation(run)
    const address = `${options.host}:${options.port}`
    const { port } = yield* Effect.acquireRelease(
      Effect.async<{ server: grpc.Server; port: number }, GrpcError>((resume) => {
        const server = new grpc.Server(options.options)
        server.addService(options.definition, impl)
        // grpc-js >= 1.10 serves as soon as bindAsync succeeds (server.start() is deprecated)
        server.bindAsync(address, options.credentials, (err, boundPort) => {
          if (err) {
            server.forceShutdown()
            resume(Effect.fail(grpcError(grpc.status.UNAVAILABLE, `cannot listen on ${address}: ${err.message}`)))
          } else {
            resume(Effect.succeed({ server, port: boundPort }))
          }
        })
      }),
      ({ server }) =>
        Effect.async<void>((resume) => server.tryShutdown(() => resume(Effect.void))).pipe(
          Effect.timeoutTo({ duration: "5 seconds", onSuccess: () => undefined, onTimeout: () => server.forceShutdown() })
        )
    )
    // Finalizers run in reverse order: this one runs before the shutdown above, so long-lived
    // streams are already ended and tryShutdown does not wait for them.
    yield* Effect.addFinalizer(() => FiberSet.clear(fibers))
    return { port }
  })
