// The CLI's command line without Effect: how a command is described (options, arguments, a summary,
// a lazily loaded `run`), parsing argv against the command tree, and the "did you mean" suggestion.
// The entry point loads only this, Help and the tree (Commands.ts) before it knows which command runs,
// so `--version`, `--help` and usage errors never pay for loading Effect.
import type { Effect } from "effect"

/** What a command's `run` resolves to: the effect to run (Run.ts runs it and reports its failure). */
export type Program = Effect.Effect<void, unknown>

/** The options every command takes, before or after the command name. */
export interface Globals {
  readonly server: string | undefined
  readonly token: string | undefined
  readonly context: string | undefined
}

// ---------------------------------------------------------------------------------------------
// Options and arguments

/** A parse of one raw value: the value, or the problem with it (said after the option's name). */
export type Parsed<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly problem: string }

const ok = <A>(value: A): Parsed<A> => ({ ok: true, value })
const bad = (problem: string): Parsed<never> => ({ ok: false, problem })

export interface FlagOption {
  readonly _tag: "Flag"
  readonly short: string | undefined
  readonly description: string
}

export interface ValueOption<A> {
  readonly _tag: "Value"
  readonly short: string | undefined
  /** how help names the value: `--project NAME` */
  readonly metavar: string
  readonly description: string
  readonly parse: (raw: string) => Parsed<NonNullable<A>>
  /** the value when the option is absent */
  readonly absent: A
}

export type OptionSpec = FlagOption | ValueOption<any>

export type OptionValue<O> = O extends FlagOption ? boolean : O extends ValueOption<infer A> ? A : never

/** `--json`, `-f/--follow`: false unless given. */
export const flag = (description: string, short?: string): FlagOption => ({ _tag: "Flag", short, description })

/** `--name VALUE`: undefined unless given. */
export const text = (metavar: string, description: string, short?: string): ValueOption<string | undefined> => ({
  _tag: "Value",
  short,
  metavar,
  description,
  parse: ok,
  absent: undefined
})

const parseInteger = (min: number) => (raw: string): Parsed<number> =>
  /^-?\d+$/.test(raw.trim()) && Number(raw) >= min
    ? ok(Number(raw))
    : bad(min === 0 ? `expects a whole number (0 or more), got '${raw}'` : `expects a whole number, got '${raw}'`)

/** `--tail N`: a whole number, 0 or more; undefined unless given. */
export const integer = (metavar: string, description: string): ValueOption<number | undefined> => ({
  _tag: "Value",
  short: undefined,
  metavar,
  description,
  parse: parseInteger(0),
  absent: undefined
})

/** `--scope admin|read`: one of `choices`; undefined unless given. */
export const choice = <const C extends string>(
  choices: ReadonlyArray<C>,
  description: string
): ValueOption<C | undefined> => ({
  _tag: "Value",
  short: undefined,
  metavar: choices.join("|"),
  description,
  parse: (raw) => choices.includes(raw as C) ? ok(raw as C) : bad(`expects one of ${choices.join(", ")}, got '${raw}'`),
  absent: undefined
})

/** The option with a value when absent (help says `default: …`). */
export const withDefault = <A>(option: ValueOption<A | undefined>, value: A): ValueOption<A> => ({
  ...option,
  description: `${option.description} (default: ${String(value)})`,
  absent: value
})

export interface ArgSpec<A> {
  readonly name: string
  readonly description: string
  readonly optional: boolean
  readonly parse: (raw: string) => Parsed<A>
}

export type ArgValue<A> = A extends ArgSpec<infer V> ? V : never

export const arg = (name: string, description: string): ArgSpec<string> => ({ name, description, optional: false, parse: ok })

export const optionalArg = (name: string, description: string): ArgSpec<string | undefined> => ({
  name,
  description,
  optional: true,
  parse: ok
})

/** One of `choices`. */
export const choiceArg = <const C extends string>(name: string, choices: ReadonlyArray<C>, description: string): ArgSpec<C> => ({
  name,
  description,
  optional: false,
  parse: (raw) => choices.includes(raw as C) ? ok(raw as C) : bad(`expects one of ${choices.join(", ")}, got '${raw}'`)
})

export const integerArg = (name: string, description: string): ArgSpec<number> => ({
  name,
  description,
  optional: false,
  parse: parseInteger(0)
})

// ---------------------------------------------------------------------------------------------
// Commands

export type Options = Readonly<Record<string, OptionSpec>>
export type Args = Readonly<Record<string, ArgSpec<any>>>

/** What a command's `run` is given: its options and arguments by key, typed by their specs. */
export type Input<O extends Options, A extends Args> =
  & { readonly [K in keyof O]: OptionValue<O[K]> }
  & { readonly [K in keyof A]: ArgValue<A[K]> }

