// GET /api/v1/status: the cluster at a glance (`helyos status`), counted on the daemon in one call.
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { ClusterStatus } from "../../domain/ClusterStatus.js"
import { Authorization } from "./Authorization.js"

export class StatusApi extends HttpApiGroup.make("status")
  .add(HttpApiEndpoint.get("summary", "/api/v1/status").addSuccess(ClusterStatus))
  .middleware(Authorization)
{}
