// The deployment spec users write (YAML or JSON), decoded with Schema. Every rule names its field and
// what it wants, so `helyos deploy` (before upload) and POST /api/v1/deploy (422) report the same problems.
import { Duration, Either, ParseResult, Schema } from "effect"
import * as YAML from "yaml"
import { formatDuration, parseDuration } from "./Duration.js"
import { HEALTHCHECK_DEFAULTS } from "./RestartRules.js"
import { InvalidName, SpecInvalid } from "./WorkloadErrors.js"

// ---------------------------------------------------------------------------------------------
// How values are shown inside messages: strings quoted, long values cut.

/** JSON text of a value; a placeholder when nesting is deeper than the stack allows (found by fuzzing). */
const stringify = (value: unknown): string | undefined => {
  try {
    return JSON.stringify(value)
  } catch {
    return Array.isArray(value) ? "[…]" : "{…}"
  }
}

const show = (actual: unknown): string => {
  if (typeof actual === "string") return JSON.stringify(actual.length > 40 ? `${actual.slice(0, 40)}...` : actual)
  const text = actual === undefined ? "nothing" : (stringify(actual) ?? String(actual))
  return text.length > 48 ? `${text.slice(0, 45)}...` : text
}

/** One message for every way a leaf value can fail (wrong type or broken rule). */
const says = (describe: (actual: unknown) => string) => ({
  message: (issue: ParseResult.ParseIssue) => ({ message: describe(issue.actual), override: true })
})

/** A message for a value of the wrong type; failures inside (elements, fields) keep their own. */
const typeMessage = (describe: (actual: unknown) => string) => ({
  message: (issue: ParseResult.ParseIssue) => describe(issue.actual)
})

const Text = Schema.String.annotations(typeMessage((a) => `must be a string, got ${show(a)}`))
const Bool = Schema.Boolean.annotations(says((a) => `must be true or false, got ${show(a)}`))

// ---------------------------------------------------------------------------------------------
// Names: project and deployment.name end up in DNS (<deployment>.<project>.internal), network and
// container names, so they are DNS labels. A trailing hyphen is rejected (RFC 1123), though the docs
// are silent on it.

export const NAME_MAX_LENGTH = 63

/** Why a project or deployment name is not DNS-safe, or undefined when it is fine. */
export const nameProblem = (name: string): string | undefined => {
  if (name.length === 0) return "must not be empty"
  if (name.length > NAME_MAX_LENGTH) return `${show(name)} is longer than ${NAME_MAX_LENGTH} characters (${name.length})`
  if (!/^[a-z0-9]/.test(name)) return `${show(name)} must start with a lowercase letter or a digit`
  if (/[^a-z0-9-]/.test(name)) return `${show(name)} may contain only lowercase letters, digits and -`
  if (name.endsWith("-")) return `${show(name)} must not end with - (names are DNS labels)`
  return undefined
}

/** Check a name given outside a spec (`helyos project create NAME`). */
export const validateName = (name: string): Either.Either<string, InvalidName> => {
  const problem = nameProblem(name)
  return problem === undefined ? Either.right(name) : Either.left(new InvalidName({ name, problem }))
}

export const ResourceName = Text.pipe(Schema.filter((name) => nameProblem(name) ?? true))

// ---------------------------------------------------------------------------------------------
// Sizes: digits plus k/m/g, binary units, case-insensitive ("512m" = 512 MiB). "512mb" and "512" are
// rejected, as documented.

const sizePattern = /^(\d+)([kmg])$/i
const unitBytes = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 } as const

