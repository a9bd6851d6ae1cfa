// Logs of pods on other nodes: send a LogRequest down the worker's stream and relay the LogChunks it
// pushes back (tagged with the request id) until eof. Chunks for requests nobody waits for are dropped.
import { randomUUID } from "node:crypto"
import { Effect, Queue, Ref, Stream } from "effect"
import type { NodeId } from "../../domain/Node.js"
import type { LogChunk } from "../../domain/LogRequest.js"
import type { WorkerChannels } from "../../services/cluster/WorkerChannels.js"

interface Waiting {
  readonly nodeId: NodeId
  readonly chunks: Queue.Queue<LogChunk>
}

export const makeLogRouter = (channels: WorkerChannels["Type"]) =>
  Effect.gen(function*() {
    const waiting = yield* Ref.make<ReadonlyMap<string, Waiting>>(new Map())

    const forget = (requestId: string) =>
      Ref.update(waiting, (m) => {
        const next = new Map(m)
        next.delete(requestId)
        return next
      })

    /**
     * A pod's raw log bytes from a remote node. Fails with a readable reason when the node is not
     * connected or reports an error; ends at the chunk marked eof.
     */
    const open = (
      node: { readonly id: NodeId; readonly name: string },
      podId: string,
      options: { readonly tail: number; readonly follow: boolean }
    ): Stream.Stream<Uint8Array, string> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const requestId = randomUUID()
        const chunks = yield* Effect.acquireRelease(
          Effect.gen(function*() {
            const queue = yield* Queue.unbounded<LogChunk>()
            yield* Ref.update(waiting, (m) => new Map(m).set(requestId, { nodeId: node.id, chunks: queue }))
            return queue
          }),
          (queue) => forget(requestId).pipe(Effect.zipRight(Queue.shutdown(queue)))
        )
        const sent = yield* channels.send(node.id, {
          _tag: "LogRequest",
          request: { requestId, podId, tail: options.tail, follow: options.follow }
        })
        if (!sent) return yield* Effect.fail(`node '${node.name}' is not connected`)
        return Stream.fromQueue(chunks).pipe(
          Stream.takeUntil((chunk) => chunk.eof || chunk.error !== ""),
          Stream.mapEffect((chunk) =>
            chunk.error !== ""
              ? Effect.fail(`node '${node.name}': ${chunk.error}`)
              : Effect.succeed(chunk.data)
          ),
          Stream.filter((bytes) => bytes.byteLength > 0)
        )
      }))

    /** A chunk a worker pushed; only the node that was asked may answer a request. */
    const deliver = (nodeId: NodeId, chunk: LogChunk) =>
      Effect.flatMap(Ref.get(waiting), (m) => {
        const w = m.get(chunk.requestId)
        // unsafeOffer: a request that ended meanwhile has a shut queue, and offer would interrupt the pusher
        return w === undefined || w.nodeId !== nodeId ? Effect.void : Effect.sync(() => void w.chunks.unsafeOffer(chunk))
      })

    return { open, deliver } as const
  })

export type LogRouter = Effect.Effect.Success<ReturnType<typeof makeLogRouter>>
