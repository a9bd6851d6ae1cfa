// `helyos init [NAME] [--image IMAGE]`: scaffold NAME/app.yaml — project and deployment NAME, the
// image, one replica, and commented examples of the other fields — never over an existing file.
// Without NAME it asks on the terminal (project, deployment, image); without a terminal it needs NAME.
import { Console, Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { nameProblem } from "../../domain/DeploymentSpec.js"
import { CliError } from "./Connection.js"
import { ask } from "./Prompts.js"

/** The image when --image is absent (and the prompt's default). */
export const DEFAULT_IMAGE = "nginx:alpine"

/** The spec `helyos init` writes: live fields, then the others as comments to uncomment. */
export const scaffold = (options: { readonly project: string; readonly deployment: string; readonly image: string }): string =>
  [
    `# Helyos deployment spec — ${options.deployment}`,
    "# Docs: https://github.com/helyos-labs/helyos",
    `project: ${options.project}`,
    "deployment:",
    `  name: ${options.deployment}`,
    `image: ${options.image}`,
    "replicas: 1",
    "",
    "# ports:",
    "#   - 3000",
    "# env:",
    "#   DATABASE_URL: \"postgres://localhost/mydb\"",
    "# network:",
    "#   public: true",
    `#   domain: ${options.deployment}.example.com`,
    "#   https: true",
    "# healthcheck:",
    "#   path: /health",
    "#   interval: 10s",
    "#   timeout: 5s",
    "#   retries: 3",
    "# volumes:",
    "#   - name: data",
    "#     mount: /app/data",
    "# restart: always  # always | onfailure | never",
    ""
  ].join("\n")

const fail = (message: string) => Effect.fail(new CliError({ message }))

const validName = (what: string, name: string) => {
  const problem = nameProblem(name)
  return problem === undefined ? Effect.succeed(name) : fail(`invalid ${what} '${name}': ${problem}`)
}

/** An image reference has no spaces and is not empty; the engine judges the rest at deploy. */
const validImage = (image: string) =>
  image.trim() === "" || /\s/.test(image.trim()) ? fail(`invalid image '${image}'`) : Effect.succeed(image.trim())

/** Ask for what NAME and --image would have said (the documented prompts). */
const interactively = (image: string | undefined) =>
  Effect.gen(function*() {
    const project = yield* validName("project name", (yield* ask("Project name: ")).trim())
    const deployment = yield* validName("deployment name", (yield* ask(`Deployment name (${project}): `)).trim() || project)
    const chosen = image ?? ((yield* ask(`Container image (${DEFAULT_IMAGE}): `)).trim() || DEFAULT_IMAGE)
    return { project, deployment, image: yield* validImage(chosen) }
  })

export const init = ({ image, name }: { readonly name: string | undefined; readonly image: string | undefined }) =>
  Effect.gen(function*() {
    if (name === undefined && (process.stdin.isTTY !== true || process.stderr.isTTY !== true)) {
      return yield* fail("helyos init needs a NAME when not on a terminal: helyos init NAME [--image IMAGE]")
    }
    const spec = name === undefined
      ? yield* interactively(image)
      : {
        project: yield* validName("name", name),
        deployment: name,
        image: yield* validImage(image ?? DEFAULT_IMAGE)
      }
    const dir = spec.project
    const file = path.join(dir, "app.yaml")
    if (fs.existsSync(file)) return yield* fail(`${file} already exists: not overwriting it (edit it, or pick another NAME)`)
    yield* Effect.try({
      try: () => {
        fs.mkdirSync(dir, { recursive: true })
        // "wx": fails rather than replace a file that appeared meanwhile
        fs.writeFileSync(file, scaffold(spec), { flag: "wx" })
      },
      catch: (error) =>
        new CliError({
          message: (error as NodeJS.ErrnoException).code === "EEXIST"
            ? `${file} already exists: not overwriting it (edit it, or pick another NAME)`
            : `cannot write ${file}: ${(error as Error).message}`
        })
    })
    yield* Console.log(
      [
        `✓ Created ${file}`,
        "",
        "Next steps:",
        `  1. Edit ${file} to customize your deployment`,
        `  2. Deploy with: helyos deploy ${file}`
      ].join("\n")
    )
  })
