// HTTP health probe: GET http://<container-ip>:<port><path>, any 2xx is healthy. No proxy, no redirects
// followed (a 3xx is a failure): the probe never leaves for another address than the pod's own.
import * as http from "node:http"
import { Effect } from "effect"
import { type ProbeResult, healthy, unhealthy } from "./ProbeResult.js"

/** One GET; never fails (a refusal is a verdict). The caller bounds it in time: interruption aborts the request. */
export const httpProbe = (host: string, port: number, path: string): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    let done = false
    const finish = (result: ProbeResult) => {
      if (done) return
      done = true
      resume(Effect.succeed(result))
    }
    const request = http.get(
      { host, port, path, agent: false, headers: { "user-agent": "helyos-probe", connection: "close" } },
      (response) => {
        response.resume() // the body is not needed; drain it so the socket closes
        const code = response.statusCode ?? 0
        finish(code >= 200 && code < 300 ? healthy : unhealthy(`GET ${path} answered ${code}`))
      }
    )
    request.on("error", (error) => finish(unhealthy(`GET ${path} on port ${port}: ${error.message}`)))
    return Effect.sync(() => {
      done = true
      request.destroy()
    })
  })
