// The CLI's command line without a process: help rendered from the command tree, the parser, and the
// "did you mean" suggestion (CommandLine, Help, Commands).
import { describe, expect, it } from "vitest"
import { type Node, allCommands, closest, commandName, editDistance, parseCommandLine } from "../../src/programs/cli/CommandLine.js"
import { helyos } from "../../src/programs/cli/Commands.js"
import { completions } from "../../src/programs/cli/Completion.js"
import { renderHelp, WIDTH, wrap } from "../../src/programs/cli/Help.js"

const parse = (line: string) => parseCommandLine(helyos, line === "" ? [] : line.split(" "))

const invalid = (line: string): string => {
  const result = parse(line)
  if (result._tag !== "Invalid") throw new Error(`${line}: expected a usage error, got ${result._tag}`)
  return result.message
}

/** The input a command would run with (its run is replaced so nothing is loaded). */
const inputOf = async (line: string) => {
  const result = parse(line)
  if (result._tag !== "Run") throw new Error(`${line}: expected a command, got ${JSON.stringify(result)}`)
  const leaf = result.path.at(-1)!
  if (leaf._tag !== "Leaf") throw new Error("not a leaf")
  let seen: unknown
  const original = leaf.run
  ;(leaf as { run: typeof original }).run = (input, globals) => {
    seen = { input, globals }
    return Promise.resolve(undefined as never)
  }
  try {
    await result.run()
  } finally {
    ;(leaf as { run: typeof original }).run = original
  }
  return seen as { readonly input: Record<string, unknown>; readonly globals: Record<string, unknown> }
}

const helpOf = (path: ReadonlyArray<Node>) => renderHelp(helyos, path).trimEnd().split("\n")

