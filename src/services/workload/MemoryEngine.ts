// The control side of the in-memory engine (ContainerRuntimeMemory): what a test does that a real
// engine would do on its own — exits, OOM kills, outages, slow probes — and what it looks at afterwards.
import { Context, type Effect } from "effect"
import type { ContainerInfo, ContainerSpec, ContainerState, NetworkOptions } from "./ContainerRuntime.js"

export interface FakeContainer extends ContainerInfo {
  /** what it was run with (undefined for seeded containers) */
  readonly spec: ContainerSpec | undefined
}

/** One container placed directly into the fake, e.g. another node's or one left from before a restart. */
export interface SeedContainer {
  readonly name: string
  readonly image?: string
  readonly labels: Readonly<Record<string, string>>
  readonly state?: ContainerState
  readonly exitCode?: number
  readonly network?: string
}

export class MemoryEngine extends Context.Tag("helyos/MemoryEngine")<MemoryEngine, {
  /** every container, whichever node it belongs to */
  readonly containers: Effect.Effect<ReadonlyArray<FakeContainer>>
  /** the networks that exist now, in creation order */
  readonly networks: Effect.Effect<ReadonlyArray<string>>
  /** what a network was created with (undefined: it does not exist) */
  readonly networkOptions: (name: string) => Effect.Effect<NetworkOptions | undefined>
  /** Make creating this network fail with NetworkUnavailable (undefined: succeed again). */
  readonly failNetwork: (name: string, detail: string | undefined) => Effect.Effect<void>
  /** operations performed, in order: "run <name>", "stop <id>", "remove <id>", "pull <ref>",
   * "create network <name>", "remove network <name>" */
  readonly calls: Effect.Effect<ReadonlyArray<string>>
  readonly addImage: (ref: string) => Effect.Effect<void>
  readonly seed: (container: SeedContainer) => Effect.Effect<string>
  /** The main process of a running container ends. */
  readonly exit: (id: string, exitCode: number, options?: { readonly oomKilled?: boolean }) => Effect.Effect<void>
  readonly writeLog: (id: string, text: string) => Effect.Effect<void>
  /** Make runs of this container name fail (undefined: succeed again). */
  readonly failRun: (name: string, detail: string | undefined) => Effect.Effect<void>
  /** Simulate the engine going away (every call fails with RuntimeUnavailable) and coming back. */
  readonly setAvailable: (available: boolean) => Effect.Effect<void>
  /**
   * What `exec` does in containers of this name from now on (undefined: exit 0 at once). The
   * behaviour may take time (or never end) on the Clock, to play a slow or hung probe.
   */
  readonly onExec: (name: string, behaviour: ExecBehaviour | undefined) => Effect.Effect<void>
}>() {}

/** A fake exec: the exit code of `command`, possibly after a while. */
export type ExecBehaviour = (command: ReadonlyArray<string>) => Effect.Effect<number>

