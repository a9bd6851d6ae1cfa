// The deployment spec as documented (reference/deployment-spec.md): defaults, every rule, and messages
// that name the field, so `helyos deploy` and POST /api/v1/deploy say exactly what to fix.
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import {
  decodeSpec,
  encodeSpec,
  nameProblem,
  parseMemory,
  parseSpecText,
  probeOf,
  specHash,
  validateName,
  type DeploymentSpec
} from "../../src/domain/DeploymentSpec.js"
import { SpecInvalid } from "../../src/domain/WorkloadErrors.js"

const minimal = { project: "myapp", deployment: { name: "api" }, image: "nginx:latest" }

const fullExample = `
project: ecommerce
deployment:
  name: api
replicas: 3
image: ghcr.io/company/api:latest
ports:
  - 3000
env:
  NODE_ENV: production
  LOG_LEVEL: info
secrets:
  - DATABASE_URL
  - STRIPE_KEY
volumes:
  - name: data
    mount: /app/data
  - path: /host/uploads
    mount: /app/uploads
    readonly: true
network:
  public: true
  domain: api.example.com
  https: true
healthcheck:
  path: /health
  interval: 10s
  timeout: 5s
  retries: 3
restart: onfailure
resources:
  memory: 512m
  cpu: 0.5
`

const valid = (input: unknown): DeploymentSpec => {
  const result = decodeSpec(input)
  if (Either.isLeft(result)) throw new Error(`expected a valid spec, got: ${result.left.message}`)
  return result.right
}

const problems = (input: unknown): ReadonlyArray<string> => {
  const result = decodeSpec(input)
  if (Either.isRight(result)) throw new Error("expected the spec to be rejected")
  return result.left.problems
}

/** The minimal spec with some fields changed. */
const problemsWith = (fields: Record<string, unknown>) => problems({ ...minimal, ...fields })

const textProblems = (text: string): ReadonlyArray<string> => {
  const result = parseSpecText(text)
  if (Either.isRight(result)) throw new Error("expected the text to be rejected")
  return result.left.problems
}

describe("a minimal spec", () => {
  it("gets the documented defaults: 1 replica, restart always, nothing else", () => {
    const spec = valid(minimal)
    expect(spec.project).toBe("myapp")
    expect(spec.deployment.name).toBe("api")
    expect(spec.image).toBe("nginx:latest")
    expect(spec.replicas).toBe(1)
    expect(spec.ports).toEqual([])
    expect(spec.env).toEqual({})
    expect(spec.volumes).toEqual([])
    expect(spec.secrets).toEqual([])
    expect(spec.restart).toBe("always")
    expect(spec.network).toBeUndefined()
    expect(spec.healthcheck).toBeUndefined()
    expect(spec.resources).toBeUndefined()
    expect(spec.command).toBeUndefined()
  })

  it("fills healthcheck and network defaults (10s, 5s, 3 retries; public and https false)", () => {
    const spec = valid({ ...minimal, ports: [80], healthcheck: { path: "/health" }, network: { domain: "api.example.com" } })
    expect(spec.healthcheck).toEqual({ path: "/health", interval: "10s", timeout: "5s", retries: 3 })
    expect(spec.network).toEqual({ public: false, domain: "api.example.com", https: false })
  })

  it("treats null (YAML `key:` with nothing after it) as not given", () => {
    const spec = valid({ ...minimal, network: null, healthcheck: null, resources: null, env: null, ports: null })
    expect(spec.network).toBeUndefined()
    expect(spec.ports).toEqual([])
  })
})

