// The test image helyos-test/busybox, built locally (there is no registry): the host's static
// busybox in an otherwise empty rootfs, `docker import`ed with CMD /bin/sh. Built only when absent.
import { spawn } from "node:child_process"
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import Docker from "dockerode"

// the tag names the rootfs layout: bump it when `applets` or the directories change, so old builds are not reused
export const BUSYBOX_IMAGE = "helyos-test/busybox:2"
export const DOCKER_SOCKET = process.env["HELYOS_TEST_DOCKER_SOCKET"] ?? "/var/run/docker.sock"

/** Applets reachable by name (anything else: `busybox <applet>`). */
const applets = ["sh", "httpd", "echo", "sleep", "cat", "ls", "head", "tr", "wc", "env", "true", "false", "kill"]

/** Fails (never skips) when the engine is not there: integration tests require it. */
export const requireDocker = async (socket = DOCKER_SOCKET): Promise<Docker> => {
  const docker = new Docker({ socketPath: socket })
  try {
    await docker.ping()
  } catch (error) {
    throw new Error(`these tests need a Docker engine at ${socket}: ${String(error)}`)
  }
  return docker
}

const importRootfs = (docker: Docker, rootfs: string, image: string): Promise<void> =>
  new Promise((resolve, reject) => {
    const [repo, tag] = [image.slice(0, image.lastIndexOf(":")), image.slice(image.lastIndexOf(":") + 1)]
    const tar = spawn("tar", ["-C", rootfs, "-c", "."], { stdio: ["ignore", "pipe", "inherit"] })
    tar.on("error", reject)
    docker.importImage(tar.stdout, { repo, tag, changes: ["CMD [\"/bin/sh\"]"] } as {}, (err, progress) => {
      if (err || progress === undefined) return reject(err ?? new Error("docker import gave no progress stream"))
      docker.modem.followProgress(progress, (e) => (e ? reject(e) : resolve()))
    })
  })

/** Make sure the busybox test image exists (another tag only for testing this helper); returns its reference. */
export const ensureBusyboxImage = async (
  options: { readonly socket?: string; readonly image?: string } = {}
): Promise<string> => {
  const image = options.image ?? BUSYBOX_IMAGE
  const docker = await requireDocker(options.socket ?? DOCKER_SOCKET)
  const present = await docker.getImage(image).inspect().then(() => true, () => false)
  if (present) return image
  if (!existsSync("/bin/busybox")) throw new Error("building the test image needs a static /bin/busybox on the host")
  const dir = mkdtempSync(path.join(tmpdir(), "helyos-busybox-"))
  try {
    const bin = path.join(dir, "bin")
    mkdirSync(bin)
    mkdirSync(path.join(dir, "tmp"))
    copyFileSync("/bin/busybox", path.join(bin, "busybox"))
    chmodSync(path.join(bin, "busybox"), 0o755)
    for (const applet of applets) symlinkSync("busybox", path.join(bin, applet))
    await importRootfs(docker, dir, image)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  return image
}

let engineReady: Promise<Docker> | undefined

/**
 * For integration tests: the engine is there and the busybox image is built (once per test file).
 * Call it inside each test (not in beforeAll) so a missing engine FAILS the tests instead of
 * leaving them reported as skipped.
 */
export const testEngine = (): Promise<Docker> => {
  engineReady ??= requireDocker().then(async (docker) => {
    await ensureBusyboxImage()
    return docker
  })
  return engineReady
}
