// A failed gRPC call (either side) as a typed error carrying the grpc status code.
// `details` is what travels on the wire; `message` adds the status name for logs.
import * as grpc from "@grpc/grpc-js"
import { Data } from "effect"

export class GrpcError extends Data.TaggedError("GrpcError")<{
  readonly code: grpc.status
  readonly details: string
  readonly cause?: unknown
  /** trailing metadata sent with the status (e.g. retry-after-ms), string values only */
  readonly trailers?: Readonly<Record<string, string>>
}> {
  override get message() {
    return `${statusName(this.code)}: ${this.details}`
  }
}

/** "UNAVAILABLE" for 14, "CODE_99" for something grpc-js does not know. */
export const statusName = (code: grpc.status): string => grpc.status[code] ?? `CODE_${code}`

/** Build a GrpcError to answer a call with (server side). */
export const grpcError = (code: grpc.status, details: string): GrpcError => new GrpcError({ code, details })

/** Whatever grpc-js handed us (a ServiceError, a thrown Error, anything) as a GrpcError. */
export const toGrpcError = (cause: unknown): GrpcError => {
  if (cause instanceof GrpcError) return cause
  const e = cause as Partial<grpc.ServiceError> | undefined
  return new GrpcError({
    code: typeof e?.code === "number" ? e.code : grpc.status.UNKNOWN,
    details: e?.details ?? e?.message ?? String(cause),
    cause,
    trailers: e?.metadata instanceof grpc.Metadata ? stringTrailers(e.metadata) : {}
  })
}

const stringTrailers = (metadata: grpc.Metadata): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [key, value] of Object.entries(metadata.getMap())) if (typeof value === "string") out[key] = value
  return out
}

/** Trailers as grpc-js sends them with a status. */
export const toMetadata = (trailers: Readonly<Record<string, string>>): grpc.Metadata => {
  const metadata = new grpc.Metadata()
  for (const [key, value] of Object.entries(trailers)) metadata.set(key, value)
  return metadata
}
