// Virtual time for a whole simulated cluster: a Clock that is also a TestClock (so `TestClock.adjust`
// drives it), and a Scheduler whose queue the clock drains to the last task before it moves on.
// Effect's own TestClock waits for the runtime to go quiet with real timers (setTimeout 0) on every
// sleep it ends, a millisecond or more each: a cluster of workers sleeps thousands of times a virtual
// minute. Here every fiber of the simulation runs on one scheduler, so "quiet" is an empty queue.
import { Chunk, Clock, Duration, Effect, type Fiber, FiberRef, type Scheduler } from "effect"

interface Sleeper {
  readonly at: number
  readonly seq: number
  readonly wake: () => void
  cancelled: boolean
}

/** A binary heap of sleepers, earliest first (then in the order they fell asleep). */
class SleeperHeap {
  private readonly items: Array<Sleeper> = []
  get size(): number {
    return this.items.length
  }
  private less(a: Sleeper, b: Sleeper): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq)
  }
  push(s: Sleeper): void {
    const items = this.items
    items.push(s)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (!this.less(items[i]!, items[parent]!)) break
      ;[items[i], items[parent]] = [items[parent]!, items[i]!]
      i = parent
    }
  }
  peek(): Sleeper | undefined {
    return this.items[0]
  }
  pop(): Sleeper | undefined {
    const items = this.items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const l = 2 * i + 1
      const r = l + 1
      let m = i
      if (l < items.length && this.less(items[l]!, items[m]!)) m = l
      if (r < items.length && this.less(items[r]!, items[m]!)) m = r
      if (m === i) break
      ;[items[i], items[m]] = [items[m]!, items[i]!]
      i = m
    }
    return top
  }
  /** Times of the live sleepers, in no particular order. */
  times(): Array<number> {
    return this.items.filter((s) => !s.cancelled).map((s) => s.at)
  }
}

/**
 * The simulation's scheduler: a FIFO queue drained synchronously, by the clock between two instants
 * and, when a task is queued while nobody drains (a test's own step), on the next microtask.
 * One queue and a fixed order make a run repeatable: the same inputs interleave the same way.
 */
export class VirtualScheduler implements Scheduler.Scheduler {
  private tasks: Array<Scheduler.Task> = []
  private head = 0
  private draining = false
  private flushQueued = false
  /** tasks run since the simulation started (a measure of work for benches) */
  ran = 0

  shouldYield(fiber: Fiber.RuntimeFiber<unknown, unknown>): number | false {
    return fiber.currentOpCount > fiber.getFiberRef(FiberRef.currentMaxOpsBeforeYield)
      ? fiber.getFiberRef(FiberRef.currentSchedulingPriority)
      : false
  }

  scheduleTask(task: Scheduler.Task): void {
    this.tasks.push(task)
    if (this.draining || this.flushQueued) return
    this.flushQueued = true
    queueMicrotask(() => {
      this.flushQueued = false
      this.drain()
    })
  }

  /** Run every queued task, and every task they queue, until none is left. */
  drain(): void {
    if (this.draining) return
    this.draining = true
    try {
      while (this.head < this.tasks.length) {
        const task = this.tasks[this.head++]!
        this.ran++
        try {
          task()
        } catch (error) {
          // a task never throws in a healthy runtime; do not lose the queue over one that did
          queueMicrotask(() => {
            throw error
          })
        }
        if (this.head > 8192 && this.head * 2 > this.tasks.length) {
          this.tasks = this.tasks.slice(this.head)
          this.head = 0
        }
      }
    } finally {
      this.tasks = []
      this.head = 0
      this.draining = false
    }
  }
}

/**
 * The simulation's clock, starting at `startMs` (epoch ms). It implements TestClock's interface, so
 * `TestClock.adjust("31 seconds")` in a test advances it: every sleeper due by then wakes at its own
 * instant, in order, and the scheduler runs everything that follows before time moves again.
 * Time never moves by itself.
 */
export class VirtualClock implements Clock.Clock {
  readonly [Clock.ClockTypeId]: Clock.ClockTypeId = Clock.ClockTypeId
  private nowMs: number
  private seq = 0
  private readonly heap = new SleeperHeap()
  /** an adjust waiting for the one in progress (two fibers may adjust at once) */
  private driving: Promise<void> = Promise.resolve()

  constructor(readonly scheduler: VirtualScheduler, startMs: number) {
    this.nowMs = startMs
  }

  unsafeCurrentTimeMillis(): number {
    return this.nowMs
  }
  unsafeCurrentTimeNanos(): bigint {
    return BigInt(Math.round(this.nowMs * 1_000_000))
  }
  readonly currentTimeMillis: Effect.Effect<number> = Effect.sync(() => this.nowMs)
  readonly currentTimeNanos: Effect.Effect<bigint> = Effect.sync(() => this.unsafeCurrentTimeNanos())

  sleep(duration: Duration.Duration): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      const ms = Duration.toMillis(duration)
      if (!(ms > 0)) {
        resume(Effect.void)
        return
      }
      const sleeper: Sleeper = { at: this.nowMs + ms, seq: this.seq++, wake: () => resume(Effect.void), cancelled: false }
      this.heap.push(sleeper)
      return Effect.sync(() => {
        sleeper.cancelled = true
      })
    })
  }

  /** Move time to `endMs` synchronously, waking sleepers instant by instant (never backwards). */
  advanceTo(endMs: number): void {
    this.scheduler.drain()
    for (;;) {
      const next = this.heap.peek()
      if (next === undefined || next.at > endMs) break
      this.nowMs = Math.max(this.nowMs, next.at)
      // everyone due at this instant wakes, then the world settles before the next instant
      while (this.heap.peek() !== undefined && this.heap.peek()!.at <= this.nowMs) {
        const sleeper = this.heap.pop()!
        if (!sleeper.cancelled) sleeper.wake()
      }
      this.scheduler.drain()
    }
    this.nowMs = Math.max(this.nowMs, endMs)
    this.scheduler.drain()
  }

  /** The same as advanceTo, as an effect that returns once everything due has run. */
  private drive(target: (now: number) => number): Effect.Effect<void> {
    return Effect.async<void>((resume) => {
      // outside any fiber's run: the drain below runs fibers, never inside another one's step
      const run = () => {
        this.advanceTo(target(this.nowMs))
        resume(Effect.void)
      }
      this.driving = this.driving.then(run, run)
    })
  }

  adjust(duration: Duration.DurationInput): Effect.Effect<void> {
    const ms = Duration.toMillis(Duration.decode(duration))
    return this.drive((now) => now + ms)
  }

  adjustWith(duration: Duration.DurationInput) {
    return <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
      Effect.zipLeft(effect, this.adjust(duration), { concurrent: true })
  }

  setTime(time: number): Effect.Effect<void> {
    return this.drive(() => time)
  }

  /** Setting the time back is not supported: the saved effect moves it to where it was only if that is ahead. */
  get save(): Effect.Effect<Effect.Effect<void>> {
    return Effect.sync(() => {
      const saved = this.nowMs
      return this.setTime(saved)
    })
  }

  readonly sleeps: Effect.Effect<Chunk.Chunk<number>> = Effect.sync(() => Chunk.fromIterable(this.heap.times().sort((a, b) => a - b)))

  /** Sleepers waiting (cancelled ones included until their time comes): a measure for benches. */
  get pendingSleeps(): number {
    return this.heap.size
  }
}
