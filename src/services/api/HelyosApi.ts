// The REST API of helyosd, one definition for the server (layers/api/ApiServer), the CLI client and OpenAPI.
// To add a group: write src/services/api/<Name>Api.ts ending in `.middleware(Authorization)` unless it
// is public, `.add` it here, and give its handlers to ApiServer (src/layers/api/handlers/<Name>Handlers.ts).
import * as HttpApi from "@effect/platform/HttpApi"
import { ClusterApi } from "./ClusterApi.js"
import { EventsApi } from "./EventsApi.js"
import { InternalError, InvalidRequest, RouteNotFound } from "./HttpErrors.js"
import { MetricsApi } from "./MetricsApi.js"
import { NodesApi } from "./NodesApi.js"
import { ProjectsApi } from "./ProjectsApi.js"
import { SchedulerApi } from "./SchedulerApi.js"
import { StatusApi } from "./StatusApi.js"
import { SecretsApi } from "./SecretsApi.js"
import { SystemApi } from "./SystemApi.js"
import { TokensApi } from "./TokensApi.js"
import { WorkloadsApi } from "./WorkloadsApi.js"

export class HelyosApi extends HttpApi.make("helyos")
  .add(SystemApi)
  .add(NodesApi)
  .add(ClusterApi)
  .add(SchedulerApi)
  .add(ProjectsApi)
  .add(WorkloadsApi)
  .add(EventsApi)
  .add(TokensApi)
  .add(SecretsApi)
  .add(MetricsApi)
  .add(StatusApi)
  // raised outside the handlers (see layers/api/ApiServer): undecodable input, unknown routes, bugs
  .addError(InvalidRequest)
  .addError(RouteNotFound)
  .addError(InternalError)
{}
