// Shell completion from the command tree, as kubectl does it: the scripts `helyos completions SHELL`
// prints ask `helyos __complete WORD…` (the words typed so far, the last one being completed) for
// the candidates, which this computes without Effect. No Effect here.
import {
  commandsOf,
  globalOptions,
  type Group,
  kebab,
  type Leaf,
  type Node,
  optionNames,
  type OptionSpec
} from "./CommandLine.js"

const optionsOf = (leaf: Leaf | undefined): ReadonlyArray<readonly [string, OptionSpec]> => [
  ...(leaf === undefined ? [] : Object.entries(leaf.options)),
  ...Object.entries(globalOptions)
]

/** The spellings `--name` / `-n` of what `leaf` (or, before a command, the root) takes. */
const spellings = (leaf: Leaf | undefined): ReadonlyArray<string> => [
  ...optionsOf(leaf).map(([key]) => `--${kebab(key)}`),
  "--help"
]

const takesValue = (leaf: Leaf | undefined, word: string): boolean =>
  optionsOf(leaf).some(([key, spec]) => spec._tag === "Value" && optionNames(key, spec).includes(word))

/**
 * The candidates for the last of `words` (what is being typed, maybe ""), given the words before it:
 * subcommands of the group reached, or options of the command. None: let the shell complete files.
 */
export const completions = (root: Group, words: ReadonlyArray<string>): ReadonlyArray<string> => {
  const typed = words.at(-1) ?? ""
  let node: Node = root
  const before = words.slice(0, -1)
  for (let i = 0; i < before.length; i++) {
    const word = before[i]!
    const leaf = node._tag === "Leaf" ? node : undefined
    if (word.startsWith("-")) {
      if (!word.includes("=") && takesValue(leaf, word)) i++ // its value
      continue
    }
    if (node._tag === "Group") {
      const child: Node | undefined = commandsOf(node).find((n) => n.name === word || (n._tag === "Leaf" && n.aliases.includes(word)))
      if (child === undefined) return []
      node = child
    }
  }
  const leaf = node._tag === "Leaf" ? node : undefined
  // the value of an option: nothing to offer but files
  if (before.length > 0 && takesValue(leaf, before.at(-1)!)) return []
  if (typed.startsWith("-")) return spellings(leaf).filter((s) => s.startsWith(typed))
  if (node._tag === "Group") {
    return commandsOf(node).map((n) => n.name).filter((name) => name.startsWith(typed))
  }
  return []
}

/** The scripts `helyos completions SHELL` prints. */
export const completionScripts = {
  bash: [
    "# helyos completion for bash: source <(helyos completions bash)",
    "_helyos() {",
    "  local IFS=$'\\n'",
    "  COMPREPLY=($(helyos __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null))",
    "  if [ ${#COMPREPLY[@]} -eq 0 ]; then compopt -o default 2>/dev/null; fi",
    "}",
    "complete -F _helyos helyos"
  ],
  zsh: [
    "#compdef helyos",
    "# helyos completion for zsh: source <(helyos completions zsh)",
    "_helyos() {",
    "  local -a candidates",
    "  candidates=(\"${(@f)$(helyos __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")",
    "  if [[ -n \"${candidates[1]}\" ]]; then compadd -- \"${candidates[@]}\"; else _files; fi",
    "}",
    "compdef _helyos helyos"
  ],
  fish: [
    "# helyos completion for fish: helyos completions fish | source",
    "complete -c helyos -f -a '(helyos __complete (commandline -opc)[2..-1] (commandline -ct))'"
  ]
} as const satisfies Record<string, ReadonlyArray<string>>

export type Shell = keyof typeof completionScripts
