// File handling shared by the REST API's and the cluster's TLS material (and the worker's saved CA):
// atomic writes with a set mode, optional reads, and key files kept private. Plain synchronous
// functions that throw; each caller wraps them with its own error and log wording.
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"

/**
 * Write through a fresh temp file (fsynced, `mode` applied) and a rename, so readers see the old or
 * the new content, never half of it, and a crash never leaves half a key behind.
 */
export const writeFileAtomic = (file: string, content: string, mode: number): void => {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`
  try {
    const fd = fs.openSync(temp, "wx", mode)
    try {
      fs.writeSync(fd, content)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    // the umask may have narrowed the mode given to open
    fs.chmodSync(temp, mode)
    fs.renameSync(temp, file)
  } catch (error) {
    fs.rmSync(temp, { force: true })
    throw error
  }
}

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
