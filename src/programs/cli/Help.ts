// Help text rendered from the command tree, laid out as docker's and kubectl's is: a usage line, what
// the command does, one line per subcommand or option with its description wrapped beside it. Global
// options are listed once, in the root's help; no line is wider than WIDTH. No Effect here.
import {
  type ArgSpec,
  commandName,
  commandsOf,
  globalOptions,
  type Group,
  helpOption,
  type Leaf,
  type Node,
  type OptionSpec,
  optionNames,
  versionOption
} from "./CommandLine.js"

/** The widest line help prints. */
export const WIDTH = 100

/** The description column never starts further right than this, so long names do not squeeze it. */
const MAX_NAME_COLUMN = 30

/** Words of `text` in lines of at most `width` (a longer word gets a line of its own). */
export const wrap = (text: string, width: number): ReadonlyArray<string> => {
  const lines: Array<string> = []
  let line = ""
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    if (line === "") line = word
    else if (line.length + 1 + word.length <= width) line += ` ${word}`
    else {
      lines.push(line)
      line = word
    }
  }
  if (line !== "") lines.push(line)
  return lines.length === 0 ? [""] : lines
}

/**
 * `  name   description` rows, descriptions aligned and wrapped under themselves; `align` lines them up
 * with other lists (the width of their longest name too).
 */
export const rows = (
  entries: ReadonlyArray<readonly [string, string]>,
  align: ReadonlyArray<readonly [string, string]> = entries
): ReadonlyArray<string> => {
  const indent = 2
  const longest = Math.max(0, ...[...entries, ...align].map(([name]) => name.length))
  const column = indent + Math.min(longest, MAX_NAME_COLUMN) + 3
  return entries.flatMap(([name, description]) => {
    const lead = " ".repeat(indent) + name
    const text = wrap(description, WIDTH - column)
    // a name too long for the column gets its description on the next line
    const first = lead.length + 1 < column ? [lead.padEnd(column) + text[0]] : [lead, " ".repeat(column) + text[0]]
    return [...first, ...text.slice(1).map((line) => " ".repeat(column) + line)].map((l) => l.trimEnd())
  })
}

const paragraph = (text: string) => wrap(text, WIDTH)

/** `-p, --project NAME`; options without a short name line up under the long names of those with one. */
const optionLabel = (key: string, spec: OptionSpec): string => {
  const [first, second] = optionNames(key, spec)
  const names = second === undefined ? `    ${first}` : `${first}, ${second}`
  return spec._tag === "Flag" ? names : `${names} ${spec.metavar}`
}

const optionEntries = (options: Readonly<Record<string, OptionSpec>>) =>
  Object.entries(options).map(([key, spec]) => [optionLabel(key, spec), spec.description] as const)

/** A leaf's name in lists, with its aliases: `ls, list`. */
const listedName = (node: Node) => (node._tag === "Leaf" && node.aliases.length > 0 ? [node.name, ...node.aliases].join(", ") : node.name)

/** Commands, one line each; with `flatten`, a nested group's commands are listed by their path (`token rotate`). */
const commandRows = (nodes: ReadonlyArray<Node>, flatten: boolean): ReadonlyArray<readonly [string, string]> =>
  nodes.flatMap((node): ReadonlyArray<readonly [string, string]> =>
    node._tag === "Group" && flatten
      ? commandsOf(node).map((child) => [`${node.name} ${listedName(child)}`, child.summary] as const)
      : [[listedName(node), node.summary] as const]
  )

const rootHelp = (root: Group): ReadonlyArray<string> => {
  const sections = root.sections.map((section) => [section.title, commandRows(section.commands, false)] as const)
  const options = optionEntries({ ...globalOptions, help: helpOption, version: versionOption })
  const commands = sections.flatMap(([, entries]) => entries)
  return [
    `Usage:  helyos [OPTIONS] COMMAND`,
    "",
    ...paragraph(root.summary),
    ...sections.flatMap(([title, entries]) => ["", `${title}:`, ...rows(entries, commands)]),
    "",
    "Global options (before or after the command):",
    ...rows(options),
    "",
    "Run 'helyos COMMAND --help' for more information on a command."
  ]
}

const groupHelp = (path: ReadonlyArray<Node>, g: Group): ReadonlyArray<string> => [
  `Usage:  ${commandName(path)} COMMAND`,
  "",
  ...paragraph(g.summary),
  ...g.sections.flatMap((section) => ["", `${section.title}:`, ...rows(commandRows(section.commands, true))]),
  "",
  `Run '${commandName(path)} COMMAND --help' for more information on a command.`
]

const leafHelp = (path: ReadonlyArray<Node>, leaf: Leaf): ReadonlyArray<string> => {
  const args = Object.values(leaf.args) as ReadonlyArray<ArgSpec<unknown>>
  const argEntries = args.map((a) => [a.name, a.description] as const)
  const options = optionEntries({ ...leaf.options, help: helpOption })
  const usage = [
    commandName(path),
    ...args.map((a) => (a.optional ? `[${a.name}]` : a.name)),
    ...(Object.keys(leaf.options).length > 0 ? ["[OPTIONS]"] : [])
  ].join(" ")
  return [
    `Usage:  ${usage}`,
    ...(leaf.aliases.length > 0 ? [`Aliases: ${[leaf.name, ...leaf.aliases].join(", ")}`] : []),
    "",
    ...paragraph(leaf.summary),
    ...leaf.details.flatMap((text) => ["", ...paragraph(text)]),
    ...(args.length === 0 ? [] : ["", "Arguments:", ...rows(argEntries, [...argEntries, ...options])]),
    "",
    "Options:",
    ...rows(options, [...argEntries, ...options]),
    ...globalsLine(leaf)
  ]
}

/** Which global options the command reads, in one line (none: no line). */
const globalsLine = (leaf: Leaf): ReadonlyArray<string> => {
  const names = leaf.globals.map((g) => `--${g}`)
  if (names.length === 0) return []
  const list = names.length === 1 ? `option ${names[0]} works` : `options ${names.slice(0, -1).join(", ")} and ${names.at(-1)} work`
  return ["", `Global ${list} here too (see 'helyos --help').`]
}

/** The help of the command at `path` under `root`: lines, none wider than WIDTH. */
export const renderHelp = (root: Group, path: ReadonlyArray<Node>): string => {
  const node = path.at(-1) ?? root
  const lines = path.length === 0 ? rootHelp(root) : node._tag === "Group" ? groupHelp(path, node) : leafHelp(path, node)
  return `${lines.join("\n")}\n`
}