/** Bytes in a size like 512m, 1g, 256k; undefined when it is not such a size. */
export const parseMemory = (text: string): number | undefined => {
  const match = sizePattern.exec(text)
  if (match === null) return undefined
  const bytes = Number(match[1]) * unitBytes[match[2]!.toLowerCase() as keyof typeof unitBytes]
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

const notASize = (a: unknown) => `${show(a)} is not a size like 512m, 1g, 256k`

const Memory = Schema.String.annotations(typeMessage(notASize)).pipe(
  Schema.filter((text) => {
    const bytes = parseMemory(text)
    if (bytes === undefined) return sizePattern.test(text) ? `${show(text)} is too large` : notASize(text)
    return bytes > 0 || `${show(text)} must be more than 0`
  })
)

const Cpu = Schema.Number.pipe(Schema.finite(), Schema.greaterThan(0)).annotations(
  says((a) => `must be a number of CPU cores > 0 (like 0.5), got ${show(a)}`)
)

// ---------------------------------------------------------------------------------------------
// Durations: "500ms", "10s", "5m", "2h"; a bare number means seconds (a YAML number is accepted too).

const durationProblem = (text: string): string | undefined =>
  Either.match(parseDuration(text), {
    onLeft: () => `${show(text)} is not a duration like 500ms, 10s, 5m, 2h (a bare number means seconds)`,
    onRight: (d) => (Duration.toMillis(d) === 0 ? `${show(text)} must be longer than 0` : undefined)
  })

const DurationText = Schema.Union(Schema.String, Schema.Number)
  .annotations(says((a) => `${show(a)} is not a duration like 500ms, 10s, 5m, 2h (a bare number means seconds)`))
  .pipe(
    Schema.transform(Schema.String, { strict: true, decode: (v) => String(v), encode: (s) => s }),
    Schema.filter((text) => durationProblem(text) ?? true)
  )

// ---------------------------------------------------------------------------------------------
// Field schemas.

const Image = Text.pipe(
  Schema.filter((image) =>
    image.trim().length === 0
      ? "must not be empty"
      : /\s/.test(image)
      ? `${show(image)} must not contain spaces`
      : true
  )
)

const Replicas = Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(1)).annotations(
  says((a) => `must be an integer ≥ 1, got ${show(a)}`)
)

const Port = Schema.Number.pipe(Schema.int(), Schema.between(1, 65535)).annotations(
  says((a) => `${show(a)} is not a port (1–65535)`)
)

const firstDuplicate = <A>(items: ReadonlyArray<A>): A | undefined => items.find((item, i) => items.indexOf(item) !== i)

const Ports = Schema.Array(Port)
  .annotations(typeMessage((a) => `must be a list of ports, like [3000], got ${show(a)}`))
  .pipe(Schema.filter((ports) => {
    const dup = firstDuplicate(ports)
    return dup === undefined || `${dup} is listed twice`
  }))

const envValueMessage = (a: unknown): string =>
  typeof a === "number" || typeof a === "boolean"
    ? `${show(a)} is a ${typeof a}; env values are strings, so quote it in YAML ("${String(a)}")`
    : `must be a string, got ${show(a)}`

const envNameProblem = (key: string) => `${show(key)} is not a variable name (empty or contains =)`

const EnvName = Schema.String.pipe(Schema.filter((key) => (key.length > 0 && !key.includes("=")) || envNameProblem(key)))

const Env = Schema.Record({ key: EnvName, value: Schema.String.annotations(says(envValueMessage)) })
  .annotations(typeMessage((a) => `must be a map of NAME: "value", got ${show(a)}`))

const CommandArg = Schema.String.annotations(says((a) => `must be a string, got ${show(a)}`))

const Command = Schema.Array(CommandArg)
  .annotations(typeMessage((a) => `must be a list of strings, like ["node", "server.js"], got ${show(a)}`))
  .pipe(Schema.filter((args) => args.length > 0 || "must not be empty; leave command out to use the image's default"))

const AbsolutePath = Text.pipe(
  Schema.filter((path) => path.startsWith("/") || `${show(path)} is not an absolute path (it must start with /)`)
)

const VolumeName = Text.pipe(
  Schema.filter((name) =>
    /^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name) || `${show(name)} is not a volume name (letters, digits, _ . -)`
  )
)

