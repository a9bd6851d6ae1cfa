// Reading the REST API's and the cluster's TLS material: optional reads, and key files kept private
// (writes go through AtomicFile). Plain synchronous functions that throw; each caller wraps them with
// its own error and log wording.
import * as fs from "node:fs"

/** The file's text, or undefined when it does not exist (any other failure throws). */
export const readIfPresent = (file: string): string | undefined => {
  try {
    return fs.readFileSync(file, "utf8")
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined
    throw error
  }
}

/** Key files are private: one that group or others may read (older, hand-copied) is tightened to 0600. */
export const keepPrivate = (file: string): void => {
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, 0o600)
}