describe("the documented full example", () => {
  it("is valid and reads as written", () => {
    const result = parseSpecText(fullExample)
    expect(Either.isRight(result)).toBe(true)
    const spec = Either.getOrThrow(result)
    expect(spec.replicas).toBe(3)
    expect(spec.ports).toEqual([3000])
    expect(spec.env).toEqual({ NODE_ENV: "production", LOG_LEVEL: "info" })
    expect(spec.secrets).toEqual(["DATABASE_URL", "STRIPE_KEY"])
    expect(spec.volumes).toEqual([
      { name: "data", mount: "/app/data" },
      { path: "/host/uploads", mount: "/app/uploads", readonly: true }
    ])
    expect(spec.network).toEqual({ public: true, domain: "api.example.com", https: true })
    expect(spec.healthcheck).toEqual({ path: "/health", interval: "10s", timeout: "5s", retries: 3 })
    expect(spec.restart).toBe("onfailure")
    expect(spec.resources).toEqual({ memory: "512m", cpu: 0.5 })
  })

  it("is the same spec whether written as YAML or as JSON", () => {
    const fromYaml = Either.getOrThrow(parseSpecText(fullExample))
    const fromJson = Either.getOrThrow(parseSpecText(JSON.stringify(encodeSpec(fromYaml))))
    expect(fromJson).toEqual(fromYaml)
  })

  it("encodes to JSON with defaults filled in, and decodes back to the same spec", () => {
    const spec = valid(minimal)
    expect(encodeSpec(spec)).toEqual({
      ...minimal,
      replicas: 1,
      ports: [],
      env: {},
      volumes: [],
      secrets: [],
      restart: "always"
    })
    const full = Either.getOrThrow(parseSpecText(fullExample))
    expect(valid(encodeSpec(full))).toEqual(full)
  })
})

describe("names (project, deployment.name)", () => {
  it("accepts DNS-safe names up to 63 characters", () => {
    for (const name of ["my-app-123", "api", "api-v2", "0", "a".repeat(63)]) {
      expect(nameProblem(name)).toBeUndefined()
    }
  })

  it("rejects the documented invalid names, naming the field", () => {
    expect(problemsWith({ project: "MyApp" })).toEqual([
      'project: "MyApp" must start with a lowercase letter or a digit'
    ])
    expect(problemsWith({ project: "-myapp" })).toEqual([
      'project: "-myapp" must start with a lowercase letter or a digit'
    ])
    expect(problemsWith({ deployment: { name: "my_api" } })).toEqual([
      'deployment.name: "my_api" may contain only lowercase letters, digits and -'
    ])
    expect(problemsWith({ deployment: { name: "a".repeat(64) } })[0]).toMatch(
      /^deployment\.name: "a+\.\.\." is longer than 63 characters \(64\)$/
    )
  })

  it("takes only environment-variable names as secrets (they are injected as such)", () => {
    expect(Either.isRight(decodeSpec({ ...minimal, secrets: ["DB_PASSWORD", "_x1"] }))).toBe(true)
    expect(problemsWith({ secrets: ["db-password"] })).toEqual([
      'secrets[0]: "db-password" is not a secret name (letters, digits and _, not starting with a digit)'
    ])
    expect(problemsWith({ secrets: ["OK", "1ST"] })[0]).toMatch(/^secrets\[1\]: "1ST" is not a secret name/)
  })

  it("rejects a trailing hyphen: names are DNS labels", () => {
    expect(problemsWith({ project: "api-" })).toEqual(['project: "api-" must not end with - (names are DNS labels)'])
  })

  it("requires project and deployment.name", () => {
    expect(problems({ deployment: {}, image: "nginx" })).toEqual(["project: is required", "deployment.name: is required"])
    expect(problems({ project: "p", image: "nginx" })).toEqual(["deployment: is required"])
  })

  it("validateName checks a bare name the same way (helyos project create)", () => {
    expect(Either.isRight(validateName("web"))).toBe(true)
    const bad = validateName("Web")
    expect(Either.isLeft(bad) && bad.left.message).toBe(
      `invalid name 'Web': "Web" must start with a lowercase letter or a digit`
    )
  })
})

