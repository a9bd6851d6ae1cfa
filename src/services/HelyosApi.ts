// The REST API of helyosd, one definition for the server (layers/ApiServer), the CLI client and OpenAPI.
// To add a group: write src/services/api/<Name>Api.ts ending in `.middleware(Authorization)` unless it
// is public, `.add` it here, and give its handlers to ApiServer (src/layers/api/<Name>Handlers.ts).
import { HttpApi } from "@effect/platform"
import { ClusterApi } from "./api/ClusterApi.js"
import { EventsApi } from "./api/EventsApi.js"
import { InternalError, InvalidRequest, RouteNotFound } from "./api/HttpErrors.js"
import { MetricsApi } from "./api/MetricsApi.js"
import { NodesApi } from "./api/NodesApi.js"
import { ProjectsApi } from "./api/ProjectsApi.js"
import { SchedulerApi } from "./api/SchedulerApi.js"
import { StatusApi } from "./api/StatusApi.js"
import { SecretsApi } from "./api/SecretsApi.js"
import { SystemApi } from "./api/SystemApi.js"
import { TokensApi } from "./api/TokensApi.js"
import { WorkloadsApi } from "./api/WorkloadsApi.js"

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
  // raised outside the handlers (see layers/ApiServer): undecodable input, unknown routes, bugs
  .addError(InvalidRequest)
  .addError(RouteNotFound)
  .addError(InternalError)
{}
