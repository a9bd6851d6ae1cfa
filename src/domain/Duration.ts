// Durations as users type them: "500ms", "5s", "1m", "2h", "30d"; a bare number means seconds.
import { Duration, Either } from "effect"

const pattern = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/

const unitMillis = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Parse a user-typed duration; Left carries the message a user reads. */
export const parseDuration = (input: string): Either.Either<Duration.Duration, string> => {
  const match = pattern.exec(input.trim())
  if (match === null) {
    return Either.left(`"${input}" is not a duration like 500ms, 5s, 1m, 2h or 30d`)
  }
  const amount = Number(match[1])
  const unit = (match[2] ?? "s") as keyof typeof unitMillis
  return Either.right(Duration.millis(Math.round(amount * unitMillis[unit])))
}

/** Render a duration the way users type it (1500 -> "1.5s", 60000 -> "1m"). */
export const formatDuration = (duration: Duration.Duration): string => {
  const ms = Duration.toMillis(duration)
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`
  if (ms % 1_000 === 0) return `${ms / 1_000}s`
  return ms < 1_000 ? `${ms}ms` : `${ms / 1_000}s`
}
