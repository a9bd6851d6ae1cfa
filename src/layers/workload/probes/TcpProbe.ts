// TCP health probe: healthy when <container-ip>:<port> accepts a connection (closed right away).
import * as net from "node:net"
import { Effect } from "effect"
import { type ProbeResult, healthy, unhealthy } from "./ProbeResult.js"

/** One connect; never fails (a refusal is a verdict). The caller bounds it in time: interruption closes the socket. */
export const tcpProbe = (host: string, port: number): Effect.Effect<ProbeResult> =>
  Effect.async<ProbeResult>((resume) => {
    let done = false
    const socket = net.connect({ host, port })
    const finish = (result: ProbeResult) => {
      if (done) return
      done = true
      socket.destroy()
      resume(Effect.succeed(result))
    }
    socket.once("connect", () => finish(healthy))
    socket.once("error", (error) => finish(unhealthy(`connect to port ${port}: ${error.message}`)))
    return Effect.sync(() => {
      done = true
      socket.destroy()
    })
  })
