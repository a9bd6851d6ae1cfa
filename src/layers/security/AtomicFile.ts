// The one way Helyos writes a file it cares about (keys, certificates, the CLI config with its tokens).
// Readers see the old content or the new, never half of it, and a crash never leaves half a key behind.
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"

/**
 * Write `content` to a fresh temp file beside `file` (created with `mode`, fsynced), then move it into
 * place: `replace` renames over whatever is there; `create` hard-links, which fails when the name
 * exists, so of two processes racing to create the file exactly one wins. Returns false when `create`
 * found the file already there (it is left untouched); throws on any other I/O error.
 * Secrets take mode 0o600.
 */
export const writeFileAtomic = (
  file: string,
  content: string | Uint8Array,
  mode: number,
  placement: "replace" | "create" = "replace"
): boolean => {
  const temp = `${file}.${randomBytes(6).toString("hex")}.tmp`
  try {
    // wx: a random name nobody else has, so no stale file can lend it another mode or content
    const fd = fs.openSync(temp, "wx", mode)
    try {
      fs.writeFileSync(fd, content)
      fs.fsyncSync(fd)
    } finally {
      fs.closeSync(fd)
    }
    // the umask may have narrowed the mode given to open
    fs.chmodSync(temp, mode)
    if (placement === "replace") {
      fs.renameSync(temp, file)
      return true
    }
    try {
      fs.linkSync(temp, file)
      return true
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false
      throw error
    }
  } finally {
    // after a rename there is nothing left to remove; after a link or a failure the temp name goes
    fs.rmSync(temp, { force: true })
  }
}