/** What a volume entry may say; which keys it has decides its kind. */
const VolumeEntry = Schema.Struct({
  name: Schema.optionalWith(VolumeName, { exact: true }),
  path: Schema.optionalWith(AbsolutePath, { exact: true }),
  mount: AbsolutePath,
  readonly: Schema.optionalWith(Bool, { exact: true })
}).annotations(typeMessage((a) => `must be {name, mount} or {path, mount, readonly}, got ${show(a)}`)).pipe(
  Schema.filter((v) => {
    if (v.name !== undefined && v.path !== undefined) {
      return "has both name and path: a volume is named ({name, mount}) or a bind mount ({path, mount})"
    }
    if (v.name === undefined && v.path === undefined) {
      return "needs name (a named volume) or path (a bind mount of a host directory)"
    }
    if (v.name !== undefined && v.readonly !== undefined) {
      return "readonly applies only to bind mounts ({path, mount, readonly}); named volumes are read-write"
    }
    return true
  })
)

/** A runtime-managed volume, reused across restarts; always read-write. */
export const NamedVolume = Schema.Struct({ name: Schema.String, mount: Schema.String })
export type NamedVolume = typeof NamedVolume.Type

/** A host directory mounted into the container. */
export const BindMount = Schema.Struct({ path: Schema.String, mount: Schema.String, readonly: Schema.Boolean })
export type BindMount = typeof BindMount.Type

export const Volume = Schema.transform(VolumeEntry, Schema.Union(NamedVolume, BindMount), {
  strict: true,
  decode: (v) =>
    v.name !== undefined
      ? { name: v.name, mount: v.mount }
      : { path: v.path ?? "", mount: v.mount, readonly: v.readonly ?? false },
  encode: (v) => ("name" in v ? { name: v.name, mount: v.mount } : { path: v.path, mount: v.mount, readonly: v.readonly })
})
export type Volume = typeof Volume.Type

export const isBindMount = (volume: Volume): volume is BindMount => "path" in volume

const Volumes = Schema.Array(Volume)
  .annotations(typeMessage((a) => `must be a list of {name, mount} or {path, mount} entries, got ${show(a)}`))
  .pipe(Schema.filter((volumes) => {
    const dup = firstDuplicate(volumes.map((v) => v.mount))
    return dup === undefined || `mount ${show(dup)} is used twice`
  }))

const SecretName = Text.pipe(
  // injected as an environment variable named exactly after the secret
  Schema.filter((name) =>
    /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) || `${show(name)} is not a secret name (letters, digits and _, not starting with a digit)`
  )
)

const Secrets = Schema.Array(SecretName).annotations(
  typeMessage((a) => `must be a list of secret names, like [DATABASE_URL], got ${show(a)}`)
)

const domainPattern = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i

const Domain = Text.pipe(
  Schema.filter((domain) => domainPattern.test(domain) || `${show(domain)} is not a domain name like api.example.com`)
)

const mapping = (fields: string) => typeMessage((a) => `must be a mapping with ${fields}, got ${show(a)}`)

export const Network = Schema.Struct({
  public: Schema.optionalWith(Bool, { exact: true, default: () => false }),
  domain: Schema.optionalWith(Domain, { exact: true }),
  https: Schema.optionalWith(Bool, { exact: true, default: () => false })
}).annotations(mapping("public, domain, https"))
export type Network = typeof Network.Type

const Retries = Schema.Number.pipe(Schema.int(), Schema.greaterThanOrEqualTo(1)).annotations(
  says((a) => `must be an integer ≥ 1, got ${show(a)}`)
)

const HealthPath = Text.pipe(
  Schema.filter((path) => path.startsWith("/") || `${show(path)} must start with /, like /health`)
)

const ExecCommand = Schema.Array(CommandArg)
  .annotations(typeMessage((a) =>
    `must be a list like ["cat", "/tmp/ready"] (for a shell line write ["sh", "-c", "..."]), got ${show(a)}`
  ))
  .pipe(Schema.filter((args) => args.length > 0 || "must not be empty, like [\"cat\", \"/tmp/ready\"]"))

const defaultInterval = formatDuration(HEALTHCHECK_DEFAULTS.interval)
const defaultTimeout = formatDuration(HEALTHCHECK_DEFAULTS.timeout)

/**
 * A probe run where the pod runs: exactly one of `path` (HTTP GET, any 2xx is healthy; `port` defaults
 * to the first of `ports`), `tcp: PORT` (a connection is accepted) or `exec: [cmd, ...]` (exits 0).
 */
