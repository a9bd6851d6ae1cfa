// Every `helyos` command: its name, options, arguments and one-line summary, from which the parser
// reads argv and Help renders --help. Each `run` imports the module that implements the command only
// when that command runs (the bundle splits there), so `helyos nodes` never loads `top` or `login`.
import {
  arg,
  choice,
  choiceArg,
  command,
  flag,
  type Group,
  group,
  integer,
  integerArg,
  optionalArg,
  text,
  withDefault
} from "./CommandLine.js"

const json = flag("print the API's JSON")
const project = text("NAME", "the project (default: the context's project, else default)", "p")
const projectFilter = text("NAME", "only this project (default: every project)", "p")
const projectRequired = text("NAME", "the project the secret belongs to (required)", "p")
const yes = flag("do not ask for confirmation", "y")
const deploymentName = arg("NAME", "the deployment's name")

// ---------------------------------------------------------------------------------------------
// Workloads

const init = command({
  name: "init",
  summary: "Scaffold NAME/app.yaml, a deployment spec to edit and deploy",
  details: [
    "Writes NAME/app.yaml with project and deployment NAME and the image, plus commented examples of " +
    "ports, env, network, healthcheck, volumes and restart. Without NAME it asks on the terminal. It " +
    "never overwrites an existing app.yaml."
  ],
  args: { name: optionalArg("NAME", "project and deployment name (lowercase letters, digits, '-'); asked when omitted") },
  options: { image: text("IMAGE", "the container image (default: nginx:alpine)") },
  globals: [],
  run: (input) => import("./InitCommand.js").then((m) => m.init(input))
})

const deploy = command({
  name: "deploy",
  summary: "Apply a deployment spec (YAML or JSON) and wait until its pods run",
  details: ["The spec is validated before anything is sent; every problem names its field."],
  args: { file: arg("FILE", "the deployment spec (YAML or JSON)") },
  options: { timeout: withDefault(integer("SECS", "seconds to wait for every pod to run"), 60), json },
  run: (input, globals) => import("./DeployCommand.js").then((m) => m.deploy(input, globals))
})

const pods = command({
  name: "pods",
  summary: "List pods: node, status, restarts, last exit, IP, age",
  options: { project: projectFilter, json },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.pods(input, globals))
})

const deployments = command({
  name: "deployments",
  summary: "List deployments: status, ready/desired replicas, image",
  options: { project: projectFilter, json },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.deployments(input, globals))
})

const logs = command({
  name: "logs",
  summary: "Print a deployment's logs as `<pod> <line>` (-f follows)",
  args: { name: deploymentName },
  options: {
    project,
    tail: integer("N", "start from the last N lines of each pod"),
    follow: flag("keep streaming new lines", "f"),
    pod: text("NAME", "one pod by name (e.g. api-0)")
  },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.logs(input, globals))
})

const scale = command({
  name: "scale",
  summary: "Set a deployment's replica count",
  args: { name: deploymentName, replicas: integerArg("REPLICAS", "the desired number of pods (0 allowed)") },
  options: { project, json },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.scale(input, globals))
})

const stop = command({
  name: "stop",
  summary: "Stop every pod of a deployment, keeping its definition",
  args: { name: deploymentName },
  options: { project },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.stop(input, globals))
})

const restart = command({
  name: "restart",
  summary: "Replace a deployment's pods with fresh ones, one at a time",
  details: ["New before old; restart counters start again, so this is the way out of a crash loop."],
  args: { name: deploymentName },
  options: { project, json },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.restart(input, globals))
})

const rm = command({
  name: "rm",
  summary: "Remove a deployment: its pods and its definition",
  args: { name: deploymentName },
  options: { project, yes },
  run: (input, globals) => import("./WorkloadsCommands.js").then((m) => m.rm(input, globals))
})

