// Run the built `helyos` as a user would, with its own config file and, when given, text piped to
// stdin (else stdin is /dev/null: not a terminal, nothing to read) — for login and context tests.
import { spawn } from "node:child_process"
import { helyosBin } from "./Processes.js"

export interface CliRun {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** No server or token from the environment unless `env` gives one; killed after 30 s. */
export const runHelyos = (
  config: string,
  args: ReadonlyArray<string>,
  options: { readonly stdin?: string; readonly env?: Record<string, string> } = {}
) =>
  new Promise<CliRun>((resolve, reject) => {
    const child = spawn(process.execPath, [helyosBin, ...args], {
      env: { ...process.env, HELYOS_CONFIG: config, HELYOS_SERVER: "", HELYOS_API_TOKEN: "", NO_COLOR: "1", ...options.env },
      stdio: [options.stdin === undefined ? "ignore" : "pipe", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    if (options.stdin !== undefined) child.stdin!.end(options.stdin)
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000)
    child.on("error", reject)
    child.on("close", (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, stdout, stderr })
    })
  })
