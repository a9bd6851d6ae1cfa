// What a node is told to run: each pod's container as the master resolved it (its secrets already in
// env), and a node's full desired set under a generation. Master and worker share these shapes; only
// the gRPC edge (layers/cluster/grpc/Wire) knows their protobuf form.
import { Schema } from "effect"

/** A probe run by the node that runs the pod, against the pod's container. */
export const HealthCheck = Schema.Struct({
  /** http | tcp | exec (the node refuses any other kind as an invalid probe) */
  kind: Schema.String,
  /** http: GET http://<container-ip>:<port><path>, any 2xx is healthy */
  path: Schema.String,
  /** http/tcp: the container port */
  port: Schema.Number,
  /** exec: run in the container, exit 0 is healthy */
  command: Schema.Array(Schema.String),
  intervalMs: Schema.Number,
  timeoutMs: Schema.Number,
  /** consecutive failures that make the pod unhealthy (then it is restarted) */
  retries: Schema.Number
})
export interface HealthCheck extends Schema.Schema.Type<typeof HealthCheck> {}

/** A named volume (name set, hostPath empty) or a bind mount of a host path (hostPath set, name empty). */
export const Volume = Schema.Struct({
  name: Schema.String,
  hostPath: Schema.String,
  mount: Schema.String,
  readonly: Schema.Boolean
})
export interface Volume extends Schema.Schema.Type<typeof Volume> {}

/** What a pod's container runs with: shared by the template stored per pod and the assignment sent to its node. */
export const containerFields = {
  image: Schema.String,
  command: Schema.Array(Schema.String),
  /** the spec's env (in an assignment: with the project's secrets, decrypted, on top) */
  env: Schema.Record({ key: Schema.String, value: Schema.String }),
  ports: Schema.Array(Schema.Number),
  /** host ports are bound only for a single-replica deployment; decided when the pod is created */
  publishPorts: Schema.Boolean,
  volumes: Schema.Array(Volume),
  cpu: Schema.Number,
  memoryBytes: Schema.Number,
  restartPolicy: Schema.String
}

/** One pod as its node runs it. */
export const PodAssignment = Schema.Struct({
  podId: Schema.String,
  containerName: Schema.String,
  project: Schema.String,
  deployment: Schema.String,
  replicaIndex: Schema.Number,
  ...containerFields,
  /** absent: no probe */
  healthcheck: Schema.optional(HealthCheck)
})
export interface PodAssignment extends Schema.Schema.Type<typeof PodAssignment> {}

/**
 * The full desired pod set of one node. The node converges to it: starts what is missing, removes
 * what is not listed (that one rule gives assignment, scale-down and fencing). A node never applies
 * a generation older than the one it has.
 */
export const Assignment = Schema.Struct({
  generation: Schema.Number,
  pods: Schema.Array(PodAssignment)
})
export interface Assignment extends Schema.Schema.Type<typeof Assignment> {}