const projectName = arg("NAME", "the project's name")
const projects = group("project", "Projects, the namespaces of deployments: list, create, suspend, resume, delete", [
  command({
    name: "list",
    aliases: ["ls"],
    summary: "List projects",
    options: { json },
    run: (input, globals) => import("./ProjectCommands.js").then((m) => m.list(input, globals))
  }),
  command({
    name: "create",
    summary: "Create an empty project (deploying also creates it)",
    args: { name: projectName },
    run: (input, globals) => import("./ProjectCommands.js").then((m) => m.create(input, globals))
  }),
  command({
    name: "suspend",
    summary: "Stop every pod of a project and refuse deploys until resumed",
    args: { name: projectName },
    run: (input, globals) => import("./ProjectCommands.js").then((m) => m.suspend(input, globals))
  }),
  command({
    name: "resume",
    summary: "Reactivate a suspended project (its deployments start again)",
    args: { name: projectName },
    run: (input, globals) => import("./ProjectCommands.js").then((m) => m.resume(input, globals))
  }),
  command({
    name: "delete",
    summary: "Delete an empty project (remove its deployments first)",
    args: { name: projectName },
    options: { yes },
    run: (input, globals) => import("./ProjectCommands.js").then((m) => m.remove(input, globals))
  })
])

const secretName = arg("NAME", "the secret's name, an environment variable name ([A-Za-z_][A-Za-z0-9_]*)")
const secrets = group("secret", "Per-project secrets, given to pods as environment variables", [
  command({
    name: "set",
    summary: "Create or overwrite a secret (--value, a hidden prompt, or one line on stdin)",
    args: { name: secretName },
    options: {
      project: projectRequired,
      value: text("VALUE", "the value (visible in shell history and ps: prefer the prompt or stdin)")
    },
    run: (input, globals) => import("./SecretCommands.js").then((m) => m.set(input, globals))
  }),
  command({
    name: "list",
    aliases: ["ls"],
    summary: "List a project's secret names (values are never shown)",
    options: { project: projectRequired, json },
    run: (input, globals) => import("./SecretCommands.js").then((m) => m.list(input, globals))
  }),
  command({
    name: "rm",
    summary: "Delete a secret",
    args: { name: secretName },
    options: { project: projectRequired },
    run: (input, globals) => import("./SecretCommands.js").then((m) => m.remove(input, globals))
  })
])

// ---------------------------------------------------------------------------------------------
// Watching

const status = command({
  name: "status",
  summary: "Show the cluster at a glance: mode, nodes, projects, deployments, pods",
  options: { json },
  run: (input, globals) => import("./StatusCommand.js").then((m) => m.status(input, globals))
})

const top = command({
  name: "top",
  summary: "Live view of nodes, pods and events (? lists the keys); a snapshot when piped",
  details: [
    "Keys: Tab / Shift+Tab cycle panels, j/k or Down/Up move, l or Enter shows the selected pod's logs, " +
    "s scales its deployment, d removes its deployment (asks y/N first), ? toggles help, q or Esc quits."
  ],
  options: { once: flag("print one snapshot and exit (what a pipe gets anyway)") },
  run: (input, globals) => import("./TopCommand.js").then((m) => m.top(input, globals))
})

const events = command({
  name: "events",
  summary: "Print the cluster's recent events (-f: then follow them until Ctrl-C)",
  options: {
    limit: integer("N", "how many recent events to show first (default: 100)"),
    follow: flag("then keep printing new events until Ctrl-C", "f"),
    json
  },
  run: (input, globals) => import("./EventsCommands.js").then((m) => m.events(input, globals))
})

// ---------------------------------------------------------------------------------------------
// Cluster

const nodes = command({
  name: "nodes",
  summary: "List the cluster's nodes: role, status, CPU and memory use, pods, heartbeat",
  options: { json: flag("print the API's JSON (an array of nodes)") },
  run: (input, globals) => import("./NodesCommands.js").then((m) => m.nodes(input, globals))
})