export interface Leaf {
  readonly _tag: "Leaf"
  readonly name: string
  /** other names it answers to (`context list` for `context ls`) */
  readonly aliases: ReadonlyArray<string>
  /** one line, for the lists */
  readonly summary: string
  /** more, for its own help (paragraphs) */
  readonly details: ReadonlyArray<string>
  readonly options: Options
  /** positional, in key order */
  readonly args: Args
  /** the global options it reads (help names them) */
  readonly globals: ReadonlyArray<keyof Globals>
  readonly run: (input: any, globals: Globals) => Promise<Program>
}

export interface Group {
  readonly _tag: "Group"
  readonly name: string
  readonly summary: string
  /** root help lists commands under these headings */
  readonly sections: ReadonlyArray<{ readonly title: string; readonly commands: ReadonlyArray<Node> }>
}

export type Node = Leaf | Group

/**
 * A command. `run` loads the module that implements it (a dynamic import) and returns its program,
 * so only what this command needs is ever loaded; its `input` is typed by `options` and `args`.
 */
export const command = <const O extends Options = {}, const A extends Args = {}>(def: {
  readonly name: string
  readonly aliases?: ReadonlyArray<string>
  readonly summary: string
  readonly details?: ReadonlyArray<string>
  readonly options?: O
  readonly args?: A
  /** default: all of them */
  readonly globals?: ReadonlyArray<keyof Globals>
  readonly run: (input: Input<O, A>, globals: Globals) => Promise<Program>
}): Leaf => ({
  _tag: "Leaf",
  name: def.name,
  aliases: def.aliases ?? [],
  summary: def.summary,
  details: def.details ?? [],
  options: def.options ?? {},
  args: def.args ?? {},
  globals: def.globals ?? ["server", "token", "context"],
  run: def.run
})

/** A command made of subcommands (`helyos node drain`). */
export const group = (name: string, summary: string, commands: ReadonlyArray<Node>): Group => ({
  _tag: "Group",
  name,
  summary,
  sections: [{ title: "Commands", commands }]
})

export const commandsOf = (g: Group): ReadonlyArray<Node> => g.sections.flatMap((s) => s.commands)

// ---------------------------------------------------------------------------------------------
// Global options

export const globalOptions = {
  server: text("URL", "helyosd's URL (else $HELYOS_SERVER, the context's, http://127.0.0.1:6443)"),
  token: text("TOKEN", "API token nxa-api_… (else $HELYOS_API_TOKEN, the context's)"),
  context: text("NAME", "use this context of ~/.helyos/config.toml (see helyos context ls)")
} as const

export const helpOption = flag("show help", "h")
export const versionOption = flag("print the version", "V")

// ---------------------------------------------------------------------------------------------
// Suggestions

/** Edit distance with transpositions (optimal string alignment): "nodse" is one edit from "nodes". */
export const editDistance = (a: string, b: string): number => {
  const d: Array<Array<number>> = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)])
  for (let j = 0; j <= b.length; j++) d[0]![j] = j
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1)
      d[i]![j] = best
    }
  }
  return d[a.length]![b.length]!
}

/** Length of the longest common subsequence: breaks ties between equally distant names. */
const commonLetters = (a: string, b: string): number => {
  let previous = Array<number>(b.length + 1).fill(0)
  for (let i = 1; i <= a.length; i++) {
    const row = [0]
    for (let j = 1; j <= b.length; j++) {
      row[j] = a[i - 1] === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, row[j - 1]!)
    }
    previous = row
  }
  return previous[b.length]!
}

/**
 * The candidate closest to what was typed: a name it is the start of (`dep` → `deploy`), else the
 * fewest edits, ties to the one sharing most letters in order, then to the first listed.
 */
export const closest = (typed: string, candidates: ReadonlyArray<string>): string | undefined => {
  const word = typed.toLowerCase()
  const prefixed = candidates.filter((c) => c.startsWith(word))
  if (word.length > 0 && prefixed.length > 0) return [...prefixed].sort((a, b) => a.length - b.length)[0]
  let best: { readonly name: string; readonly distance: number; readonly common: number } | undefined
  for (const name of candidates) {
    const distance = editDistance(word, name)
    const common = commonLetters(word, name)
    if (best === undefined || distance < best.distance || (distance === best.distance && common > best.common)) {
      best = { name, distance, common }
    }
  }
  return best?.name
}

// ---------------------------------------------------------------------------------------------
// Parsing

export type Parse =
  /** print the help of the command at `path` (the root is []) */
  | { readonly _tag: "Help"; readonly path: ReadonlyArray<Node> }
  | { readonly _tag: "Version" }
  | { readonly _tag: "Invalid"; readonly message: string }
  | { readonly _tag: "Run"; readonly path: ReadonlyArray<Node>; readonly run: () => Promise<Program> }

