// e2e: the built `helyos` as a user meets it before any daemon is involved — help, version, usage
// errors (one line on stderr, exit 1, naming what was wrong and the closest real thing) and `init`.
import { execFile, execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import * as path from "node:path"
import { describe, expect, it } from "vitest"
import { parseSpecText } from "../../src/domain/DeploymentSpec.js"
import { HELYOS_VERSION } from "../../src/services/api/SystemApi.js"
import { type CliResult, helyosBin, tempDir } from "../support/process/Processes.js"

/** `helyos args…` in `cwd`, with no server, token or config of the machine's. */
const helyos = (args: ReadonlyArray<string>, cwd = tempDir("helyos-cli-usage-")): Promise<CliResult> =>
  new Promise((resolve) => {
    const env = {
      ...process.env,
      HELYOS_SERVER: "http://127.0.0.1:1",
      HELYOS_API_TOKEN: "",
      HELYOS_CONFIG: path.join(cwd, "no-config.toml"),
      NO_COLOR: "1"
    }
    execFile(process.execPath, [helyosBin, ...args], { cwd, env, timeout: 30_000 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr })
    })
  })

/** The one line a usage error prints. */
const oneLine = (result: CliResult) => {
  expect(result.code).toBe(1)
  expect(result.stdout).toBe("")
  expect(result.stderr.endsWith("\n")).toBe(true)
  expect(result.stderr.trimEnd().split("\n")).toHaveLength(1)
  return result.stderr.trimEnd()
}

describe("helyos help and version", () => {
  it("--help lists every command on one line within 100 columns, exit 0", async () => {
    const result = await helyos(["--help"])
    expect([result.code, result.stderr]).toEqual([0, ""])
    const lines = result.stdout.trimEnd().split("\n")
    expect(lines.filter((line) => line.length > 100)).toEqual([])
    expect(lines.filter((line) => /^ {2}(nodes|top|init|deploy|context)\s{2,}\S/.test(line))).toHaveLength(5)
    expect(result.stdout).not.toMatch(/user-defined piece of text|\[--server text\]/)
    // no args is the same help
    expect((await helyos([])).stdout).toBe(result.stdout)
  })

  it("<command> --help and -h print that command's help, exit 0", async () => {
    const result = await helyos(["scale", "--help"])
    expect(result.code).toBe(0)
    expect(result.stdout.split("\n")[0]).toBe("Usage:  helyos scale NAME REPLICAS [OPTIONS]")
    expect((await helyos(["node", "drain", "-h"])).stdout.split("\n")[0]).toBe("Usage:  helyos node drain NAME")
    expect((await helyos(["help", "top"])).stdout).toContain("Keys: Tab / Shift+Tab cycle panels")
  })

  it("--version and -V print the version", async () => {
    expect(await helyos(["--version"])).toEqual({ code: 0, stdout: `${HELYOS_VERSION}\n`, stderr: "" })
    expect((await helyos(["-V"])).stdout).toBe(`${HELYOS_VERSION}\n`)
  })
})

describe("helyos usage errors: one line, exit 1", () => {
  it("an unknown command names it and the closest command, with or without --help", async () => {
    expect(oneLine(await helyos(["bogus"]))).toBe("error: unknown command 'bogus' (did you mean 'logs'?); see 'helyos --help'")
    expect(oneLine(await helyos(["bogus", "--help"]))).toBe(
      "error: unknown command 'bogus' (did you mean 'logs'?); see 'helyos --help'"
    )
    expect(oneLine(await helyos(["nodse"]))).toBe("error: unknown command 'nodse' (did you mean 'nodes'?); see 'helyos --help'")
    expect(oneLine(await helyos(["context", "lst"]))).toMatch(/^error: unknown command 'lst' for 'helyos context' \(did you mean 'list'\?\)/)
  })

  it("an unknown option names it and the closest option", async () => {
    expect(oneLine(await helyos(["pods", "--jsn"]))).toBe(
      "error: unknown option '--jsn' for 'helyos pods' (did you mean '--json'?); see 'helyos pods --help'"
    )
    expect(oneLine(await helyos(["--sever", "http://x", "nodes"]))).toMatch(/^error: unknown option '--sever' .*did you mean '--server'/)
  })

  it("missing or malformed arguments say the usage; nothing reaches a daemon", async () => {
    expect(oneLine(await helyos(["scale", "web"]))).toBe("error: missing REPLICAS (usage: helyos scale NAME REPLICAS [OPTIONS])")
    expect(oneLine(await helyos(["scale", "web", "many"]))).toBe("error: REPLICAS expects a whole number (0 or more), got 'many'")
    expect(oneLine(await helyos(["logs", "web", "--tail"]))).toBe("error: option '--tail' needs a value (--tail N)")
  })

  it("a failure of the command itself is one line too (no daemon at the server)", async () => {
    expect(oneLine(await helyos(["nodes"]))).toBe(
      "error: cannot reach helyosd at http://127.0.0.1:1 — is it running? Start it with: helyosd"
    )
  })
})

