// `helyos cluster config get-scheduler` and `helyos cluster config set KEY VALUE`.
import { Console, Effect } from "effect"
import type { SchedulerConfig } from "../../domain/Scheduler.js"
import { SchedulerApi } from "../../services/api/SchedulerApi.js"
import type { Globals } from "./CommandLine.js"
import { clientApi, connect } from "./Connection.js"

const Api = clientApi(SchedulerApi)

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

export const getScheduler = (globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* Console.log(schedulerText(yield* request((api) => api.scheduler.get())))
  })

export const setScheduler = ({ key, value }: { readonly key: string; readonly value: string }, globals: Globals) =>
  Effect.gen(function*() {
    const { request } = yield* connect(globals, Api)
    yield* Console.log(schedulerText(yield* request((api) => api.scheduler.set({ payload: { key, value } }))))
  })
