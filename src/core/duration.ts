import { InvalidDurationError } from '../errors.js'

/** A duration: milliseconds as a number, or a human string such as `'250ms'`, `'30s'`, `'5m'`, `'1h'`, `'7d'`. */
export type Duration = number | string

/** The longest duration accepted: 100 years, so that `now + ttl + grace` stays a safe integer. */
export const MAX_DURATION_MS = 100 * 365 * 24 * 3600 * 1000

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }
const PATTERN = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/

/**
 * Converts a {@link Duration} to whole milliseconds (rounded to nearest).
 *
 * @param what - the option's name, used in the error message
 * @throws InvalidDurationError (`TC_INVALID_DURATION`) for negative, non-finite, unparsable or
 *   over-long (more than 100 years) input
 */
export function toMs(input: Duration, what = 'duration'): number {
  let ms: number
  if (typeof input === 'number') {
    ms = input
  } else if (typeof input === 'string') {
    const match = PATTERN.exec(input.trim())
    if (!match) throw new InvalidDurationError(`${what} must be milliseconds or a string like '30s', '5m', '1h'`)
    ms = Number(match[1]) * (UNIT_MS[match[2] as string] as number)
  } else {
    throw new InvalidDurationError(`${what} must be a number of milliseconds or a duration string`)
  }
  if (!Number.isFinite(ms) || ms < 0) throw new InvalidDurationError(`${what} must be a finite, non-negative duration`)
  if (ms > MAX_DURATION_MS) throw new InvalidDurationError(`${what} must be at most 100 years`)
  return Math.round(ms)
}

/** @throws InvalidDurationError unless `ttl` is a positive duration */
export function positiveTtl(ttl: Duration): number {
  const ms = toMs(ttl, 'ttl')
  if (ms === 0) throw new InvalidDurationError('ttl must be positive')
  return ms
}
