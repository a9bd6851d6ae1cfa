// The one `eventually` of Effect tests: poll until a condition holds, or fail saying what never happened
// and the last value seen. It waits in real time even under TestClock (virtual time never moves by
// itself, so background fibers are given turns instead), which makes it right for both kinds of test.
import { Clock, Duration, Effect } from "effect"

export interface EventuallyOptions {
  /** what is awaited, for the failure message ("w1 heartbeats 3 times") */
  readonly what?: string
  /** real time to give up after; default 5 s */
  readonly within?: Duration.DurationInput
}

const live = Clock.make()
const pause = Effect.sleep("20 millis").pipe(Effect.withClock(live))
// enough turns for forked fibers to run what needs no clock (converge loops, event handlers)
const TURNS = 50

/** Poll `probe` until `check` holds and return that value. */
export function eventually<A, E, R>(
  probe: Effect.Effect<A, E, R>,
  check: (a: A) => boolean,
  options?: EventuallyOptions
): Effect.Effect<A, E | Error, R>
/** Poll `condition` until it is true. */
export function eventually<E, R>(condition: Effect.Effect<boolean, E, R>, options?: EventuallyOptions): Effect.Effect<boolean, E | Error, R>
export function eventually<A, E, R>(
  probe: Effect.Effect<A, E, R>,
  checkOrOptions?: ((a: A) => boolean) | EventuallyOptions,
  maybeOptions?: EventuallyOptions
): Effect.Effect<A, E | Error, R> {
  const check = typeof checkOrOptions === "function" ? checkOrOptions : (a: A) => a === true
  const options = (typeof checkOrOptions === "function" ? maybeOptions : checkOrOptions) ?? {}
  const within = Duration.toMillis(Duration.decode(options.within ?? "5 seconds"))
  return Effect.gen(function*() {
    const deadline = live.unsafeCurrentTimeMillis() + within
    for (let turn = 0; ; turn++) {
      const value = yield* probe
      if (check(value)) return value
      if (live.unsafeCurrentTimeMillis() > deadline) {
        const what = options.what === undefined ? "the condition held" : options.what
        return yield* Effect.fail(new Error(`timed out after ${Duration.format(Duration.millis(within))} waiting until ${what}; last value: ${show(value)}`))
      }
      yield* turn < TURNS ? Effect.yieldNow() : pause
    }
  })
}

const show = (value: unknown): string => {
  try {
    return JSON.stringify(value)?.slice(0, 500) ?? String(value)
  } catch {
    return String(value)
  }
}