export const HealthCheck = Schema.Struct({
  path: Schema.optionalWith(HealthPath, { exact: true }),
  port: Schema.optionalWith(Port, { exact: true }),
  tcp: Schema.optionalWith(Port, { exact: true }),
  exec: Schema.optionalWith(ExecCommand, { exact: true }),
  interval: Schema.optionalWith(DurationText, { exact: true, default: () => defaultInterval }),
  timeout: Schema.optionalWith(DurationText, { exact: true, default: () => defaultTimeout }),
  retries: Schema.optionalWith(Retries, { exact: true, default: () => HEALTHCHECK_DEFAULTS.retries })
}).annotations(mapping("one of path (HTTP), tcp or exec, and interval, timeout, retries")).pipe(
  Schema.filter((h) => {
    const kinds = [h.path, h.tcp, h.exec].filter((k) => k !== undefined).length
    if (kinds === 0) return "give one of path (HTTP GET, like /health), tcp (a port) or exec (a command list)"
    if (kinds > 1) return "give only one of path, tcp, exec"
    if (h.port !== undefined && h.path === undefined) return "port goes with path (HTTP); tcp names its own port"
    return true
  })
)
export type HealthCheck = typeof HealthCheck.Type

export const RestartPolicy = Schema.Literal("always", "onfailure", "never").annotations(
  says((a) => `${show(a)} is not one of always, onfailure, never`)
)
export type RestartPolicy = typeof RestartPolicy.Type

export const Resources = Schema.Struct({ cpu: Cpu, memory: Memory }).annotations(mapping("cpu and memory"))
export type Resources = typeof Resources.Type

const DeploymentRef = Schema.Struct({ name: ResourceName }).annotations(mapping("name, like {name: api}"))

// ---------------------------------------------------------------------------------------------
// The spec.

export class DeploymentSpec extends Schema.Class<DeploymentSpec>("DeploymentSpec")({
  project: ResourceName,
  deployment: DeploymentRef,
  image: Image,
  /** overrides the image's default command (Docker Cmd); absent = the image's own */
  command: Schema.optionalWith(Command, { exact: true }),
  replicas: Schema.optionalWith(Replicas, { exact: true, default: () => 1 }),
  ports: Schema.optionalWith(Ports, { exact: true, default: () => [] }),
  env: Schema.optionalWith(Env, { exact: true, default: () => ({}) }),
  volumes: Schema.optionalWith(Volumes, { exact: true, default: () => [] }),
  secrets: Schema.optionalWith(Secrets, { exact: true, default: () => [] }),
  network: Schema.optionalWith(Network, { exact: true }),
  healthcheck: Schema.optionalWith(HealthCheck, { exact: true }),
  restart: Schema.optionalWith(RestartPolicy, { exact: true, default: () => "always" as const }),
  resources: Schema.optionalWith(Resources, { exact: true })
}) {}

/** The spec as JSON (what POST /api/v1/deploy sends and what a deployment shows as `spec`). */
export type DeploymentSpecJson = typeof DeploymentSpec.Encoded

// ---------------------------------------------------------------------------------------------
// Problems, named by field.

const isPlainObject = (u: unknown): u is Record<string, unknown> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

/** `key: null` (YAML `key:` with nothing after it, or JSON null) means "not given" in fixed-shape mappings. */
const withoutNulls = (u: unknown): unknown =>
  isPlainObject(u) ? Object.fromEntries(Object.entries(u).filter(([, v]) => v !== null)) : u

const nestedMappings = ["deployment", "network", "healthcheck", "resources"] as const

const normalize = (input: Record<string, unknown>): Record<string, unknown> => {
  const top = withoutNulls(input) as Record<string, unknown>
  for (const key of nestedMappings) if (key in top) top[key] = withoutNulls(top[key])
  if (Array.isArray(top["volumes"])) top["volumes"] = top["volumes"].map(withoutNulls)
  return top
}

const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (at, key) => (typeof key === "number" ? `${at}[${key}]` : at === "" ? String(key) : `${at}.${String(key)}`),
    ""
  ) || "spec"

