// The master's SQLite database: one SqlClient (camelCase in code, snake_case in SQL) with every
// migration applied before any service sees it.
import * as Migrator from "@effect/sql/Migrator"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { Effect, Layer, String } from "effect"
import { ensurePrivateFile } from "./DataDir.js"
import { migrations } from "./migrations/index.js"

const MEMORY = ":memory:"

/** The raw client. better-sqlite3 is opened synchronously; a file database runs in WAL mode. */
export const layerSqlite = (filename: string) =>
  SqliteClient.layer({
    filename,
    // WAL lets a reader (e.g. a CLI inspecting the file) work while the daemon writes; :memory: has no journal
    disableWAL: filename === MEMORY,
    transformQueryNames: String.camelToSnake,
    transformResultNames: String.snakeToCamel
  })

/**
 * Applies pending migrations. The generic Migrator needs only SqlClient, unlike SqliteMigrator.layer
 * which also wants FileSystem | Path | CommandExecutor for its (unused) schema dumps.
 */
export const layerMigrations = Layer.effectDiscard(Migrator.make({})({ loader: Migrator.fromRecord(migrations) }))

/** SqlClient + SqliteClient on `filename` (":memory:" for a throwaway database), fully migrated; a file is private (0600). */
export const layerWith = (filename: string) =>
  layerMigrations.pipe(
    Layer.provideMerge(layerSqlite(filename)),
    Layer.provide(filename === MEMORY ? Layer.empty : Layer.effectDiscard(Effect.sync(() => ensurePrivateFile(filename))))
  )
