// API token format, lookup prefix, scope rule and the CLI's renderings of tokens.
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { isExpired, lookupPrefix, LOOKUP_PREFIX_LENGTH, scopeAllows } from "../../src/domain/ApiToken.js"
import { apiTokenProblem, isApiTokenFormat } from "../../src/domain/Tokens.js"
import { createdBlock, parseTtlSecs, tokensTable, whoamiLines } from "../../src/programs/cli/AuthCommands.js"

const token = `nxa-api_${"0123456789abcdef".repeat(4)}`

describe("API token format", () => {
  it("is nxa-api_ + 64 lowercase hex, nothing else", () => {
    expect(isApiTokenFormat(token)).toBe(true)
    for (const bad of ["", "nxa-api_", `nxa_${token.slice(8)}`, token.toUpperCase(), `${token}0`, token.slice(0, -1), ` ${token}`]) {
      expect(isApiTokenFormat(bad), bad).toBe(false)
      expect(apiTokenProblem(bad), bad).toBeDefined()
    }
  })

  it("the lookup prefix is the first 12 characters: nxa-api_ + 4 hex (not secret)", () => {
    expect(LOOKUP_PREFIX_LENGTH).toBe(12)
    expect(lookupPrefix(token)).toBe("nxa-api_0123")
    expect(lookupPrefix("short")).toBe("short")
  })

  it("read tokens may only GET and HEAD; admin tokens may do anything", () => {
    for (const method of ["GET", "HEAD"]) expect(scopeAllows("read", method)).toBe(true)
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) expect(scopeAllows("read", method)).toBe(false)
    for (const method of ["GET", "POST", "DELETE"]) expect(scopeAllows("admin", method)).toBe(true)
  })

  it("a token expires at its expiry instant, and never without one", () => {
    expect(isExpired({ expiresAtMs: null }, Number.MAX_SAFE_INTEGER)).toBe(false)
    expect(isExpired({ expiresAtMs: 1_000 }, 999)).toBe(false)
    expect(isExpired({ expiresAtMs: 1_000 }, 1_000)).toBe(true)
  })
})

describe("helyos auth token rendering", () => {
  it("--ttl takes plain seconds or 90m / 12h / 30d, at least 1 s", () => {
    expect(parseTtlSecs("3600")).toEqual(Either.right(3600))
    expect(parseTtlSecs("90m")).toEqual(Either.right(5400))
    expect(parseTtlSecs("30d")).toEqual(Either.right(30 * 86_400))
    expect(Either.isLeft(parseTtlSecs("500ms"))).toBe(true)
    expect(Either.isLeft(parseTtlSecs("0"))).toBe(true)
    expect(Either.isLeft(parseTtlSecs("soon"))).toBe(true)
    expect(Either.isLeft(parseTtlSecs("99999d"))).toBe(true)
  })

  it("create prints the documented block: the token once and the login hint", () => {
    const block = createdBlock(
      { id: "1", name: "alice", token, scope: "admin", created_at: "2026-06-01T00:00:00.000Z", expires_at: null },
      "https://cluster.example.com:6443"
    )
    expect(block).toBe([
      "✓ Created API token 'alice'",
      "",
      "Token (shown once — save it now):",
      `  ${token}`,
      "",
      "Use it from another machine with:",
      `  helyos login https://cluster.example.com:6443 --token ${token}`
    ].join("\n"))
  })

  it("ls has the columns name, scope, expires, last used, revoked with never and yes/no", () => {
    const table = tokensTable([
      { id: "1", name: "legacy-default", scope: "admin", created_at: "2026-06-01T00:00:00.000Z", expires_at: null, last_used_at: null, expired: false, revoked: false, revoked_at: null },
      { id: "2", name: "ci", scope: "read", created_at: "2026-06-01T00:00:00.000Z", expires_at: "2026-07-01T12:00:00.000Z", last_used_at: "2026-06-07T09:14:22.123Z", expired: true, revoked: true, revoked_at: "2026-06-08T00:00:00.000Z" }
    ]).split("\n")
    expect(table[0]).toMatch(/^NAME\s+SCOPE\s+EXPIRES\s+LAST USED\s+REVOKED$/)
    expect(table[1]).toMatch(/^legacy-default\s+admin\s+never\s+never\s+no$/)
    expect(table[2]).toMatch(/^ci\s+read\s+2026-07-01T12:00:00Z \(expired\)\s+2026-06-07T09:14:22Z\s+yes$/)
  })

  it("whoami prints name and scope, then expires and last used only when set", () => {
    expect(whoamiLines({ name: "alice", scope: "admin", created_at: "x", expires_at: "2026-07-01T12:00:00.000Z", last_used_at: "2026-06-07T09:14:22.000Z" }))
      .toBe("name:  alice\nscope: admin\nexpires: 2026-07-01T12:00:00Z\nlast used: 2026-06-07T09:14:22Z")
    expect(whoamiLines({ name: "bot", scope: "read", created_at: "x", expires_at: null, last_used_at: null }))
      .toBe("name:  bot\nscope: read")
  })
})