/** Likely meant-to-be keys for common typos, shown with "unknown field". */
const didYouMean: Record<string, string> = {
  mount_path: "mount",
  mountPath: "mount",
  replica: "replicas",
  port: "ports",
  environment: "env",
  volume: "volumes",
  secret: "secrets",
  health_check: "healthcheck",
  healthCheck: "healthcheck",
  restart_policy: "restart",
  restartPolicy: "restart",
  resource: "resources",
  cmd: "command",
  args: "command"
}

/** Inside healthcheck, keys other orchestrators use for the same probes. */
const didYouMeanInHealthcheck: Record<string, string> = {
  command: "exec",
  cmd: "exec",
  httpGet: "path",
  http: "path",
  url: "path",
  tcpSocket: "tcp",
  tcp_port: "tcp",
  retry: "retries",
  period: "interval"
}

const unknownField = (path: ReadonlyArray<PropertyKey>): string => {
  const key = String(path[path.length - 1])
  const hint = path.length === 1 && key === "name"
    ? "deployment.name"
    : path.length === 2 && path[0] === "healthcheck"
    ? didYouMeanInHealthcheck[key]
    : didYouMean[key]
  return hint === undefined ? "unknown field" : `unknown field (did you mean ${hint}?)`
}

const problemsOf = (error: ParseResult.ParseError): Array<string> => {
  const lines = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => {
    const at = fieldPath(issue.path)
    switch (issue._tag) {
      case "Missing":
        return `${at}: is required`
      case "Unexpected":
        // under env, an "unexpected" key is one whose name failed EnvName, not a typo of ours
        return issue.path.length === 2 && issue.path[0] === "env"
          ? `env: ${envNameProblem(String(issue.path[1]))}`
          : `${at}: ${unknownField(issue.path)}`
      default:
        return `${at}: ${issue.message}`
    }
  })
  return [...new Set(lines)]
}

const decodeStrict = Schema.decodeUnknownEither(DeploymentSpec, { errors: "all", onExcessProperty: "error" })

/**
 * Decode a spec that arrived as data (JSON body, parsed YAML). Collects every problem; unknown keys
 * are problems too, so a typo like `mount_path` never passes silently.
 */
export const decodeSpec = (input: unknown): Either.Either<DeploymentSpec, SpecInvalid> => {
  if (!isPlainObject(input)) {
    return Either.left(
      new SpecInvalid({ problems: [`spec: must be a mapping with project, deployment and image, got ${show(input)}`] })
    )
  }
  return decodeStrict(normalize(input)).pipe(
    Either.mapLeft((error) => new SpecInvalid({ problems: problemsOf(error) })),
    Either.flatMap((spec) => {
      const problems = crossFieldProblems(spec)
      return problems.length === 0 ? Either.right(spec) : Either.left(new SpecInvalid({ problems }))
    })
  )
}

/** Rules that tie fields together (checked once every field is valid on its own). */
const crossFieldProblems = (spec: DeploymentSpec): Array<string> => {
  const hc = spec.healthcheck
  // the reference silently skipped such a probe: a typo'd spec then runs unprobed
  return hc?.path !== undefined && hc.port === undefined && spec.ports.length === 0
    ? ["healthcheck.port: an HTTP health check needs a port: give healthcheck.port or list the port under ports"]
    : []
}

/** A spec's health check as the node runs it: kind, the resolved port, timings in ms. */
export interface HealthProbeSpec {
  readonly kind: "http" | "tcp" | "exec"
  readonly path: string
  readonly port: number
  readonly command: ReadonlyArray<string>
  readonly intervalMs: number
  readonly timeoutMs: number
  readonly retries: number
}

const millisOf = (text: string, fallback: Duration.Duration): number =>
  Duration.toMillis(Either.getOrElse(parseDuration(text), () => fallback))

