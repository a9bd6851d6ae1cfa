// Requests refused before any route sees them. Every body the API takes is JSON (or YAML / text on
// deploy): a multipart body would be parsed by HttpApi's decoder, which dies on a broken boundary (a
// 500), so it is answered 415 up front. Found by the fuzz test (test/e2e/ApiFuzz.test.ts).
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { HelyosApi } from "../../services/HelyosApi.js"

export const RequestGuardsLive = HttpApiBuilder.middleware(HelyosApi, (app) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
    const type = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
    return type.startsWith("multipart/")
      ? Effect.succeed(HttpServerResponse.unsafeJson({ error: `unsupported content type '${type}': send JSON` }, { status: 415 }))
      : app
  }))
