// `helyos completions bash|zsh|fish`: the script that makes the shell ask `helyos __complete` (Completion).
import { Console } from "effect"
import { completionScripts, type Shell } from "./Completion.js"

export const completions = ({ shell }: { readonly shell: Shell }) => Console.log(completionScripts[shell].join("\n"))
