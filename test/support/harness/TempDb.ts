// A SQLite file in a fresh temp directory, removed with the scope (survives master restarts within it).
import { Effect } from "effect"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"

/** `<fresh temp dir>/helyos.db`; the directory is removed when the scope closes. */
export const tempDbFile = (prefix = "helyos-db-") =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(path.join(tmpdir(), prefix))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => path.join(dir, "helyos.db")))
