// The worker's reconnect backoff: 1 s doubling up to a cap, jittered, as a Schedule,
// plus a small stepper the agent uses to learn the next delay (to log it) and to reset it.
import { Clock, Duration, Effect, Ref, Schedule } from "effect"

/** First delay after a failure. */
export const BACKOFF_BASE = Duration.seconds(1)
/** Schedule.jittered spreads every delay over [80 %, 120 %] of its nominal value. */
export const JITTER_MIN = 0.8
export const JITTER_MAX = 1.2

/** Nominal (un-jittered) delay before attempt n (0-based): 1 s, 2 s, 4 s, … capped at `cap`. */
export const nominalDelay = (attempt: number, cap: Duration.DurationInput): Duration.Duration =>
  Duration.min(Duration.times(BACKOFF_BASE, 2 ** attempt), Duration.decode(cap))

/**
 * 1 s doubling, capped at `cap`, then jittered: the cap bounds the nominal delay and the jitter
 * spreads it by ±20 % so that workers cut off by one master restart do not all come back in the
 * same instant. It never gives up. The output is the delay actually chosen.
 */
export const reconnectSchedule = (cap: Duration.DurationInput): Schedule.Schedule<Duration.Duration> => {
  const max = Duration.decode(cap)
  return Schedule.exponential(BACKOFF_BASE, 2).pipe(
    // min() also tames 2^n overflowing to Infinity after a very long outage
    Schedule.modifyDelay((_, delay) => Duration.min(delay, max)),
    Schedule.jittered,
    // whole milliseconds read better in logs ("reconnecting in 1.873s")
    Schedule.modifyDelay((_, delay) => Duration.millis(Math.round(Duration.toMillis(delay)))),
    Schedule.delays
  )
}

/** A running backoff: one per worker agent, reset once a connection has proven healthy. */
export interface ReconnectBackoff {
  /** Advance the schedule and return the delay to wait next (without waiting). */
  readonly nextDelay: Effect.Effect<Duration.Duration>
  /** Advance the schedule and wait its delay (Clock-based); returns the delay waited. */
  readonly wait: Effect.Effect<Duration.Duration>
  /** Start again from 1 s. */
  readonly reset: Effect.Effect<void>
}

export const makeReconnectBackoff = (cap: Duration.DurationInput): Effect.Effect<ReconnectBackoff> =>
  Effect.gen(function*() {
    const schedule = reconnectSchedule(cap)
    const state = yield* Ref.make<unknown>(schedule.initial)
    const nextDelay = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const [next, delay] = yield* schedule.step(now, undefined, yield* Ref.get(state))
      yield* Ref.set(state, next)
      return delay
    })
    return {
      nextDelay,
      wait: Effect.tap(nextDelay, (delay) => Effect.sleep(delay)),
      reset: Ref.set(state, schedule.initial)
    }
  })