describe("field rules", () => {
  it("image: required and non-empty", () => {
    expect(problems({ project: "p", deployment: { name: "d" } })).toEqual(["image: is required"])
    expect(problemsWith({ image: "" })).toEqual(["image: must not be empty"])
  })

  it("replicas: an integer ≥ 1 (scale may go to 0, the spec may not)", () => {
    expect(problemsWith({ replicas: 0 })).toEqual(["replicas: must be an integer ≥ 1, got 0"])
    expect(problemsWith({ replicas: 1.5 })).toEqual(["replicas: must be an integer ≥ 1, got 1.5"])
    expect(problemsWith({ replicas: "3" })).toEqual(['replicas: must be an integer ≥ 1, got "3"'])
  })

  it("ports: each 1–65535, 0 rejected, no duplicates", () => {
    expect(problemsWith({ ports: [80, 0] })).toEqual(["ports[1]: 0 is not a port (1–65535)"])
    expect(problemsWith({ ports: [65536] })).toEqual(["ports[0]: 65536 is not a port (1–65535)"])
    expect(problemsWith({ ports: [80, 80] })).toEqual(["ports: 80 is listed twice"])
    expect(problemsWith({ ports: 3000 })).toEqual(["ports: must be a list of ports, like [3000], got 3000"])
  })

  it("env: values are strings; an unquoted YAML number or bool says to quote it", () => {
    expect(textProblems("project: p\ndeployment: {name: d}\nimage: x\nenv:\n  PORT: 8080\n  DEBUG: true\n")).toEqual([
      'env.PORT: 8080 is a number; env values are strings, so quote it in YAML ("8080")',
      'env.DEBUG: true is a boolean; env values are strings, so quote it in YAML ("true")'
    ])
    expect(valid({ ...minimal, env: { PORT: "8080" } }).env).toEqual({ PORT: "8080" })
  })

  it("volumes: mount, never mount_path", () => {
    expect(problemsWith({ volumes: [{ name: "data", mount_path: "/data" }] })).toEqual([
      "volumes[0].mount_path: unknown field (did you mean mount?)",
      "volumes[0].mount: is required"
    ])
  })

  it("volumes: paths are absolute; an entry is named or a bind mount, not both", () => {
    expect(problemsWith({ volumes: [{ path: "uploads", mount: "/app/uploads" }] })).toEqual([
      'volumes[0].path: "uploads" is not an absolute path (it must start with /)'
    ])
    expect(problemsWith({ volumes: [{ name: "data", mount: "data" }] })).toEqual([
      'volumes[0].mount: "data" is not an absolute path (it must start with /)'
    ])
    expect(problemsWith({ volumes: [{ name: "data", path: "/d", mount: "/data" }] })).toEqual([
      "volumes[0]: has both name and path: a volume is named ({name, mount}) or a bind mount ({path, mount})"
    ])
    expect(problemsWith({ volumes: [{ mount: "/data" }] })).toEqual([
      "volumes[0]: needs name (a named volume) or path (a bind mount of a host directory)"
    ])
    expect(problemsWith({ volumes: [{ name: "data", mount: "/data", readonly: true }] })).toEqual([
      "volumes[0]: readonly applies only to bind mounts ({path, mount, readonly}); named volumes are read-write"
    ])
  })

  it("volumes: a bind mount's readonly defaults to false", () => {
    expect(valid({ ...minimal, volumes: [{ path: "/srv", mount: "/srv" }] }).volumes).toEqual([
      { path: "/srv", mount: "/srv", readonly: false }
    ])
  })

  it("restart: exactly always, onfailure or never", () => {
    for (const spelling of ["on-failure", "on_failure", "OnFailure"]) {
      expect(problemsWith({ restart: spelling })).toEqual([`restart: "${spelling}" is not one of always, onfailure, never`])
    }
    expect(valid({ ...minimal, restart: "never" }).restart).toBe("never")
  })

  it("healthcheck: exactly one of path, tcp, exec; a path starts with /", () => {
    expect(problemsWith({ healthcheck: { interval: "5s" } })).toEqual([
      "healthcheck: give one of path (HTTP GET, like /health), tcp (a port) or exec (a command list)"
    ])
    expect(problemsWith({ ports: [80], healthcheck: { path: "/h", tcp: 80 } })).toEqual([
      "healthcheck: give only one of path, tcp, exec"
    ])
    expect(problemsWith({ healthcheck: { tcp: 5432, exec: ["true"] } })).toEqual([
      "healthcheck: give only one of path, tcp, exec"
    ])
    expect(problemsWith({ healthcheck: { tcp: 5432, port: 5432 } })).toEqual([
      "healthcheck: port goes with path (HTTP); tcp names its own port"
    ])
    expect(problemsWith({ ports: [80], healthcheck: { path: "health" } })).toEqual([
      'healthcheck.path: "health" must start with /, like /health'
    ])
  })

  it("healthcheck: an HTTP probe needs a port: healthcheck.port, else the first of ports", () => {
    expect(problemsWith({ healthcheck: { path: "/health" } })).toEqual([
      "healthcheck.port: an HTTP health check needs a port: give healthcheck.port or list the port under ports"
    ])
    expect(valid({ ...minimal, healthcheck: { path: "/health", port: 8081 } }).healthcheck).toEqual({
      path: "/health", port: 8081, interval: "10s", timeout: "5s", retries: 3
    })
    expect(problemsWith({ healthcheck: { path: "/health", port: 0 } })).toEqual([
      "healthcheck.port: 0 is not a port (1–65535)"
    ])
  })

  it("healthcheck: tcp is a port; exec is a non-empty command list (a plain string is refused)", () => {
    expect(valid({ ...minimal, healthcheck: { tcp: 5432 } }).healthcheck).toEqual({
      tcp: 5432, interval: "10s", timeout: "5s", retries: 3
    })
    expect(valid({ ...minimal, healthcheck: { exec: ["cat", "/tmp/ready"] } }).healthcheck?.exec).toEqual(["cat", "/tmp/ready"])
    expect(problemsWith({ healthcheck: { tcp: "db" } })).toEqual(['healthcheck.tcp: "db" is not a port (1–65535)'])
    expect(problemsWith({ healthcheck: { exec: "cat /tmp/ready" } })).toEqual([
      'healthcheck.exec: must be a list like ["cat", "/tmp/ready"] (for a shell line write ["sh", "-c", "..."]), got "cat /tmp/ready"'
    ])
    expect(problemsWith({ healthcheck: { exec: [] } })).toEqual([
      'healthcheck.exec: must not be empty, like ["cat", "/tmp/ready"]'
    ])
  })

  it("healthcheck: keys from other orchestrators get a hint", () => {
    expect(problemsWith({ healthcheck: { tcp: 80, command: ["cat", "/ready"] } })).toEqual([
      "healthcheck.command: unknown field (did you mean exec?)"
    ])
    expect(problemsWith({ healthcheck: { tcp: 80, httpGet: "/health" } })).toEqual([
      "healthcheck.httpGet: unknown field (did you mean path?)"
    ])
  })

  it("healthcheck: probeOf resolves the kind, the port and the timings in ms", () => {
    expect(probeOf(valid({ ...minimal, ports: [3000, 9000], healthcheck: { path: "/health" } }))).toEqual({
      kind: "http", path: "/health", port: 3000, command: [], intervalMs: 10_000, timeoutMs: 5_000, retries: 3
    })
    expect(probeOf(valid({ ...minimal, healthcheck: { tcp: 5432, interval: "500ms", timeout: 2, retries: 5 } }))).toEqual({
      kind: "tcp", path: "", port: 5432, command: [], intervalMs: 500, timeoutMs: 2_000, retries: 5
    })
    expect(probeOf(valid({ ...minimal, healthcheck: { exec: ["sh", "-c", "test -f /ready"] } }))).toMatchObject({
      kind: "exec", command: ["sh", "-c", "test -f /ready"]
    })
    expect(probeOf(valid(minimal))).toBeUndefined()
  })

  it("healthcheck: durations like 500ms, 10s, 5m, 2h, or bare seconds", () => {
    for (const interval of ["500ms", "10s", "5m", "2h", "30"]) {
      expect(valid({ ...minimal, healthcheck: { tcp: 80, interval } }).healthcheck?.interval).toBe(interval)
    }
    expect(valid({ ...minimal, healthcheck: { tcp: 80, timeout: 30 } }).healthcheck?.timeout).toBe("30")
    expect(problemsWith({ healthcheck: { path: "/h", interval: "10 sec" } })).toEqual([
      'healthcheck.interval: "10 sec" is not a duration like 500ms, 10s, 5m, 2h (a bare number means seconds)'
    ])
    expect(problemsWith({ healthcheck: { path: "/h", timeout: "0s" } })).toEqual([
      'healthcheck.timeout: "0s" must be longer than 0'
    ])
    expect(problemsWith({ healthcheck: { path: "/h", retries: 0 } })).toEqual([
      "healthcheck.retries: must be an integer ≥ 1, got 0"
    ])
  })

  it("resources: memory is digits plus k/m/g", () => {
    expect(problemsWith({ resources: { cpu: 0.5, memory: "512mb" } })).toEqual([
      'resources.memory: "512mb" is not a size like 512m, 1g, 256k'
    ])
    expect(problemsWith({ resources: { cpu: 0.5, memory: "512" } })).toEqual([
      'resources.memory: "512" is not a size like 512m, 1g, 256k'
    ])
    expect(valid({ ...minimal, resources: { cpu: 1, memory: "1G" } }).resources).toEqual({ cpu: 1, memory: "1G" })
  })

  it("resources: cpu is > 0, and both fields are required when the block is present", () => {
    expect(problemsWith({ resources: { cpu: 0, memory: "1g" } })).toEqual([
      "resources.cpu: must be a number of CPU cores > 0 (like 0.5), got 0"
    ])
    expect(problemsWith({ resources: { cpu: -1, memory: "1g" } })).toEqual([
      "resources.cpu: must be a number of CPU cores > 0 (like 0.5), got -1"
    ])
    expect(problemsWith({ resources: { memory: "1g" } })).toEqual(["resources.cpu: is required"])
    expect(problemsWith({ resources: { cpu: 0.25 } })).toEqual(["resources.memory: is required"])
  })

  it("network: public and https are booleans", () => {
    expect(problemsWith({ network: { public: "yes" } })).toEqual(['network.public: must be true or false, got "yes"'])
  })

  it("command: an optional list of strings", () => {
    expect(valid({ ...minimal, command: ["node", "server.js"] }).command).toEqual(["node", "server.js"])
    expect(problemsWith({ command: "npm start" })).toEqual([
      'command: must be a list of strings, like ["node", "server.js"], got "npm start"'
    ])
    expect(problemsWith({ command: [] })).toEqual([
      "command: must not be empty; leave command out to use the image's default"
    ])
  })

  it("unknown fields are rejected, with a hint for common typos", () => {
    expect(problemsWith({ replica: 3 })).toEqual(["replica: unknown field (did you mean replicas?)"])
    expect(problemsWith({ labels: {} })).toEqual(["labels: unknown field"])
    expect(problemsWith({ name: "api" })).toEqual(["name: unknown field (did you mean deployment.name?)"])
  })
})

