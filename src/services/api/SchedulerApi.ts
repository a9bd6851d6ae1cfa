// /api/v1/cluster/scheduler: the placement strategy and its four weights (future placements only).
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { SchedulerConfig } from "../../domain/Scheduler.js"
import { InvalidSchedulerSetting } from "../../domain/WorkloadErrors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

export const InvalidSchedulerSettingError = httpError(InvalidSchedulerSetting, 422)

/** `{"key": "scheduler", "value": "binpack"}` or `{"key": "scheduler.weights.cpu", "value": "0.5"}` (a number works too). */
export const SchedulerSetting = Schema.Struct({
  key: Schema.String,
  value: Schema.Union(Schema.String, Schema.Number)
})

export class SchedulerApi extends HttpApiGroup.make("scheduler")
  .add(HttpApiEndpoint.get("get", "/api/v1/cluster/scheduler").addSuccess(SchedulerConfig))
  .add(
    HttpApiEndpoint.post("set", "/api/v1/cluster/scheduler")
      .setPayload(SchedulerSetting)
      .addSuccess(SchedulerConfig)
      .addError(InvalidSchedulerSettingError)
  )
  .middleware(Authorization)
{}
