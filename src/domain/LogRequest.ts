// A pod's logs from the node that runs it: the master asks with a LogRequest and the node answers
// with LogChunks tagged with the request id, the last one marked eof.
import { Schema } from "effect"

export const LogRequest = Schema.Struct({
  requestId: Schema.String,
  podId: Schema.String,
  /** the last this many lines (0: all) */
  tail: Schema.Number,
  follow: Schema.Boolean
})
export interface LogRequest extends Schema.Schema.Type<typeof LogRequest> {}

export const LogChunk = Schema.Struct({
  requestId: Schema.String,
  data: Schema.Uint8ArrayFromSelf,
  /** set on the last chunk */
  eof: Schema.Boolean,
  /** non-empty when the logs could not be read (on the last chunk) */
  error: Schema.String
})
export interface LogChunk extends Schema.Schema.Type<typeof LogChunk> {}
