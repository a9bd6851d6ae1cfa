// The CLI's config file on disk (~/.helyos/config.toml, or $HELYOS_CONFIG): where it is, reading it,
// and saving it atomically with mode 0600 and a .bak. What it holds and means is domain/CliContext.
import { Either } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import {
  type CliConfig,
  type ConnectionFlags,
  emptyConfig,
  parseConfig,
  renderConfig,
  resolveConnection,
  type ResolvedConnection,
  withLocalContext
} from "../../domain/CliContext.js"
import { writeFileAtomic } from "../../layers/security/AtomicFile.js"

/** `HELYOS_CONFIG` when set and non-empty, else ~/.helyos/config.toml. */
export const configPath = (env: NodeJS.ProcessEnv = process.env): string =>
  env.HELYOS_CONFIG || path.join(os.homedir() || "/var/lib/helyos", ".helyos", "config.toml")

/** The file's text; none when it does not exist; Left with the reason when it cannot be read. */
const readText = (file: string): Either.Either<string | undefined, string> => {
  try {
    return Either.right(fs.readFileSync(file, "utf8"))
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return Either.right(undefined)
    return Either.left(`cannot read ${file}: ${(error as Error).message}`)
  }
}

/**
 * Read the file. A missing file is simply no contexts; an unreadable or invalid one also reads as
 * no contexts, with a warning the caller prints.
 */
export const readConfig = (file: string): { readonly config: CliConfig; readonly warnings: ReadonlyArray<string> } =>
  Either.match(readText(file), {
    onLeft: (problem) => ({ config: emptyConfig, warnings: [problem] }),
    onRight: (text) =>
      text === undefined
        ? { config: emptyConfig, warnings: [] }
        : Either.match(parseConfig(text), {
          onLeft: (problem) => ({ config: emptyConfig, warnings: [`ignoring ${file}: not valid TOML (${problem})`] }),
          onRight: ({ config, warnings }) => ({ config, warnings: warnings.map((w) => `${file}: ${w}`) })
        })
  })

/**
 * Read the file before changing it: a missing file is no contexts, but an unreadable or invalid one
 * is Left, since saving over it would lose what the user wrote.
 */
export const loadConfigForUpdate = (file: string): Either.Either<CliConfig, string> =>
  Either.flatMap(readText(file), (text) =>
    text === undefined
      ? Either.right(emptyConfig)
      : Either.match(parseConfig(text), {
        onLeft: (problem) => Either.left(`${file} is not valid TOML (${problem}); fix or remove it first`),
        onRight: ({ config }) => Either.right(config)
      }))

/**
 * Save: copy the previous file to `<file>.bak`, then write the new one atomically with mode 0600 (it
 * holds tokens). Throws on I/O errors.
 */
export const writeConfig = (file: string, config: CliConfig): void => {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 })
  if (fs.existsSync(file)) {
    const backup = `${file}.bak`
    fs.copyFileSync(file, backup)
    fs.chmodSync(backup, 0o600) // it holds tokens too
  }
  writeFileAtomic(file, renderConfig(config), 0o600)
}

/**
 * What helyosd calls when it knows its API token: seed the context "local" (CliContext.withLocalContext)
 * and save. Throws (and leaves the file alone) when the existing file cannot be read or is not TOML,
 * rather than replacing what a user wrote.
 */
export const seedLocalContext = (options: {
  readonly path: string
  readonly server: string
  readonly token: string
  readonly ca?: { readonly pem: string; readonly sha256: string } | undefined
}): void => {
  const existing = Either.getOrThrowWith(loadConfigForUpdate(options.path), (problem) => new Error(`${problem}; not overwriting it`))
  writeConfig(options.path, withLocalContext(existing, options))
}

/**
 * The CLI's reader: load the config file (HELYOS_CONFIG or ~/.helyos/config.toml) and resolve the
 * connection for one command. Left: an unknown --context. Warnings are for stderr.
 */
export const resolveContext = (options: {
  readonly flags: ConnectionFlags
  readonly env?: NodeJS.ProcessEnv
  readonly path?: string
}): { readonly connection: Either.Either<ResolvedConnection, string>; readonly warnings: ReadonlyArray<string> } => {
  const env = options.env ?? process.env
  const { config, warnings } = readConfig(options.path ?? configPath(env))
  return { connection: resolveConnection(config, options.flags, env), warnings }
}
