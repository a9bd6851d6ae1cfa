// The data dir holds token hashes, sealed secrets, keys and the database: it is made 0700 and the
// database file 0600 (SQLite gives its -wal and -shm files the database file's mode), whatever the umask.
import * as fs from "node:fs"

const PRIVATE_DIR = 0o700
const PRIVATE_FILE = 0o600

/** Create `dir` (and its parents) if missing; make `dir` itself private either way. */
export const ensurePrivateDir = (dir: string): void => {
  fs.mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR })
  if ((fs.statSync(dir).mode & 0o077) !== 0) fs.chmodSync(dir, PRIVATE_DIR)
}

/** Create `file` empty if missing; make it readable by its owner only either way. */
export const ensurePrivateFile = (file: string): void => {
  fs.closeSync(fs.openSync(file, "a", PRIVATE_FILE))
  if ((fs.statSync(file).mode & 0o077) !== 0) fs.chmodSync(file, PRIVATE_FILE)
}