describe("reporting", () => {
  it("reports every problem at once, each naming its field", () => {
    const all = problems({
      project: "Shop",
      deployment: { name: "api" },
      image: "shop:1",
      replicas: 0,
      ports: [8080, 0],
      restart: "on-failure",
      resources: { cpu: 0.5, memory: "512mb" }
    })
    expect(all).toEqual([
      'project: "Shop" must start with a lowercase letter or a digit',
      "replicas: must be an integer ≥ 1, got 0",
      "ports[1]: 0 is not a port (1–65535)",
      'restart: "on-failure" is not one of always, onfailure, never',
      'resources.memory: "512mb" is not a size like 512m, 1g, 256k'
    ])
  })

  it("SpecInvalid's message is the problems joined on one line", () => {
    const one = new SpecInvalid({ problems: ["replicas: must be an integer ≥ 1, got 0"] })
    expect(one.message).toBe("invalid deployment spec: replicas: must be an integer ≥ 1, got 0")
    const two = new SpecInvalid({ problems: ["a: x", "b: y"] })
    expect(two.message).toBe("invalid deployment spec (2 problems): a: x; b: y")
  })

  it("a spec that is not a mapping is one problem", () => {
    expect(problems(["nginx"])).toEqual(['spec: must be a mapping with project, deployment and image, got ["nginx"]'])
  })
})