const nodeName = arg("NAME", "the node's name")
const node = group("node", "Drain, undrain or remove one node", [
  command({
    name: "drain",
    summary: "Stop placing pods on a node and move its pods (required before `node rm`)",
    args: { name: nodeName },
    run: (input, globals) => import("./NodesCommands.js").then((m) => m.drain(input, globals))
  }),
  command({
    name: "undrain",
    summary: "Let pods be placed on a drained node again",
    args: { name: nodeName },
    run: (input, globals) => import("./NodesCommands.js").then((m) => m.undrain(input, globals))
  }),
  command({
    name: "rm",
    summary: "Remove a drained node from the cluster (its worker is told and exits)",
    args: { name: nodeName },
    options: { force: flag("remove the node even if it is not drained") },
    run: (input, globals) => import("./NodesCommands.js").then((m) => m.remove(input, globals))
  })
])

const cluster = group("cluster", "Cluster-wide settings: the join token and the scheduler", [
  group("token", "The join token workers present to the master", [
    command({
      name: "show",
      summary: "Explain that the join token is shown only once (rotate makes a new one)",
      run: (_input, globals) => import("./ClusterCommands.js").then((m) => m.showToken(globals))
    }),
    command({
      name: "rotate",
      summary: "Make a new join token, printed once (joined workers keep running)",
      options: { ttl: text("DURATION", "the new token expires after this long (e.g. 30m, 1h, 7d; default: never)") },
      run: (input, globals) => import("./ClusterCommands.js").then((m) => m.rotateToken(input, globals))
    })
  ]),
  group("config", "Cluster configuration: the scheduler", [
    command({
      name: "get-scheduler",
      summary: "Print the scheduler's strategy and weights",
      run: (_input, globals) => import("./SchedulerCommands.js").then((m) => m.getScheduler(globals))
    }),
    command({
      name: "set",
      summary: "Change the scheduler for future placements: set scheduler binpack",
      args: {
        key: arg("KEY", "scheduler | scheduler.weights.<cpu|memory|load|failure>"),
        value: arg("VALUE", "spread | binpack, or a number for a weight")
      },
      run: (input, globals) => import("./SchedulerCommands.js").then((m) => m.setScheduler(input, globals))
    })
  ])
])

// ---------------------------------------------------------------------------------------------
// Access

const login = command({
  name: "login",
  summary: "Log in to a helyosd: pin its CA, check the token, save a context",
  args: { server: arg("SERVER", "HOST, HOST:PORT or http(s)://HOST[:PORT] (a bare host gets https:// and :6443)") },
  options: {
    name: text("NAME", "context name (default: from the host, e.g. helyos-acme-internal)"),
    token: text("TOKEN", "API token nxa-api_… (else --token-stdin, $HELYOS_API_TOKEN, or a prompt)"),
    tokenStdin: flag("read the token from the first line of stdin"),
    caFile: text("PEM", "pin this CA certificate file (nothing is fetched)"),
    caFingerprint: text("SHA256", "pin the daemon's CA only if its SHA-256 is this (case, colons, sha256: ignored)"),
    insecureSkipTlsVerify: flag("do not verify the server at all (warns)"),
    project: text("NAME", "the context's default project"),
    noSetCurrent: flag("keep the current context as it is")
  },
  run: (input, globals) => import("./LoginCommands.js").then((m) => m.login(input, globals))
})

const logout = command({
  name: "logout",
  summary: "Remove the token of a context (default: the active one), keeping its server and CA",
  args: { name: optionalArg("NAME", "the context (default: the active one)") },
  globals: ["context"],
  run: (input, globals) => import("./LoginCommands.js").then((m) => m.logout(input, globals))
})

const whoami = command({
  name: "whoami",
  summary: "Show the API token in use: name, scope, expiry, last use",
  options: { json },
  run: (input, globals) => import("./AuthCommands.js").then((m) => m.whoami(input, globals))
})

