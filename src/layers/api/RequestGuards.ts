// Requests refused before any route sees them (both found by the fuzz test, test/e2e/ApiFuzz.test.ts):
// - multipart bodies: every body the API takes is JSON (or YAML / text on deploy), and HttpApi's
//   multipart decoder dies on a broken boundary (a 500), so they are answered 415 up front;
// - bodies larger than any route needs: answered 413 from Content-Length, and a chunked body is cut
//   off at the same size, so a client cannot make the daemon buffer gigabytes.
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpIncomingMessage from "@effect/platform/HttpIncomingMessage"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option } from "effect"
import { HelyosApi } from "../../services/api/HelyosApi.js"

/** The largest request body accepted (a deployment spec or a secret is far smaller). */
export const MAX_BODY_BYTES = 1024 * 1024

const refuse = (status: number, error: string) => Effect.succeed(HttpServerResponse.unsafeJson({ error }, { status }))

export const layer = HttpApiBuilder.middleware(HelyosApi, (app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    if (type.startsWith("multipart/")) return refuse(415, `unsupported content type '${type}': send JSON`)
    const length = Number(request.headers["content-length"] ?? 0)
    if (length > MAX_BODY_BYTES) {
      return refuse(413, `request body too large (${length} bytes; at most ${MAX_BODY_BYTES})`)
    }
    return HttpIncomingMessage.withMaxBodySize(app, Option.some(MAX_BODY_BYTES))
  }))
