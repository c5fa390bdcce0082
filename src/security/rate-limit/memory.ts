/**
 * {@link RateLimiter} in process memory: for one instance, and the fallback of the Redis limiter.
 */
import { LRUCache } from 'lru-cache'
import { z } from 'zod'
import { CacheClosedError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'
import { type GcraState, gcraStep, toDecision } from './gcra.js'
import { type RateDecision, type RateLimiter, UNLIMITED_DECISION, checkSubject } from './limiter.js'
import { type Plan, checkPlan } from './plans.js'

/** Options of {@link MemoryRateLimiter}. */
export interface MemoryRateLimiterOptions {
  /**
   * Most subjects remembered. Beyond it the least recently seen one is forgotten, which gives it its
   * full limit back: keep it above the number of subjects active within a window. About 200 bytes
   * each. @default 100_000
   */
  readonly maxSubjects?: number
  /** The clock, ms since the epoch (fractions are dropped). For tests. @default Date.now */
  readonly now?: () => number
}

/** Default of {@link MemoryRateLimiterOptions.maxSubjects}. */
export const DEFAULT_MAX_SUBJECTS = 100_000

const optionsSchema = z.strictObject({
  maxSubjects: z.number().int().min(1).max(100_000_000).default(DEFAULT_MAX_SUBJECTS),
  now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function').default(() => Date.now),
})

/**
 * GCRA (see gcra.ts) per subject in an LRU bounded by {@link MemoryRateLimiterOptions.maxSubjects}, so
 * memory stays bounded however many subjects come by. Each call is one synchronous step, so concurrent
 * calls cannot both take the last unit. Counts are per process: N instances allow N times the limit.
 */
export class MemoryRateLimiter implements RateLimiter {
  readonly #now: () => number
  readonly #subjects: LRUCache<string, { state: GcraState }>
  #closed = false

  /** @throws InvalidOptionsError when `options` are invalid */
  constructor(options: MemoryRateLimiterOptions = {}) {
    const parsed = parseOptions(optionsSchema, options, 'memory rate limiter')
    this.#now = parsed.now
    this.#subjects = new LRUCache({ max: parsed.maxSubjects })
  }

  /** Subjects remembered now, at most `maxSubjects`. */
  get size(): number {
    return this.#subjects.size
  }

  /** See {@link RateLimiter.consume}. Resolves at once. */
  async consume(subject: string, plan: Plan): Promise<RateDecision> {
    return this.consumeNow(subject, plan)
  }

  /** {@link consume}, synchronously. @throws as {@link RateLimiter.consume} */
  consumeNow(subject: string, plan: Plan): RateDecision {
    if (this.#closed) throw new CacheClosedError('rate limiter: used after close')
    checkSubject(subject)
    checkPlan(plan)
    if (plan === 'unlimited') return UNLIMITED_DECISION
    const held = this.#subjects.get(subject)
    const step = gcraStep(held?.state, Math.floor(this.#now()), plan)
    if (step.allowed) {
      // In place, once held: the get above made the subject the most recent, and a second LRU
      // operation per request was a visible part of the server's cached GET.
      if (held === undefined) this.#subjects.set(subject, { state: step.state })
      else held.state = step.state
    }
    return toDecision(plan, step.allowed, step.debt, step.aheadMs)
  }

  /** Forgets every subject; later calls throw CacheClosedError. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    this.#subjects.clear()
  }
}
