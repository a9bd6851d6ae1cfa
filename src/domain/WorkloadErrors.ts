// Expected failures of projects, deployments, pods and the scheduler. Each message is the line a
// user reads (CLI stderr, the API's {"error": ...}); the API maps each tag to one HTTP status.
import { Schema } from "effect"

/** A deployment spec broke one or more rules; every problem names its field (`replicas: ...`). */
export class SpecInvalid extends Schema.TaggedError<SpecInvalid>()("SpecInvalid", {
  problems: Schema.Array(Schema.String)
}) {
  override get message() {
    return this.problems.length === 1
      ? `invalid deployment spec: ${this.problems[0]}`
      : `invalid deployment spec (${this.problems.length} problems): ${this.problems.join("; ")}`
  }
}

/** A project or deployment name that is not DNS-safe (outside a spec, e.g. `helyos project create`). */
export class InvalidName extends Schema.TaggedError<InvalidName>()("InvalidName", {
  name: Schema.String,
  problem: Schema.String
}) {
  override get message() {
    return `invalid name '${this.name}': ${this.problem}`
  }
}

export class ProjectExists extends Schema.TaggedError<ProjectExists>()("ProjectExists", {
  name: Schema.String
}) {
  override get message() {
    return `project '${this.name}' already exists`
  }
}

export class ProjectNotFound extends Schema.TaggedError<ProjectNotFound>()("ProjectNotFound", {
  name: Schema.String
}) {
  override get message() {
    return `project '${this.name}' not found`
  }
}

export class ProjectNotEmpty extends Schema.TaggedError<ProjectNotEmpty>()("ProjectNotEmpty", {
  name: Schema.String,
  deployments: Schema.Number
}) {
  override get message() {
    return `project '${this.name}' still has ${this.deployments} deployment(s); remove them first with helyos rm`
  }
}

export class ProjectSuspended extends Schema.TaggedError<ProjectSuspended>()("ProjectSuspended", {
  name: Schema.String
}) {
  override get message() {
    return `project '${this.name}' is suspended; resume it with helyos project resume ${this.name}`
  }
}

export class DeploymentNotFound extends Schema.TaggedError<DeploymentNotFound>()("DeploymentNotFound", {
  project: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `deployment '${this.name}' not found in project '${this.project}'`
  }
}

/** `helyos restart` of a deployment that runs nothing (stopped, scaled to 0, or its project suspended). */
export class DeploymentStopped extends Schema.TaggedError<DeploymentStopped>()("DeploymentStopped", {
  project: Schema.String,
  name: Schema.String
}) {
  override get message() {
    return `deployment '${this.name}' in project '${this.project}' runs no pods to restart (stopped, scaled to 0 or its project suspended); start it with helyos scale, helyos deploy or helyos project resume`
  }
}

/** `helyos scale` with a count that is not a whole number ≥ 0 (scale may go to 0; a spec may not). */
export class InvalidReplicas extends Schema.TaggedError<InvalidReplicas>()("InvalidReplicas", {
  replicas: Schema.Unknown
}) {
  override get message() {
    return `replicas must be a whole number ≥ 0, got ${JSON.stringify(this.replicas) ?? String(this.replicas)}`
  }
}

/** The scheduler found no node for a pod; `reason` says why (per node, abbreviated on big clusters). */
export class NoEligibleNode extends Schema.TaggedError<NoEligibleNode>()("NoEligibleNode", {
  reason: Schema.String
}) {
  override get message() {
    return `no node can run this pod: ${this.reason}`
  }
}

/** `helyos cluster config set <key> <value>` with a key or value the scheduler does not know. */
export class InvalidSchedulerSetting extends Schema.TaggedError<InvalidSchedulerSetting>()("InvalidSchedulerSetting", {
  key: Schema.String,
  value: Schema.String,
  /** what the key accepts; absent when the key itself is unknown */
  expected: Schema.optional(Schema.String)
}) {
  override get message() {
    return this.expected === undefined
      ? `unknown config key '${this.key}' (known: scheduler, scheduler.weights.cpu, scheduler.weights.memory, scheduler.weights.load, scheduler.weights.failure)`
      : `invalid value '${this.value}' for ${this.key}: expected ${this.expected}`
  }
}