describe("helyos init", () => {
  it("writes NAME/app.yaml with the names and image, prints the next steps, and the spec deploys as written", async () => {
    const cwd = tempDir("helyos-init-")
    const result = await helyos(["init", "hello", "--image", "busybox:1.36"], cwd)
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "✓ Created hello/app.yaml",
        "",
        "Next steps:",
        "  1. Edit hello/app.yaml to customize your deployment",
        "  2. Deploy with: helyos deploy hello/app.yaml",
        ""
      ].join("\n")
    })
    const text = readFileSync(path.join(cwd, "hello", "app.yaml"), "utf8")
    expect(text.split("\n").slice(0, 7)).toEqual([
      "# Helyos deployment spec — hello",
      "# Docs: https://github.com/helyos-labs/helyos",
      "project: hello",
      "deployment:",
      "  name: hello",
      "image: busybox:1.36",
      "replicas: 1"
    ])
    const spec = parseSpecText(text)
    expect(spec._tag).toBe("Right")
    // and `helyos deploy` validates it before contacting anyone: only the connection fails
    expect(oneLine(await helyos(["deploy", "hello/app.yaml"], cwd))).toMatch(/^error: cannot reach helyosd at /)
  })

  it("the default image is nginx:alpine", async () => {
    const cwd = tempDir("helyos-init-")
    expect((await helyos(["init", "web"], cwd)).code).toBe(0)
    expect(readFileSync(path.join(cwd, "web", "app.yaml"), "utf8")).toContain("\nimage: nginx:alpine\n")
  })

  it("refuses to overwrite an existing app.yaml: one line, exit 1, the file untouched", async () => {
    const cwd = tempDir("helyos-init-")
    mkdirSync(path.join(cwd, "shop"))
    writeFileSync(path.join(cwd, "shop", "app.yaml"), "mine\n")
    expect(oneLine(await helyos(["init", "shop"], cwd))).toBe(
      "error: shop/app.yaml already exists: not overwriting it (edit it, or pick another NAME)"
    )
    expect(readFileSync(path.join(cwd, "shop", "app.yaml"), "utf8")).toBe("mine\n")
  })

  it("refuses a name that is not DNS-safe, and asks for NAME when there is no terminal", async () => {
    const cwd = tempDir("helyos-init-")
    expect(oneLine(await helyos(["init", "My_App"], cwd))).toMatch(/^error: invalid name 'My_App': /)
    expect(existsSync(path.join(cwd, "My_App"))).toBe(false)
    expect(oneLine(await helyos(["init"], cwd))).toBe(
      "error: helyos init needs a NAME when not on a terminal: helyos init NAME [--image IMAGE]"
    )
  })
})

describe("helyos completions", () => {
  it("the bash script completes commands through `helyos __complete`", () => {
    // `helyos` on the PATH, as an installed CLI is
    const bin = tempDir("helyos-completion-")
    writeFileSync(path.join(bin, "helyos"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(helyosBin)} "$@"\n`)
    chmodSync(path.join(bin, "helyos"), 0o755)
    const complete = (...words: ReadonlyArray<string>) =>
      execFileSync("bash", ["-c", [
        "source <(helyos completions bash)",
        `COMP_WORDS=(helyos ${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length}`,
        "_helyos; printf '%s\\n' \"${COMPREPLY[@]}\""
      ].join("; ")], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } }).toString().trim().split("\n")
    expect(complete("de")).toEqual(["deploy", "deployments"])
    expect(complete("node", "d")).toEqual(["drain"])
    expect(complete("logs", "web", "--f")).toEqual(["--follow"])
  })

  it("an unknown shell is a usage error naming the ones there are", async () => {
    expect(oneLine(await helyos(["completions", "tcsh"]))).toBe("error: SHELL expects one of bash, zsh, fish, got 'tcsh'")
  })
})
