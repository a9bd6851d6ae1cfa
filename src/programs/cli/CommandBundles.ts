// Loading one command's bundle in the built CLI. scripts/build-cli.mjs bundles each command module
// (with Effect and everything it uses) as one CommonJS file in dist/cli/commands, and beside it the V8
// code cache of that file made at build time; the entry bundle maps `import("./NodesCommands.js")` in
// Commands.ts to `loadCommandBundle("NodesCommands")`. Compiling ~600 KB of JavaScript is a third of
// a command's start-up; with the cache V8 deserializes it instead (the same as Node 22's
// module.enableCompileCache, which Node 20 lacks). A cache V8 rejects (another Node) only costs time.
// The unbundled build (tsc, `node dist/src/programs/helyos.js`) never calls this.
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import * as vm from "node:vm"

/** What a command bundle exports: its module's exports, and the runner of its own Effect copy. */
export type CommandBundle = Readonly<Record<string, unknown>> & {
  readonly runProgram: (program: unknown) => void
}

let current: CommandBundle | undefined

/** The CommonJS wrapper a bundle's text is compiled in (the one Node's loader uses). */
const wrap = (source: string) => `(function (exports, require, module, __filename, __dirname) { ${source}\n})`

/** The bundle's script, compiled with `cachedData` when given (V8 may reject it: then it compiles). */
export const compileBundle = (file: string, cachedData?: Buffer): vm.Script =>
  new vm.Script(wrap(fs.readFileSync(file, "utf8")), {
    filename: file,
    ...(cachedData === undefined ? {} : { cachedData }),
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER
  })

/** Run a compiled bundle's module code; its exports. */
const evaluate = (script: vm.Script, file: string): CommandBundle => {
  const module = { exports: {} as CommandBundle }
  const run = script.runInThisContext() as (...args: ReadonlyArray<unknown>) => void
  run(module.exports, createRequire(file), module, file, path.dirname(file))
  return module.exports
}

const readCache = (file: string): Buffer | undefined => {
  try {
    return fs.readFileSync(`${file}.cache`)
  } catch {
    return undefined // no cache: compile as usual
  }
}

/** Evaluate dist/cli/commands/<name>.cjs, with its code cache when there is one. */
export const loadCommandBundle = (name: string): CommandBundle => {
  // this module is bundled into dist/cli/helyos.js
  const file = path.join(fileURLToPath(new URL("./commands/", import.meta.url)), `${name}.cjs`)
  current = evaluate(compileBundle(file, readCache(file)), file)
  return current
}

/** The bundle loaded last: the one whose program is about to run. */
export const loadedBundle = (): CommandBundle => {
  if (current === undefined) throw new Error("no command bundle loaded")
  return current
}

/**
 * The code cache of a bundle after its module initialisation (what the build writes beside it): the
 * functions that run while the bundle's modules initialise are compiled by then, so they are in it.
 */
export const codeCacheOf = (file: string): Buffer => {
  const script = compileBundle(file)
  evaluate(script, file)
  return script.createCachedData()
}

/** Does V8 take the cache written beside `file`? (false: none, or made by another Node) */
export const cacheAccepted = (file: string): boolean => {
  const cached = readCache(file)
  return cached !== undefined && !compileBundle(file, cached).cachedDataRejected
}
