// How expected failures cross HTTP: "tagged error X answers status N with {"error": message}".
// One declaration serves the server (encode X), the client (decode into ApiError) and OpenAPI.
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import { Option, Schema, SchemaAST } from "effect"

/** Every error body the API sends, exactly. */
export const ErrorBody = Schema.Struct({ error: Schema.String }).annotations({ identifier: "ErrorBody" })

/**
 * An error as the client sees it: the HTTP status and the server's message. The server never
 * sends X itself (only its message), so the client decodes every declared error into this.
 */
export class ApiError extends Schema.TaggedError<ApiError>()("ApiError", {
  status: Schema.Number,
  message: Schema.String
}) {}

const apiErrorWithStatus = (status: number) =>
  Schema.declare((u: unknown): u is ApiError => u instanceof ApiError && u.status === status, {
    identifier: `ApiError${status}`
  })

/** The error's name for OpenAPI ("NodeNotFound"), from its class identifier. */
const nameOf = (error: Schema.Schema.Any): string =>
  Option.getOrElse(SchemaAST.getIdentifierAnnotation(Schema.typeSchema(error).ast), () => Schema.format(error))

/** `{"error": message}` on the wire, `A` in code; what arrives from the wire is an ApiError with `status`. */
const errorBody = <A extends { readonly message: string }>(type: Schema.Schema<A>, status: number, description: string) =>
  Schema.transform(ErrorBody, type, {
    strict: false,
    decode: ({ error: message }) => new ApiError({ status, message }),
    encode: (failure) => ({ error: failure.message })
  }).annotations(HttpApiSchema.annotations({ status, description }))

/**
 * Declare that failures of `error` answer `status` with `{"error": error.message}`.
 * Handlers fail with the domain error itself; the client receives an `ApiError` with that
 * status and message. An `ApiError` carrying the same status encodes the same way.
 */
export const httpError = <A extends { readonly message: string }, I>(
  error: Schema.Schema<A, I>,
  status: number
): Schema.Schema<A | ApiError, typeof ErrorBody.Encoded> =>
  errorBody(Schema.Union(Schema.typeSchema(error), apiErrorWithStatus(status)), status, nameOf(error))

/** An error that exists only on the wire (no domain error behind it): an ApiError with this status. */
export const wireError = (status: number, description: string): Schema.Schema<ApiError, typeof ErrorBody.Encoded> =>
  errorBody(apiErrorWithStatus(status), status, description)

/** 422: the request did not decode (bad path, query or body). Raised for HttpApi's own decode failures. */
export const InvalidRequest = wireError(422, "The request did not match the expected schema")

/** 404: no such route. */
export const RouteNotFound = wireError(404, "No such route")

/** 500: a bug on the server; the details are in the daemon's log, never in the response. */
export const InternalError = wireError(500, "Internal server error")