describe("spec text (YAML or JSON)", () => {
  it("accepts YAML and JSON", () => {
    const yaml = parseSpecText("project: myapp\ndeployment:\n  name: api\nimage: nginx:latest\n")
    const json = parseSpecText(JSON.stringify(minimal))
    expect(Either.getOrThrow(yaml)).toEqual(Either.getOrThrow(json))
  })

  it("a YAML syntax error is one problem with its line and column", () => {
    expect(textProblems("project: myapp\ndeployment:\n  name: api\nimage: [nginx\n")).toEqual([
      expect.stringMatching(/^spec: line \d+, column \d+: /)
    ])
    expect(textProblems('{"project": "p",\n "project": "q"}')).toEqual([
      "spec: line 2, column 2: Map keys must be unique"
    ])
  })

  it("an empty file and a file of several documents are rejected", () => {
    expect(textProblems("")).toEqual(["spec: is empty"])
    expect(textProblems("# nothing here\n")).toEqual(["spec: is empty"])
    expect(textProblems("project: a\n---\nproject: b\n")).toEqual([
      "spec: the file holds 2 YAML documents; one file describes exactly one deployment"
    ])
  })
})

describe("parseMemory", () => {
  it("reads k, m, g as binary units, case-insensitive", () => {
    expect(parseMemory("512m")).toBe(536_870_912)
    expect(parseMemory("512M")).toBe(512 * 1024 * 1024)
    expect(parseMemory("1g")).toBe(1024 ** 3)
    expect(parseMemory("256k")).toBe(256 * 1024)
  })

  it("refuses what the spec refuses", () => {
    expect(parseMemory("512mb")).toBeUndefined()
    expect(parseMemory("512")).toBeUndefined()
    expect(parseMemory("512Mi")).toBeUndefined()
  })
})