describe("helyos --help", () => {
  const lines = helpOf([])

  it("lists each command on one line, within 100 columns, grouped like docker's", () => {
    expect(lines.every((line) => line.length <= WIDTH)).toBe(true)
    expect(lines[0]).toBe("Usage:  helyos [OPTIONS] COMMAND")
    const top = helyos.sections.flatMap((s) => s.commands.map((c) => c.name))
    for (const name of top) {
      expect(lines.filter((line) => new RegExp(`^  ${name}\\s{2,}\\S`).test(line)), name).toHaveLength(1)
    }
    // no description continues on a second line
    const commandLines = lines.slice(lines.indexOf("Workloads:"), lines.indexOf("Global options (before or after the command):"))
    expect(commandLines.filter((line) => /^\s{4,}\S/.test(line))).toEqual([])
    expect(lines).toContain("Workloads:")
    expect(lines).toContain("Access:")
  })

  it("shows the global options once, and no filler", () => {
    const text = lines.join("\n")
    expect(text.match(/--server/g)).toHaveLength(1)
    expect(text.match(/--token/g)).toHaveLength(1)
    expect(text).toMatch(/^ {6}--server URL {5}helyosd's URL/m)
    expect(text).toMatch(/^ {2}-V, --version +print the version$/m)
    expect(text).not.toMatch(/user-defined piece of text|This setting is optional|\[--server text\]/)
  })

  it("every command's help is tidy: usage first, lines within 100 columns, global options named once", () => {
    for (const path of allCommands(helyos)) {
      const help = helpOf(path)
      const name = commandName(path)
      expect(help[0], name).toMatch(new RegExp(`^Usage:  ${name}( |$)`))
      expect(help.filter((line) => line.length > WIDTH), name).toEqual([])
      expect(help.join("\n"), name).not.toMatch(/user-defined piece of text|This setting is optional|An integer\./)
      const leaf = path.at(-1)!
      if (leaf._tag === "Leaf" && leaf.globals.length === 3) {
        expect(help.at(-1)).toBe("Global options --server, --token and --context work here too (see 'helyos --help').")
        // --server is only named in that last line
        expect(help.filter((line) => line.includes("--server")), name).toHaveLength(1)
      }
    }
  })

  it("a command's help: arguments and options aligned, descriptions wrapped beside them", () => {
    const scale = helpOf(allCommands(helyos).find((p) => commandName(p) === "helyos scale")!)
    expect(scale).toEqual([
      "Usage:  helyos scale NAME REPLICAS [OPTIONS]",
      "",
      "Set a deployment's replica count",
      "",
      "Arguments:",
      "  NAME                 the deployment's name",
      "  REPLICAS             the desired number of pods (0 allowed)",
      "",
      "Options:",
      "  -p, --project NAME   the project (default: the context's project, else default)",
      "      --json           print the API's JSON",
      "  -h, --help           show help",
      "",
      "Global options --server, --token and --context work here too (see 'helyos --help')."
    ])
  })

  it("a command that reads fewer global options names only those; one that reads none, none", () => {
    const help = (name: string) => helpOf(allCommands(helyos).find((p) => commandName(p) === name)!)
    expect(help("helyos context ls").at(-1)).toBe("Global option --context works here too (see 'helyos --help').")
    expect(help("helyos init").join("\n")).not.toMatch(/Global option/)
    // context set's --server is its own: the context's server
    expect(help("helyos context set").filter((line) => line.includes("--server"))).toEqual([
      "  NAME                 the context to edit (created when missing; then --server is required)",
      "      --server URL     the context's daemon URL (a bare host gets https:// and :6443)"
    ])
  })

  it("a group's help lists its commands, nested ones by their path", () => {
    const cluster = helpOf(allCommands(helyos).filter((p) => commandName(p) === "helyos cluster")[0]!)
    expect(cluster[0]).toBe("Usage:  helyos cluster COMMAND")
    expect(cluster.filter((line) => /^ {2}(token|config) /.test(line)).map((line) => line.split(/\s{2,}/)[1])).toEqual([
      "token show",
      "token rotate",
      "config get-scheduler",
      "config set"
    ])
  })

  it("wrap keeps words whole and lines within the width", () => {
    expect(wrap("a bb ccc dddd", 6)).toEqual(["a bb", "ccc", "dddd"])
    expect(wrap("", 10)).toEqual([""])
  })
})

describe("closest", () => {
  it("names the nearest command: a prefix, one typo, a transposition; ties go to the one sharing more letters", () => {
    const names = ["nodes", "node", "logs", "pods", "deploy", "deployments", "top", "status"]
    expect(closest("nodse", names)).toBe("nodes")
    expect(closest("dep", names)).toBe("deploy")
    expect(closest("deploymnets", names)).toBe("deployments")
    expect(closest("stauts", names)).toBe("status")
    expect(closest("bogus", names)).toBe("logs")
    expect(closest("x", [])).toBeUndefined()
  })

  it("editDistance counts insertions, deletions, substitutions and swaps", () => {
    expect(editDistance("nodes", "nodes")).toBe(0)
    expect(editDistance("nodse", "nodes")).toBe(1)
    expect(editDistance("pod", "pods")).toBe(1)
    expect(editDistance("kitten", "sitting")).toBe(3)
  })
})

describe("parseCommandLine", () => {
  it("an unknown command is one line naming it and the closest real one, even with --help", () => {
    expect(invalid("bogus")).toBe("unknown command 'bogus' (did you mean 'logs'?); see 'helyos --help'")
    expect(invalid("bogus --help")).toBe("unknown command 'bogus' (did you mean 'logs'?); see 'helyos --help'")
    expect(invalid("node dran")).toBe("unknown command 'dran' for 'helyos node' (did you mean 'drain'?); see 'helyos node --help'")
    // a command one level down
    expect(invalid("drain w1")).toBe("unknown command 'drain' (did you mean 'helyos node drain'?); see 'helyos --help'")
  })

  it("an unknown option names it and the closest option of the command", () => {
    expect(invalid("pods --projct shop")).toBe(
      "unknown option '--projct' for 'helyos pods' (did you mean '--project'?); see 'helyos pods --help'"
    )
    expect(invalid("nodes -x")).toBe("unknown option '-x' for 'helyos nodes'; see 'helyos nodes --help'")
    // before the command: an option no command has is refused at once, among the global ones
    expect(invalid("--sever http://x nodes")).toBe("unknown option '--sever' for 'helyos' (did you mean '--server'?); see 'helyos --help'")
    // one that some command has waits for the command to tell
    expect(invalid("--force nodes")).toMatch(/^unknown option '--force' for 'helyos nodes'/)
  })

  it("arguments: missing, extra and malformed ones are refused with the usage", () => {
    expect(invalid("scale web")).toBe("missing REPLICAS (usage: helyos scale NAME REPLICAS [OPTIONS])")
    expect(invalid("scale web three")).toBe("REPLICAS expects a whole number (0 or more), got 'three'")
    expect(invalid("scale web -1")).toBe("REPLICAS expects a whole number (0 or more), got '-1'")
    expect(invalid("nodes extra")).toBe("unexpected argument 'extra' (usage: helyos nodes [OPTIONS])")
    expect(invalid("logs web --tail")).toBe("option '--tail' needs a value (--tail N)")
    expect(invalid("logs web --tail x")).toBe("option '--tail' expects a whole number (0 or more), got 'x'")
    expect(invalid("pods --json=yes")).toBe("option '--json' takes no value (got '--json=yes')")
    expect(invalid("auth token create t --scope root")).toBe("option '--scope' expects one of admin, read, got 'root'")
  })

  it("reads options and arguments into the command's input, defaults filled in", async () => {
    expect(await inputOf("scale web 3 -p shop")).toEqual({
      input: { name: "web", replicas: 3, project: "shop", json: false },
      globals: { server: undefined, token: undefined, context: undefined }
    })
    expect((await inputOf("deploy app.yaml")).input).toEqual({ file: "app.yaml", timeout: 60, json: false })
    expect((await inputOf("logs web -f --tail=5")).input).toEqual({ name: "web", project: undefined, tail: 5, follow: true, pod: undefined })
    expect((await inputOf("auth token create ci")).input).toMatchObject({ scope: "admin", ttl: undefined })
    expect((await inputOf("context list")).input).toEqual({})
  })

  it("global options go before or after the command (after wins); a command's own flag may come first", async () => {
    const both = await inputOf("--server http://a:1 nodes --server http://b:2 --token t")
    expect(both.globals).toEqual({ server: "http://b:2", token: "t", context: undefined })
    expect((await inputOf("--json pods")).input).toEqual({ project: undefined, json: true })
    expect((await inputOf("-p shop pods")).input).toEqual({ project: "shop", json: false })
    expect((await inputOf("--context prod pods")).globals.context).toBe("prod")
    // context set's --server is its own (the context's server), not the global one
    const set = await inputOf("context set prod --server https://x")
    expect([set.input.server, set.globals.server]).toEqual(["https://x", undefined])
  })

  it("help, version, a group without its command, and `--`", async () => {
    expect(parse("")).toMatchObject({ _tag: "Help", path: [] })
    expect(parse("--help")).toMatchObject({ _tag: "Help", path: [] })
    expect(parse("help")).toMatchObject({ _tag: "Help", path: [] })
    expect(parse("help nodes")).toMatchObject({ _tag: "Help", path: [{ name: "nodes" }] })
    expect(parse("nodes -h")).toMatchObject({ _tag: "Help", path: [{ name: "nodes" }] })
    expect(parse("node")).toMatchObject({ _tag: "Help", path: [{ name: "node" }] })
    expect(parse("--version")).toEqual({ _tag: "Version" })
    expect(parse("-V")).toEqual({ _tag: "Version" })
    expect(invalid("nodes --version")).toMatch(/^unknown option '--version' for 'helyos nodes'/)
    expect((await inputOf("secret set -p shop -- -odd-name")).input).toMatchObject({ name: "-odd-name", project: "shop" })
  })
})

describe("completions (what `helyos __complete WORD…` answers)", () => {
  it("offers the subcommands of the group reached, and the options of the command, by what is typed", () => {
    expect(completions(helyos, ["no"])).toEqual(["nodes", "node"])
    expect(completions(helyos, ["node", ""])).toEqual(["drain", "undrain", "rm"])
    expect(completions(helyos, ["--server", "http://x", "cluster", "to"])).toEqual(["token"])
    expect(completions(helyos, ["pods", "--p"])).toEqual(["--project"])
    expect(completions(helyos, ["--"])).toContain("--server")
  })

  it("offers nothing (the shell completes files) for an option's value, an argument, or an unknown command", () => {
    expect(completions(helyos, ["logs", "web", "-p", ""])).toEqual([])
    expect(completions(helyos, ["deploy", ""])).toEqual([])
    expect(completions(helyos, ["bogus", ""])).toEqual([])
  })
})
