// A command's client is derived from just the API groups it uses (Connection.clientApi), so it must
// also decode the errors HelyosApi declares outside its groups, exactly as the whole API does.
import { HttpApi } from "@effect/platform"
import { describe, expect, it } from "vitest"
import { clientApi } from "../../src/programs/cli/Connection.js"
import { HelyosApi } from "../../src/services/api/HelyosApi.js"
import { InvalidRequest } from "../../src/services/api/HttpErrors.js"
import { NodesApi } from "../../src/services/api/NodesApi.js"

describe("clientApi", () => {
  it("declares the same API-level errors as HelyosApi, and the group's endpoints as HelyosApi has them", () => {
    const api = clientApi(NodesApi)
    expect(String(api.errorSchema.ast)).toBe(String(HelyosApi.errorSchema.ast))
    // (the comparison sees a missing error)
    const fewer = HttpApi.make("helyos").add(NodesApi).addError(InvalidRequest)
    expect(String(fewer.errorSchema.ast)).not.toBe(String(HelyosApi.errorSchema.ast))
    expect(Object.keys(api.groups)).toEqual(["nodes"])
    expect(Object.keys(api.groups.nodes?.endpoints ?? {})).toEqual(Object.keys(HelyosApi.groups.nodes?.endpoints ?? {}))
    expect(Object.keys(api.groups.nodes?.endpoints ?? {})).toContain("list")
  })
})
