// Raw HTTP against the ApiServer under test, as curl would send it: exact statuses, content types and
// bodies, with no typed client in between.
import { Effect } from "effect"
import { ApiServer } from "../../../src/services/api/ApiServer.js"
import { TOKEN } from "./ApiHarness.js"

export interface Answer {
  readonly status: number
  readonly contentType: string | null
  readonly text: string
  /** The body parsed as JSON; undefined when empty or not JSON. */
  readonly body: unknown
}

/**
 * One request to the ApiServer in context. `body` is sent as JSON (a string as it is, to send
 * malformed JSON); a `null` token sends no Authorization header.
 */
export const call = (method: string, route: string, body?: unknown, token: string | null = TOKEN) =>
  Effect.gen(function*() {
    const { url } = yield* ApiServer
    return yield* Effect.promise(async (): Promise<Answer> => {
      const headers: Record<string, string> = token === null ? {} : { authorization: `Bearer ${token}` }
      if (body !== undefined) headers["content-type"] = "application/json"
      const response = await fetch(`${url}${route}`, {
        method,
        headers,
        ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
      })
      const text = await response.text()
      let parsed: unknown = undefined
      try {
        parsed = text === "" ? undefined : JSON.parse(text)
      } catch {
        parsed = undefined
      }
      return { status: response.status, contentType: response.headers.get("content-type"), text, body: parsed }
    })
  })