/** `helyos node drain`, for messages. */
export const commandName = (path: ReadonlyArray<Node>): string => ["helyos", ...path.map((n) => n.name)].join(" ")

const childNamed = (g: Group, word: string): Node | undefined =>
  commandsOf(g).find((n) => n.name === word || (n._tag === "Leaf" && n.aliases.includes(word)))

/** Every command below `g` with its path, depth first. */
export const allCommands = (g: Group, prefix: ReadonlyArray<Node> = []): ReadonlyArray<ReadonlyArray<Node>> =>
  commandsOf(g).flatMap((n) => n._tag === "Group" ? [[...prefix, n], ...allCommands(n, [...prefix, n])] : [[...prefix, n]])

/** The message for a word that names no subcommand of `g`. */
const unknownCommand = (path: ReadonlyArray<Node>, g: Group, word: string): string => {
  const where = path.length === 0 ? "" : ` for '${commandName(path)}'`
  // `helyos drain`: the command exists, one level down
  const nested = allCommands(g).find((p) => p.length > 1 && p.at(-1)!.name === word)
  const names = commandsOf(g).flatMap((n) => n._tag === "Leaf" ? [n.name, ...n.aliases] : [n.name])
  const guess = nested !== undefined ? commandName([...path, ...nested]) : closest(word, names)
  const hint = guess === undefined ? "" : ` (did you mean '${guess}'?)`
  return `unknown command '${word}'${where}${hint}; see '${commandName(path)} --help'`
}

interface OptionLookup {
  readonly key: string
  readonly spec: OptionSpec
  readonly scope: "command" | "global"
}

/** The option `--name` / `-n` names, the command's own first (`context set --server` is its own). */
const findOption = (leaf: Leaf | undefined, token: string): OptionLookup | undefined => {
  const matches = (name: string, spec: OptionSpec) =>
    token === `--${kebab(name)}` || (spec.short !== undefined && token === `-${spec.short}`)
  if (leaf !== undefined) {
    for (const [key, spec] of Object.entries(leaf.options)) if (matches(key, spec)) return { key, spec, scope: "command" }
  }
  for (const [key, spec] of Object.entries(globalOptions)) if (matches(key, spec)) return { key, spec, scope: "global" }
  return undefined
}

/** `tokenStdin` → `token-stdin`: option keys are camelCase, their flags kebab-case. */
export const kebab = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)

/** How help and messages spell an option: `-p, --project`. */
export const optionNames = (key: string, spec: OptionSpec): ReadonlyArray<string> =>
  [...(spec.short === undefined ? [] : [`-${spec.short}`]), `--${kebab(key)}`]

const unknownOption = (leaf: Leaf | undefined, path: ReadonlyArray<Node>, token: string): string => {
  const own = leaf === undefined ? [] : Object.entries(leaf.options).map(([k]) => `--${kebab(k)}`)
  const names = [...own, ...Object.keys(globalOptions).map((k) => `--${k}`), "--help", ...(path.length === 0 ? ["--version"] : [])]
  const guess = token.startsWith("--") ? closest(token, names) : undefined
  const hint = guess === undefined ? "" : ` (did you mean '${guess}'?)`
  return `unknown option '${token}' for '${commandName(path)}'${hint}; see '${commandName(path)} --help'`
}

const usageOf = (leaf: Leaf, path: ReadonlyArray<Node>): string =>
  [
    commandName(path),
    ...Object.values(leaf.args).map((a: ArgSpec<unknown>) => a.optional ? `[${a.name}]` : a.name),
    ...(Object.keys(leaf.options).length > 0 ? ["[OPTIONS]"] : [])
  ].join(" ")

/**
 * Every option spelling of the tree's commands, and those that take a value in every command that has
 * them (before the command, their value follows them).
 */
const optionSpellings = (root: Group) => {
  const kinds = new Map<string, Set<OptionSpec["_tag"]>>()
  for (const path of allCommands(root)) {
    const n = path.at(-1)!
    if (n._tag !== "Leaf") continue
    for (const [key, spec] of Object.entries(n.options)) {
      for (const spelling of optionNames(key, spec)) kinds.set(spelling, (kinds.get(spelling) ?? new Set()).add(spec._tag))
    }
  }
  return {
    spellings: new Set(kinds.keys()) as ReadonlySet<string>,
    takesValue: new Set([...kinds].filter(([, k]) => k.size === 1 && k.has("Value")).map(([spelling]) => spelling)) as ReadonlySet<string>
  }
}

/**
 * Parse argv (without `node` and the script) against the tree. Global options go anywhere; a
 * command's own options after its name (a flag of it may come earlier: `helyos --json pods`).
 */
