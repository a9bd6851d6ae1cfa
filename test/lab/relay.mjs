// The lab's latency injector (this kernel has no netem): a TCP relay that runs inside a host's
// namespace, accepts on LISTEN_HOST:LISTEN_PORT and forwards every connection to TARGET_HOST:TARGET_PORT,
// holding each chunk back for half the configured delay in each direction, so a round trip grows by the
// delay. Order is kept per direction. The delay changes at run time: write a JSON line {"delay": ms} to
// its stdin (applies to chunks read from then on). It exits when stdin closes (its parent died).
//
//   node relay.mjs LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT [DELAY_MS]
import * as net from "node:net"
import * as readline from "node:readline"

const [listenHost, listenPort, targetHost, targetPort, initial] = process.argv.slice(2)
if (targetPort === undefined) {
  console.error("usage: relay.mjs LISTEN_HOST LISTEN_PORT TARGET_HOST TARGET_PORT [DELAY_MS]")
  process.exit(2)
}
let delayMs = Number(initial ?? 0)

/** Copy `from` to `to`, each chunk released delayMs/2 after it was read; `end` follows the last chunk. */
const pipeDelayed = (from, to) => {
  const queue = []
  let timer
  let ended = false
  const flush = () => {
    timer = undefined
    const now = Date.now()
    while (queue.length > 0 && queue[0].at <= now) {
      const item = queue.shift()
      if (item.end) to.end()
      else if (!to.destroyed) to.write(item.chunk)
    }
    if (queue.length > 0) timer = setTimeout(flush, queue[0].at - now)
  }
  const push = (item) => {
    queue.push(item)
    if (timer === undefined) timer = setTimeout(flush, Math.max(0, queue[0].at - Date.now()))
  }
  from.on("data", (chunk) => push({ at: Date.now() + delayMs / 2, chunk }))
  from.on("end", () => {
    if (!ended) push({ at: Date.now() + delayMs / 2, end: true })
    ended = true
  })
  return () => clearTimeout(timer)
}

const server = net.createServer({ allowHalfOpen: true }, (client) => {
  const upstream = net.connect({ host: targetHost, port: Number(targetPort), allowHalfOpen: true })
  const stops = [pipeDelayed(client, upstream), pipeDelayed(upstream, client)]
  const close = () => {
    for (const stop of stops) stop()
    client.destroy()
    upstream.destroy()
  }
  client.on("error", close)
  upstream.on("error", close)
  client.on("close", close)
  upstream.on("close", close)
})

server.listen(Number(listenPort), listenHost, () => {
  const { port } = server.address()
  console.log(`relay listening on ${listenHost}:${port} -> ${targetHost}:${targetPort} (delay ${delayMs} ms)`)
})

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  try {
    const { delay } = JSON.parse(line)
    if (typeof delay === "number" && delay >= 0) {
      delayMs = delay
      console.log(`relay delay ${delayMs} ms`)
    }
  } catch {
    console.error(`relay: ignoring ${line}`)
  }
})
process.stdin.on("end", () => process.exit(0))