const tokenName = arg("NAME", "the token's name (lowercase letters, digits, '-')")
const auth = group("auth", "API tokens for the REST API: create, list, revoke", [
  group("token", "Named API tokens: create, ls, revoke", [
    command({
      name: "create",
      summary: "Mint a named API token (the secret is shown once)",
      args: { name: tokenName },
      options: {
        ttl: text("DURATION", "lifetime: seconds (3600) or 90m, 12h, 30d (default: never expires)"),
        scope: withDefault(choice(["admin", "read"], "admin: everything; read: GET requests only"), "admin"),
        json
      },
      run: (input, globals) => import("./AuthCommands.js").then((m) => m.createToken(input, globals))
    }),
    command({
      name: "ls",
      aliases: ["list"],
      summary: "List API tokens (never their secrets)",
      options: { json },
      run: (input, globals) => import("./AuthCommands.js").then((m) => m.listTokens(input, globals))
    }),
    command({
      name: "revoke",
      summary: "Revoke an API token: refused from now on (the name can be reused)",
      args: { name: tokenName },
      run: (input, globals) => import("./AuthCommands.js").then((m) => m.revokeToken(input, globals))
    })
  ])
])

const contextName = (what: string) => arg("NAME", what)
const context = group("context", "Contexts: named servers with their token and pinned CA", [
  command({
    name: "ls",
    aliases: ["list"],
    summary: "List contexts (* marks the active one; TLS is pinned, system, insecure or http)",
    globals: ["context"],
    run: (_input, globals) => import("./ContextCommands.js").then((m) => m.list(globals))
  }),
  command({
    name: "use",
    summary: "Make a context the current one",
    args: { name: contextName("the context to make current") },
    globals: [],
    run: (input) => import("./ContextCommands.js").then((m) => m.use(input))
  }),
  command({
    name: "current",
    summary: "Print the active context's name and server",
    globals: ["context"],
    run: (_input, globals) => import("./ContextCommands.js").then((m) => m.current(globals))
  }),
  command({
    name: "rm",
    summary: "Remove a context with its token and pinned CA",
    args: { name: contextName("the context to remove") },
    globals: [],
    run: (input) => import("./ContextCommands.js").then((m) => m.remove(input))
  }),
  command({
    name: "rename",
    summary: "Rename a context",
    args: { old: arg("OLD", "the context's name"), next: arg("NEW", "its new name") },
    globals: [],
    run: (input) => import("./ContextCommands.js").then((m) => m.rename(input))
  }),
  command({
    name: "set",
    summary: "Create or edit a context's server and default project without logging in",
    args: { name: contextName("the context to edit (created when missing; then --server is required)") },
    options: {
      server: text("URL", "the context's daemon URL (a bare host gets https:// and :6443)"),
      project: text("NAME", "its default project (\"\" removes it)")
    },
    globals: [],
    run: (input) => import("./ContextCommands.js").then((m) => m.set(input))
  })
])

// ---------------------------------------------------------------------------------------------
// Shell

const completions = command({
  name: "completions",
  summary: "Print the shell completion script for bash, zsh or fish",
  details: [
    "bash: source <(helyos completions bash), or save it in /etc/bash_completion.d/helyos. zsh: " +
    "source <(helyos completions zsh). fish: helyos completions fish | source."
  ],
  args: { shell: choiceArg("SHELL", ["bash", "zsh", "fish"], "bash, zsh or fish") },
  globals: [],
  run: (input) => import("./CompletionsCommand.js").then((m) => m.completions(input))
})

/** The whole CLI. */
export const helyos: Group = {
  _tag: "Group",
  name: "helyos",
  summary: "The Helyos CLI: deploy and watch containers on helyosd, one host or a master with workers.",
  sections: [
    { title: "Workloads", commands: [init, deploy, pods, deployments, logs, scale, stop, restart, rm, projects, secrets] },
    { title: "Watching", commands: [status, top, events] },
    { title: "Cluster", commands: [nodes, node, cluster] },
    { title: "Access", commands: [login, logout, whoami, auth, context] },
    { title: "Shell", commands: [completions] }
  ]
}
