/**
 * What every rate limiter offers, whatever keeps its state.
 */
import { InvalidOptionsError, RateLimitedError } from '../../errors.js'
import type { Plan } from './plans.js'

/** A limiter's answer to one request; see {@link RateLimiter.consume}. */
export interface RateDecision {
  /** Whether the request may proceed. */
  readonly allowed: boolean
  /** The plan's `limit` (Infinity for `'unlimited'`). */
  readonly limit: number
  /** Requests that could still be made right now, after this one (Infinity for `'unlimited'`). */
  readonly remaining: number
  /** Ms until the subject is back to its full `limit` (0 when it already is, and for `'unlimited'`). */
  readonly resetMs: number
  /** Ms until the next request would be allowed: 0 when this one was. */
  readonly retryAfterMs: number
}

/** Counts requests per subject (an API key id, a tenant) against a {@link Plan}. */
export interface RateLimiter {
  /**
   * Counts one request of `subject` under `plan`, if the plan allows it now; a refused request is not
   * counted. `'unlimited'` is always allowed, and counts nothing.
   *
   * A subject should always be consumed under the same plan; after a change, what it used carries
   * over as requests made, and counts for one full window of the new plan at most.
   * @param subject - 1 to {@link MAX_SUBJECT_LENGTH} characters
   * @throws InvalidOptionsError when `subject` or `plan` is invalid
   * @throws CacheClosedError after {@link close}
   */
  consume(subject: string, plan: Plan): Promise<RateDecision>
  /** Releases what the limiter holds (never a Redis client passed in). Idempotent. */
  close(): Promise<void>
}

/** Longest subject accepted, in characters: key ids and tenant ids are far shorter. */
export const MAX_SUBJECT_LENGTH = 256

/** The decision for every request under the `'unlimited'` plan. */
export const UNLIMITED_DECISION: RateDecision = Object.freeze({
  allowed: true,
  limit: Infinity,
  remaining: Infinity,
  resetMs: 0,
  retryAfterMs: 0,
})

/** @throws InvalidOptionsError unless `subject` is a string of 1 to {@link MAX_SUBJECT_LENGTH} characters */
export function checkSubject(subject: unknown): asserts subject is string {
  if (typeof subject !== 'string' || subject.length === 0 || subject.length > MAX_SUBJECT_LENGTH) {
    throw new InvalidOptionsError(`rate-limit subject must be a string of 1 to ${MAX_SUBJECT_LENGTH} characters`)
  }
}

/**
 * Throws when `decision` refused the request: for callers that turn a refusal into an error (the
 * server answers it 429, with `Retry-After`).
 * @throws RateLimitedError (`TC_RATE_LIMITED`) carrying the decision's `retryAfterMs`
 */
export function assertAllowed(decision: RateDecision): void {
  if (!decision.allowed) {
    throw new RateLimitedError(`rate limit of ${decision.limit} exceeded; retry in ${decision.retryAfterMs} ms`, decision.retryAfterMs)
  }
}
