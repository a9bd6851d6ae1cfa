// The pure parts of `helyos secret`: reading one line from a pipe, and the list table.
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { secretsTable, valueFromStdin } from "../../src/programs/cli/SecretCommands.js"

const bytes = (s: string) => new TextEncoder().encode(s)

describe("helyos secret set from stdin", () => {
  it("takes the one line, trailing whitespace and the newline stripped, leading kept", () => {
    expect(valueFromStdin(bytes("  s3cret \t\r\n"))).toEqual(Either.right("  s3cret"))
    expect(valueFromStdin(bytes("no-newline"))).toEqual(Either.right("no-newline"))
    expect(valueFromStdin(bytes("one\n\n  \n"))).toEqual(Either.right("one"))
  })

  it("refuses several lines, nothing, and bytes that are not UTF-8", () => {
    expect(valueFromStdin(bytes("one\ntwo\n"))).toEqual(
      Either.left("stdin holds more than one line; a secret is one line (base64-encode multi-line values)")
    )
    expect(valueFromStdin(bytes("\n"))).toEqual(Either.left("no secret value on stdin"))
    expect(valueFromStdin(new Uint8Array())).toEqual(Either.left("no secret value on stdin"))
    const binary = valueFromStdin(new Uint8Array([0xc3, 0x28, 0x0a]))
    expect(Either.isLeft(binary) && binary.left).toContain("secret contains invalid UTF-8")
  })
})

describe("helyos secret list", () => {
  it("shows names and the project, never values; says so when there are none", () => {
    expect(secretsTable("web", ["API_KEY", "DB_PASSWORD"])).toBe(
      ["Secrets · 2 total", "NAME         PROJECT", "API_KEY      web", "DB_PASSWORD  web"].join("\n")
    )
    expect(secretsTable("web", [])).toBe("No secrets in project 'web'.")
  })
})
