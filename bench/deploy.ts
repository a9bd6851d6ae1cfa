// Deploy-to-running of N replicas, side by side on one Docker engine: the floor (this process creating
// and starting N containers in parallel through the engine's API, no process per container), Helyos
// (single-node daemon, `helyos deploy` waits until all run), a shell loop of `docker run -d`, and a
// single-node Docker Swarm `docker service create --replicas N` (inits and leaves the swarm). Prints figures.
import Docker from "dockerode"
import { execFileSync, execSync, spawn } from "node:child_process"
import { randomBytes } from "node:crypto"
import { mkdtempSync, writeFileSync } from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { performance } from "node:perf_hooks"

const root = path.resolve(import.meta.dirname, "../..")
const replicas = Number(process.env.BENCH_REPLICAS ?? 20)
const image = process.env.BENCH_IMAGE ?? "helyos-test/busybox:2"
const command = ["httpd", "-f", "-p", "8080"]

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const sh = (cmd: string) => execSync(cmd, { stdio: ["ignore", "pipe", "pipe"] }).toString().trim()
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo
      s.close(() => resolve(port))
    })
  })
const timed = async (f: () => Promise<void> | void) => {
  const t0 = performance.now()
  await f()
  return (performance.now() - t0) / 1000
}

/** The floor: create + start all N at once through the API, until every one runs. */
const engineApiParallel = async () => {
  const docker = new Docker({ socketPath: "/var/run/docker.sock" })
  const label = `helyos-bench-api-${process.pid}`
  const ids: Array<string> = []
  const seconds = await timed(async () => {
    await Promise.all(Array.from({ length: replicas }, async (_, i) => {
      const container = await docker.createContainer({
        name: `${label}-${i}`,
        Image: image,
        Cmd: command,
        Labels: { [label]: "1" }
      })
      ids.push(container.id)
      await container.start()
    }))
    // start returns once the task runs; inspect to be sure, as the others are measured to Running
    for (const id of ids) {
      while (!(await docker.getContainer(id).inspect()).State.Running) await sleep(20)
    }
  })
  await Promise.all(ids.map((id) => docker.getContainer(id).remove({ force: true })))
  return seconds
}

const dockerRunLoop = async () => {
  const label = `helyos-bench-raw-${process.pid}`
  const seconds = await timed(() => {
    sh(`for i in $(seq 1 ${replicas}); do docker run -d --label ${label}=1 ${image} ${command.join(" ")} >/dev/null; done`)
  })
  sh(`docker rm -f $(docker ps -aq --filter label=${label}) >/dev/null`)
  return seconds
}

const swarmService = async () => {
  sh("docker swarm init --advertise-addr 127.0.0.1 >/dev/null")
  try {
    const name = `helyos-bench-${process.pid}`
    const seconds = await timed(async () => {
      sh(`docker service create --detach --no-resolve-image --name ${name} --replicas ${replicas} ${image} ${command.join(" ")} >/dev/null`)
      for (;;) {
        const running = sh(`docker service ps ${name} --filter desired-state=running --format '{{.CurrentState}}'`)
          .split("\n").filter((l) => l.startsWith("Running")).length
        if (running >= replicas) return
        await sleep(100)
      }
    })
    sh(`docker service rm ${name} >/dev/null`)
    return seconds
  } finally {
    sh("docker swarm leave --force >/dev/null")
  }
}

const helyos = async () => {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), "helyos-bench-deploy-"))
  const port = await freePort()
  const token = `nxa-api_${randomBytes(32).toString("hex")}`
  const env = { ...process.env, HELYOS_SERVER: `http://127.0.0.1:${port}`, HELYOS_API_TOKEN: token, HELYOS_CONFIG: path.join(dataDir, "cli.toml") }
  const daemon = spawn(process.execPath, [path.join(root, "bin", "helyosd"), "--port", String(port), "--data-dir", dataDir, "--node-name", "bench"], { env, stdio: ["ignore", "pipe", "pipe"] })
  let out = ""
  daemon.stdout.on("data", (d) => (out += d))
  for (let i = 0; i < 200 && !out.includes("listening on"); i++) await sleep(100)
  const spec = path.join(dataDir, "app.yaml")
  const project = `bench${process.pid}`
  writeFileSync(spec, `project: ${project}\ndeployment:\n  name: web\nimage: ${image}\nreplicas: ${replicas}\ncommand: ${JSON.stringify(command)}\n`)
  try {
    return await timed(() => {
      execFileSync(process.execPath, [path.join(root, "bin", "helyos"), "deploy", spec, "--timeout", "120"], { env, stdio: "ignore" })
    })
  } finally {
    execFileSync(process.execPath, [path.join(root, "bin", "helyos"), "rm", "web", "-p", project, "-y"], { env, stdio: "ignore" })
    await sleep(3000)
    daemon.kill("SIGTERM")
    await new Promise((r) => daemon.once("exit", r))
    const left = sh(`docker ps -aq --filter label=helyos.project=${project}`)
    if (left !== "") sh(`docker rm -f ${left.split("\n").join(" ")} >/dev/null`)
  }
}

const main = async () => {
  console.log(`deploy-to-running of ${replicas} replicas of ${image} on one engine (${os.cpus().length} cores)`)
  const floor = await engineApiParallel()
  const raw = await dockerRunLoop()
  const swarm = await swarmService()
  const ours = await helyos()
  console.log("| runner | seconds | vs floor | vs swarm |")
  console.log("|---|---:|---:|---:|")
  const row = (name: string, s: number) => console.log(`| ${name} | ${s.toFixed(2)} | ${(s / floor).toFixed(2)} | ${(s / swarm).toFixed(2)} |`)
  row(`floor: ${replicas} × create + start in parallel through the engine API`, floor)
  row(`${replicas} × docker run -d (shell loop)`, raw)
  row(`docker service create --replicas ${replicas} (swarm)`, swarm)
  row("helyos deploy (single node)", ours)
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})