describe("specHash", () => {
  const base = valid({ ...minimal, env: { A: "1", B: "2" }, ports: [80] })

  it("is the same for the same spec, whatever the env key order", () => {
    expect(specHash(valid({ ...minimal, env: { B: "2", A: "1" }, ports: [80] }))).toBe(specHash(base))
  })

  it("changes when a field that needs new containers changes", () => {
    const changed = [
      { image: "nginx:1.27" },
      { env: { A: "1", B: "3" } },
      { ports: [81] },
      { command: ["nginx", "-g", "daemon off;"] },
      { restart: "never" },
      { secrets: ["TOKEN"] },
      { volumes: [{ name: "data", mount: "/data" }] },
      { resources: { cpu: 1, memory: "1g" } }
    ]
    for (const fields of changed) {
      expect(specHash(valid({ ...minimal, env: { A: "1", B: "2" }, ports: [80], ...fields }))).not.toBe(specHash(base))
    }
  })

  it("ignores replicas and network, which change without replacing pods", () => {
    const same = valid({ ...minimal, env: { A: "1", B: "2" }, ports: [80], replicas: 5, network: { public: true } })
    expect(specHash(same)).toBe(specHash(base))
  })

  it("is what it was before health checks were hashed, for specs without one", () => {
    // values computed by the previous specHash: stored deployments are not seen as changed
    expect(specHash(base)).toBe("0d27985b2e2c1a6b")
    expect(specHash(valid(minimal))).toBe("ddc58807b3275a6d")
    expect(specHash(valid({ ...minimal, replicas: 3, restart: "never", resources: { cpu: 1, memory: "1g" } })))
      .toBe("0bec8fdbc8ffd06d")
  })

  it("changes with the health check, which each pod carries from its creation", () => {
    const probed = (healthcheck: Record<string, unknown>) => specHash(valid({ ...minimal, env: { A: "1", B: "2" }, ports: [80], healthcheck }))
    const http = probed({ path: "/health" })
    expect(http).not.toBe(specHash(base))
    expect(probed({ path: "/health", port: 80, interval: "10s" })).toBe(http)
    expect(probed({ path: "/ready" })).not.toBe(http)
    expect(probed({ path: "/health", retries: 4 })).not.toBe(http)
    expect(probed({ tcp: 80 })).not.toBe(http)
  })
})
