// helyosd command lines parsed as the binary parses them, for the tests of toDaemonConfig.
import { Command } from "@effect/cli"
import { NodeContext } from "@effect/platform-node"
import { Effect, Either } from "effect"
import { daemonFlags, type DaemonFlags, toDaemonConfig } from "../../../src/programs/daemon/Flags.js"

/** Parse a helyosd command line exactly as the binary does (defaults included). */
export const parse = (args: ReadonlyArray<string>): Promise<DaemonFlags> => {
  let parsed: DaemonFlags | undefined
  const command = Command.make("helyosd", daemonFlags, (flags) => Effect.sync(() => void (parsed = flags)))
  return Effect.runPromise(
    Command.run(command, { name: "helyosd", version: "test" })(["node", "helyosd", ...args]).pipe(Effect.provide(NodeContext.layer))
  ).then(() => parsed!)
}

/** Why toDaemonConfig refuses these arguments; undefined when it accepts them. */
export const problem = async (...args: ReadonlyArray<string>) =>
  Either.match(toDaemonConfig(await parse(args)), { onLeft: (p) => p, onRight: () => undefined })
