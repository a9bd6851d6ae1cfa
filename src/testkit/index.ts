// helyos/testkit: a whole Helyos cluster in virtual time for tests — the real master, simulated
// workers with the real pod runtime over in-memory engines, faults as handles, seeded fault runs.
export {
  type Cluster,
  type ClusterOptions,
  make,
  type Master,
  SimCluster,
  type SimConfig,
  type SimContainer,
  type Worker,
  type WorkerSpec,
  type WorkerState
} from "./Cluster.js"
export type { IneligiblePlacement, MasterServices, SimEvent } from "./SimMaster.js"
export * as FaultRuns from "./FaultRuns.js"
export * as Invariants from "./Invariants.js"
