// `helyos cluster config get-scheduler` and `helyos cluster config set KEY VALUE`.
import { Args, Command } from "@effect/cli"
import { Console, Effect } from "effect"
import type { SchedulerConfig } from "../../domain/Scheduler.js"
import { connect, connectionOptions } from "./Connection.js"

/** Two decimals as documented (0.35, -0.30), more only when the weight has them. */
const weight = (n: number) => {
  const fixed = n.toFixed(2)
  return Number(fixed) === n ? fixed : String(n)
}

/** The documented multi-line format. */
export const schedulerText = (config: SchedulerConfig): string =>
  [
    "Scheduler configuration:",
    `  Strategy: ${config.strategy}`,
    "  Weights:",
    `    cpu:     ${weight(config.weights.cpu)}`,
    `    memory:  ${weight(config.weights.memory)}`,
    `    load:    ${weight(config.weights.load)}`,
    `    failure: ${weight(config.weights.failure)}`
  ].join("\n")

const getScheduler = Command.make("get-scheduler", connectionOptions, (flags) =>
  Effect.gen(function*() {
    const { request } = yield* connect(flags)
    yield* Console.log(schedulerText(yield* request((api) => api.scheduler.get())))
  })).pipe(Command.withDescription("Print the scheduler's strategy and weights"))

const set = Command.make(
  "set",
  {
    key: Args.text({ name: "KEY" }).pipe(Args.withDescription("scheduler | scheduler.weights.<cpu|memory|load|failure>")),
    value: Args.text({ name: "VALUE" }).pipe(Args.withDescription("spread | binpack, or a number for a weight")),
    ...connectionOptions
  },
  ({ key, value, ...flags }) =>
    Effect.gen(function*() {
      const { request } = yield* connect(flags)
      yield* Console.log(schedulerText(yield* request((api) => api.scheduler.set({ payload: { key, value } }))))
    })
).pipe(Command.withDescription("Change the scheduler (future placements only): set scheduler binpack"))

export const config = Command.make("config").pipe(
  Command.withDescription("Cluster configuration: the scheduler"),
  Command.withSubcommands([getScheduler, set])
)