/** The probe a pod of this spec gets (undefined: none); an HTTP probe without a port takes the first of `ports`. */
export const probeOf = (spec: DeploymentSpec): HealthProbeSpec | undefined => {
  const hc = spec.healthcheck
  if (hc === undefined) return undefined
  const timings = {
    intervalMs: millisOf(hc.interval, HEALTHCHECK_DEFAULTS.interval),
    timeoutMs: millisOf(hc.timeout, HEALTHCHECK_DEFAULTS.timeout),
    retries: hc.retries
  }
  if (hc.exec !== undefined) return { kind: "exec", path: "", port: 0, command: hc.exec, ...timings }
  if (hc.tcp !== undefined) return { kind: "tcp", path: "", port: hc.tcp, command: [], ...timings }
  return { kind: "http", path: hc.path ?? "/", port: hc.port ?? spec.ports[0] ?? 0, command: [], ...timings }
}

const yamlProblem = (error: YAML.YAMLError): string => {
  const firstLine = error.message.split("\n")[0] ?? error.message
  const what = firstLine.replace(/ at line \d+, column \d+:?\s*$/, "")
  const pos = error.linePos?.[0]
  return pos === undefined ? `spec: ${what}` : `spec: line ${pos.line}, column ${pos.col}: ${what}`
}

/** Parse a spec file's text (YAML, or JSON, which is YAML too) and decode it. */
export const parseSpecText = (text: string): Either.Either<DeploymentSpec, SpecInvalid> => {
  const invalid = (problem: string) => Either.left(new SpecInvalid({ problems: [problem] }))
  const documents = YAML.parseAllDocuments(text)
  if (!Array.isArray(documents) || documents.length === 0) return invalid("spec: is empty")
  if (documents.length > 1) {
    return invalid(`spec: the file holds ${documents.length} YAML documents; one file describes exactly one deployment`)
  }
  const document = documents[0]!
  const syntaxError = document.errors[0]
  if (syntaxError !== undefined) return invalid(yamlProblem(syntaxError))
  let data: unknown
  try {
    data = document.toJS()
  } catch (error) {
    return invalid(`spec: ${error instanceof Error ? error.message : String(error)}`)
  }
  if (data === null || data === undefined) return invalid("spec: is empty")
  return decodeSpec(data)
}

/** The spec as JSON, defaults filled in (what the API shows and the store keeps). */
export const encodeSpec = (spec: DeploymentSpec): DeploymentSpecJson => Schema.encodeSync(DeploymentSpec)(spec)

/**
 * A spec the orchestrator stored (encodeSpec's JSON) back as a DeploymentSpec. Not strict like decodeSpec:
 * the row was valid when written. It throws on a row that does not decode, a defect (the database is ours).
 */
export const parseStoredSpec: (json: string) => DeploymentSpec = Schema.decodeUnknownSync(Schema.parseJson(DeploymentSpec))

// ---------------------------------------------------------------------------------------------
// Change detection.

const sortedEntries = (record: Readonly<Record<string, string>>) =>
  Object.keys(record).sort().map((key) => [key, record[key]])

/** 64-bit FNV-1a over UTF-8: short, stable across processes, no crypto needed for change detection. */
const fnv1a64 = (text: string): string => {
  let hash = 0xcbf29ce484222325n
  for (const byte of new TextEncoder().encode(text)) {
    hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n)
  }
  return hash.toString(16).padStart(16, "0")
}

/**
 * A stable fingerprint of the fields whose change needs new containers (image, command, env, ports,
 * volumes, resources, restart, secret names, and the health check, which each pod carries from its
 * creation). Replicas and network are left out: they change without replacing a pod. A spec without a
 * health check hashes exactly as before health checks were hashed. Secret *values* are not in the spec,
 * so rotating one is not seen here.
 */
export const specHash = (spec: DeploymentSpec): string => {
  const probe = probeOf(spec)
  return fnv1a64(JSON.stringify([
    spec.image,
    spec.command ?? null,
    sortedEntries(spec.env),
    spec.ports,
    spec.volumes.map((v) => (isBindMount(v) ? ["bind", v.path, v.mount, v.readonly] : ["named", v.name, v.mount])),
    spec.resources === undefined ? null : [spec.resources.cpu, parseMemory(spec.resources.memory) ?? spec.resources.memory],
    spec.restart,
    spec.secrets,
    ...(probe === undefined
      ? []
      : [[probe.kind, probe.path, probe.port, probe.command, probe.intervalMs, probe.timeoutMs, probe.retries]])
  ]))
}
