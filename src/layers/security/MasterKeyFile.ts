// The master key at <data-dir>/master.key: 32 random bytes, created on first start with mode 0600
// and reused afterwards. A key of the wrong size is refused, never replaced (that would orphan every secret).
import { randomBytes } from "node:crypto"
import * as fs from "node:fs"
import * as path from "node:path"
import { Effect, Layer, Redacted, Schema } from "effect"
import { MASTER_KEY_BYTES } from "../../domain/SecretCrypto.js"
import { DaemonConfig } from "../../services/DaemonConfig.js"
import { MasterKey } from "../../services/security/MasterKey.js"
import { writeFileAtomic } from "./AtomicFile.js"

export const MASTER_KEY_FILE = "master.key"

/** The key file cannot be used: the daemon refuses to start, and the message says what to do. */
export class MasterKeyInvalid extends Schema.TaggedError<MasterKeyInvalid>()("MasterKeyInvalid", {
  path: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `master key ${this.path}: ${this.problem}`
  }
}

/**
 * Write a new key without ever exposing a partial one. `create`, never `replace`: two daemons starting
 * together cannot both win, and the loser reads the winner's key. Returns false when a key appeared first.
 */
const createKey = (file: string): boolean => writeFileAtomic(file, randomBytes(MASTER_KEY_BYTES), 0o600, "create")

/** Read the key at `file`, creating it first when absent. Logs (never the key) when it creates one. */
export const loadOrCreateMasterKey = (file: string): Effect.Effect<Redacted.Redacted<Uint8Array>, MasterKeyInvalid> =>
  Effect.gen(function*() {
    const invalid = (problem: string) => new MasterKeyInvalid({ path: file, problem })
    const created = yield* Effect.try({
      try: () => (fs.existsSync(file) ? false : createKey(file)),
      catch: (error) => invalid(`cannot create it: ${error instanceof Error ? error.message : String(error)}`)
    })
    if (created) yield* Effect.logInfo(`created the secrets master key ${file} (back it up: losing it loses every secret)`)
    const { bytes, mode } = yield* Effect.try({
      try: () => ({ bytes: fs.readFileSync(file), mode: fs.statSync(file).mode & 0o777 }),
      catch: (error) => invalid(`cannot read it: ${error instanceof Error ? error.message : String(error)}`)
    })
    if (bytes.length !== MASTER_KEY_BYTES) {
      return yield* invalid(
        `expected ${MASTER_KEY_BYTES} bytes, got ${bytes.length}. Restore the original key; ` +
          `only if its secrets are lost anyway, move the file away to start with a new key`
      )
    }
    if ((mode & 0o077) !== 0) {
      yield* Effect.logWarning(`${file} is readable by other users (mode ${mode.toString(8)}); run: chmod 600 ${file}`)
    }
    return Redacted.make<Uint8Array>(bytes)
  })

/** MasterKey from <data-dir>/master.key (DaemonConfig.dataDir; the directory must exist). */
export const layer: Layer.Layer<MasterKey, MasterKeyInvalid, DaemonConfig> = Layer.effect(
  MasterKey,
  Effect.flatMap(DaemonConfig, (config) => loadOrCreateMasterKey(path.join(config.dataDir, MASTER_KEY_FILE)))
)
