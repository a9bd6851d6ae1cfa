// Builds the CLI bin/helyos runs, after tsc (`npm run build`):
//   dist/cli/helyos.js              the entry: command line, help, version (no Effect); ESM
//   dist/cli/commands/<Module>.cjs  one bundle per command module of src/programs/cli/Commands.ts,
//                                   with Effect and all it uses, tree-shaken and minified (CommonJS)
//   dist/cli/commands/<Module>.cjs.cache  its V8 code cache, made here (see CommandBundles.ts)
// A command thus loads the entry and exactly one bundle. In the entry, Commands.ts's
// `import("./X.js")` becomes loadCommandBundle("X"), and helyos.ts's `import("./cli/Run.js")` the
// runner inside that bundle, so the program runs on the Effect copy that made it.
import { build } from "esbuild"
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const cli = join(root, "src", "programs", "cli")
const target = join(root, "dist", "cli")
// built beside the target and swapped in at the end, so a CLI running meanwhile never finds it half made
const outdir = join(root, "dist", `cli.building-${process.pid}`)
const commandsDir = join(outdir, "commands")
const compiled = (...parts) => pathToFileURL(join(root, "dist", "src", ...parts)).href

// the one version string, as tsc compiled it (the CLI prints what the daemon reports)
const { HELYOS_VERSION } = await import(compiled("services", "api", "SystemApi.js"))
const { codeCacheOf } = await import(compiled("programs", "cli", "CommandBundles.js"))

/** The modules Commands.ts loads with `import("./X.js")`: one bundle each. */
const commandModules = [...readFileSync(join(cli, "Commands.ts"), "utf8").matchAll(/import\("\.\/(\w+)\.js"\)/g)]
  .map((m) => m[1])
  .filter((name, i, all) => all.indexOf(name) === i)

const common = {
  absWorkingDir: root,
  bundle: true,
  platform: "node",
  target: "node20",
  minify: true,
  legalComments: "none",
  logLevel: "warning",
  metafile: true
}

rmSync(outdir, { recursive: true, force: true })
mkdirSync(commandsDir, { recursive: true })

const loader = JSON.stringify(join(cli, "CommandBundles.ts"))

const entry = await build({
  ...common,
  entryPoints: { helyos: "src/programs/helyos.ts" },
  outdir,
  format: "esm",
  define: { __HELYOS_VERSION__: JSON.stringify(HELYOS_VERSION) },
  banner: { js: "import{createRequire as __helyosRequire}from\"node:module\";const require=__helyosRequire(import.meta.url);" },
  plugins: [{
    name: "command-bundles",
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind !== "dynamic-import") return undefined
        const name = /^\.\/(\w+)\.js$/.exec(args.path)?.[1]
        if (args.importer === join(cli, "Commands.ts") && commandModules.includes(name)) {
          return { path: name, namespace: "command-bundle" }
        }
        if (args.importer === join(root, "src", "programs", "helyos.ts")) {
          // the runner comes from the loaded bundle; the version fallback is dead code once defined
          if (args.path === "./cli/Run.js") return { path: "Run", namespace: "command-runner" }
          return { path: args.path, external: true }
        }
        throw new Error(`${args.importer}: dynamic import of ${args.path} would pull a bundle into the entry`)
      })
      // CommonJS, so that `import()` of it has the bundle's exports by name
      b.onLoad({ filter: /.*/, namespace: "command-bundle" }, (args) => ({
        resolveDir: root,
        loader: "js",
        contents: `module.exports = require(${loader}).loadCommandBundle(${JSON.stringify(args.path)});`
      }))
      b.onLoad({ filter: /.*/, namespace: "command-runner" }, () => ({
        resolveDir: root,
        loader: "js",
        contents: `import { loadedBundle } from ${loader};\nexport const runProgram = (program) => loadedBundle().runProgram(program);`
      }))
    }
  }]
})

const bundles = await build({
  ...common,
  entryPoints: commandModules.map((name) => ({ in: `command:${name}`, out: name })),
  outdir: commandsDir,
  outExtension: { ".js": ".cjs" },
  format: "cjs",
  alias: {
    // @effect/platform-node's NodeHttpClient module also holds its undici-based client, which the CLI
    // never uses (it builds NodeHttpClient.make on node:https agents that carry the pinned CA). undici
    // is CommonJS, so esbuild cannot drop it from that re-export: 530 KB parsed by every request
    // command. scripts/undici-unused.cjs stands in for it and throws if anything reaches for it.
    undici: join(root, "scripts", "undici-unused.cjs")
  },
  plugins: [{
    name: "command-entries",
    setup(b) {
      b.onResolve({ filter: /^command:/ }, (args) => ({ path: args.path.slice("command:".length), namespace: "command-entry" }))
      b.onLoad({ filter: /.*/, namespace: "command-entry" }, (args) => ({
        resolveDir: cli,
        loader: "ts",
        contents: `export * from "./${args.path}.js"\nexport { runProgram } from "./Run.js"\n`
      }))
    }
  }]
})

for (const name of commandModules) {
  const file = join(commandsDir, `${name}.cjs`)
  writeFileSync(`${file}.cache`, codeCacheOf(file))
}

rmSync(target, { recursive: true, force: true })
renameSync(outdir, target)

const size = (result) => Object.values(result.metafile.outputs).reduce((sum, o) => sum + o.bytes, 0)
writeFileSync(join(root, "dist", "cli-meta.json"), JSON.stringify({ entry: entry.metafile, bundles: bundles.metafile }))
console.log(
  `dist/cli: entry ${(size(entry) / 1024).toFixed(0)} KiB; ${commandModules.length} command bundles, ` +
    `${(size(bundles) / 1024 / commandModules.length).toFixed(0)} KiB each on average, with their code caches`
)
