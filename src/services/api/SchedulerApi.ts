// /api/v1/cluster/scheduler: the placement strategy and its four weights (future placements only).
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import { SchedulerConfig } from "../../domain/Scheduler.js"
import { InvalidSchedulerSetting } from "../../domain/WorkloadErrors.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"

export const InvalidSchedulerSettingError = httpError(InvalidSchedulerSetting, 422)

const Value = Schema.Union(Schema.String, Schema.Number)

/**
 * `{"key": "scheduler", "value": "binpack"}`, `{"key": "scheduler.weights.cpu", "value": 0.5}`, or the
 * reference's forms `{"strategy": "binpack"}`, `{"weights": {"name": "cpu", "value": 0.5}}`, and a
 * weights object `{"weights": {"cpu": 0.5, "memory": 0.3}}` (domain/Scheduler.settingsOfRequest).
 */
export const SchedulerSetting = Schema.Struct({
  key: Schema.optional(Schema.String),
  value: Schema.optional(Value),
  strategy: Schema.optional(Schema.String),
  weights: Schema.optional(Schema.Record({ key: Schema.String, value: Value }))
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