export const parseCommandLine = (root: Group, argv: ReadonlyArray<string>): Parse => {
  const path: Array<Node> = []
  let node: Node = root
  let help = false
  let version = false
  const globals: Record<string, string | undefined> = { server: undefined, token: undefined, context: undefined }
  const values: Record<string, unknown> = {}
  const positionals: Array<string> = []
  /** options met before the command they belong to was known, with their value: checked once it is */
  const early: Array<{ readonly name: string; readonly value: string | undefined }> = []
  const { spellings, takesValue } = optionSpellings(root)
  let onlyPositionals = false

  const leaf = () => (node._tag === "Leaf" ? node : undefined)

  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!
    if (token === "--" && !onlyPositionals) {
      onlyPositionals = true
      continue
    }
    const isOption = !onlyPositionals && token.startsWith("-") && token !== "-" && !/^-\d/.test(token)
    if (!isOption) {
      if (node._tag === "Group") {
        const child = childNamed(node, token)
        if (child === undefined) {
          // `helyos help [COMMAND…]`, as git and kubectl take it
          if (path.length === 0 && token === "help" && !onlyPositionals) {
            help = true
            continue
          }
          return { _tag: "Invalid", message: unknownCommand(path, node, token) }
        }
        path.push(child)
        node = child
      } else {
        positionals.push(token)
      }
      continue
    }
    const eq = token.startsWith("--") ? token.indexOf("=") : -1
    const name = eq > 0 ? token.slice(0, eq) : token
    const inline = eq > 0 ? token.slice(eq + 1) : undefined
    if (name === "--help" || name === "-h") {
      help = true
      continue
    }
    if ((name === "--version" || name === "-V") && path.length === 0) {
      version = true
      continue
    }
    const found = findOption(leaf(), name)
    if (found === undefined) {
      if (node._tag === "Group" && spellings.has(name)) {
        // an option of the command still to come (`helyos -p shop pods`)
        const value = inline ?? (takesValue.has(name) ? argv[++i] : undefined)
        early.push({ name, value })
        continue
      }
      return { _tag: "Invalid", message: unknownOption(leaf(), path, name) }
    }
    if (found.spec._tag === "Flag") {
      if (inline !== undefined) return { _tag: "Invalid", message: `option '${name}' takes no value (got '${token}')` }
      values[found.key] = true
      continue
    }
    const raw = inline ?? argv[++i]
    if (raw === undefined) {
      return { _tag: "Invalid", message: `option '${name}' needs a value (${name} ${found.spec.metavar})` }
    }
    if (found.scope === "global") {
      globals[found.key] = raw
      continue
    }
    const parsed = found.spec.parse(raw)
    if (!parsed.ok) return { _tag: "Invalid", message: `option '${name}' ${parsed.problem}` }
    values[found.key] = parsed.value
  }

  if (version && !help) return { _tag: "Version" }
  const current = leaf()
  for (const { name, value } of early) {
    const found = current === undefined ? undefined : findOption(current, name)
    if (found === undefined) return { _tag: "Invalid", message: unknownOption(current, path, name) }
    if (found.spec._tag === "Flag") {
      if (value !== undefined) return { _tag: "Invalid", message: `option '${name}' takes no value (got '${value}')` }
      values[found.key] = true
      continue
    }
    if (value === undefined) {
      return { _tag: "Invalid", message: `option '${name}' needs a value (${name} ${found.spec.metavar})` }
    }
    const parsed = found.spec.parse(value)
    if (!parsed.ok) return { _tag: "Invalid", message: `option '${name}' ${parsed.problem}` }
    values[found.key] = parsed.value
  }
  if (help || current === undefined) return { _tag: "Help", path }

  const argSpecs = Object.entries(current.args)
  if (positionals.length > argSpecs.length) {
    const extra = positionals[argSpecs.length]!
    return { _tag: "Invalid", message: `unexpected argument '${extra}' (usage: ${usageOf(current, path)})` }
  }
  for (const [index, [key, spec]] of argSpecs.entries()) {
    const raw = positionals[index]
    if (raw === undefined) {
      if (!spec.optional) return { _tag: "Invalid", message: `missing ${spec.name} (usage: ${usageOf(current, path)})` }
      values[key] = undefined
      continue
    }
    const parsed = spec.parse(raw)
    if (!parsed.ok) return { _tag: "Invalid", message: `${spec.name} ${parsed.problem}` }
    values[key] = parsed.value
  }
  for (const [key, spec] of Object.entries(current.options)) {
    if (!(key in values)) values[key] = spec._tag === "Flag" ? false : spec.absent
  }
  const given: Globals = { server: globals.server, token: globals.token, context: globals.context }
  return { _tag: "Run", path, run: () => current.run(values, given) }
}
