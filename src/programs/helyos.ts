// helyos: the Helyos CLI. Talks to helyosd's REST API through a client derived from HelyosApi's groups.
// This entry reads the command line against the command tree (cli/Commands) and prints help, the
// version and usage errors by itself; only then does it load the one command that runs, and Effect
// with it (scripts/build-cli.mjs bundles it so, splitting at each command's import).
import { helyos } from "./cli/Commands.js"
import { parseCommandLine } from "./cli/CommandLine.js"
import { completions } from "./cli/Completion.js"
import { renderHelp } from "./cli/Help.js"

/** HELYOS_VERSION, written in by the bundler; an unbundled run reads it from the API module. */
declare const __HELYOS_VERSION__: string | undefined

const version = async (): Promise<string> =>
  typeof __HELYOS_VERSION__ === "string"
    ? __HELYOS_VERSION__
    : (await import("../services/api/SystemApi.js")).HELYOS_VERSION

const main = async (argv: ReadonlyArray<string>) => {
  // what the completion scripts ask: the candidates for the last word
  if (argv[0] === "__complete") return void process.stdout.write(completions(helyos, argv.slice(1)).map((c) => `${c}\n`).join(""))
  const parsed = parseCommandLine(helyos, argv)
  switch (parsed._tag) {
    case "Help":
      return void process.stdout.write(renderHelp(helyos, parsed.path))
    case "Version":
      return void process.stdout.write(`${await version()}\n`)
    case "Invalid":
      process.stderr.write(`error: ${parsed.message}\n`)
      process.exitCode = 1
      return
    case "Run": {
      const [program, { runProgram }] = await Promise.all([parsed.run(), import("./cli/Run.js")])
      return runProgram(program)
    }
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`error: unexpected failure in helyos: ${String(error).split("\n")[0]}\n`)
  process.exitCode = 1
})
