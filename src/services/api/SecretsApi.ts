// /api/v1/projects/:project/secrets: list names, set (create or overwrite), remove. No route ever
// answers with a value, and the request body (the value) is never logged.
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import { Schema } from "effect"
import {
  InvalidSecretName,
  InvalidSecretValue,
  MissingSecret,
  SecretNotFound,
  SecretUndecryptable
} from "../../domain/Secrets.js"
import { Authorization } from "./Authorization.js"
import { httpError } from "./HttpErrors.js"
import { InvalidNameError, ProjectNotFoundError } from "./ProjectsApi.js"

export const SecretNotFoundError = httpError(SecretNotFound, 404)
export const InvalidSecretNameError = httpError(InvalidSecretName, 422)
export const InvalidSecretValueError = httpError(InvalidSecretValue, 422)
/** A deploy naming a secret its project lacks: the spec cannot be carried out as written. */
export const SecretMissingError = httpError(MissingSecret, 422)
/** A deploy naming a secret this node's master.key cannot open (the key was replaced). */
export const SecretUndecryptableError = httpError(SecretUndecryptable, 409)

/** `{"project":"web","secrets":["DB_PASSWORD"]}`: names only. */
export const SecretList = Schema.Struct({
  project: Schema.String,
  secrets: Schema.Array(Schema.String)
}).annotations({ identifier: "SecretList" })

/** The value as sent; Redacted from the moment it is decoded, so no log or error can print it. */
export const SecretPayload = Schema.Struct({ value: Schema.Redacted(Schema.String) })

const ProjectPath = Schema.Struct({ project: Schema.String })
const SecretPath = Schema.Struct({ project: Schema.String, name: Schema.String })

export class SecretsApi extends HttpApiGroup.make("secrets")
  .add(
    HttpApiEndpoint.get("list", "/api/v1/projects/:project/secrets")
      .setPath(ProjectPath)
      .addSuccess(SecretList)
      .addError(ProjectNotFoundError)
  )
  .add(
    // 204 on success, whether created or overwritten (and the project with it)
    HttpApiEndpoint.post("set", "/api/v1/projects/:project/secrets/:name")
      .setPath(SecretPath)
      .setPayload(SecretPayload)
      // a missing project is created; an invalid project name is refused then
      .addError(InvalidNameError)
      .addError(InvalidSecretNameError)
      .addError(InvalidSecretValueError)
  )
  .add(
    // 204 on success
    HttpApiEndpoint.del("remove", "/api/v1/projects/:project/secrets/:name")
      .setPath(SecretPath)
      .addError(ProjectNotFoundError)
      .addError(SecretNotFoundError)
  )
  .middleware(Authorization)
{}
