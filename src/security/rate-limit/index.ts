/**
 * Per-API-key rate limits: named plans (`free`, `pro`, `unlimited` by default), and limiters that
 * count requests per subject with GCRA (see gcra.ts), in process memory or in Redis for a whole
 * deployment. ioredis is optional: it is loaded only when a client is given.
 *
 * @example
 * const plans = parsePlans(config.plans ?? DEFAULT_PLANS)
 * const limiter = await createRateLimiter({ redis, onError: (error) => log.warn({ error }, 'rate limit via redis failed') })
 * const decision = await limiter.consume(principal.keyId, plans[principal.plan ?? DEFAULT_PLAN_NAME] ?? 'unlimited')
 * assertAllowed(decision) // throws RateLimitedError (429) with retryAfterMs
 */
import { parseOptions } from '../../core/options.js'
import type { RateLimiter } from './limiter.js'
import { MemoryRateLimiter } from './memory.js'
import { type RateLimiterOptions, rateLimiterOptionsSchema } from './options.js'

export { type GcraState, type GcraStep, gcraStep, toDecision } from './gcra.js'
export { MAX_SUBJECT_LENGTH, type RateDecision, type RateLimiter, UNLIMITED_DECISION, assertAllowed } from './limiter.js'
export { DEFAULT_MAX_SUBJECTS, MemoryRateLimiter, type MemoryRateLimiterOptions } from './memory.js'
export { DEFAULT_RATE_LIMIT_PREFIX, type RateLimiterOptions, type RedisRateLimiterOptions } from './options.js'
export {
  DEFAULT_PLANS,
  DEFAULT_PLAN_NAME,
  type FinitePlan,
  MAX_LIMIT,
  MAX_WINDOW_MS,
  PLAN_NAME_PATTERN,
  type Plan,
  type Plans,
  parsePlans,
  planSchema,
  plansSchema,
} from './plans.js'

/**
 * Creates a rate limiter: a {@link RedisRateLimiter} shared through `redis` when a client is given
 * (its module, and so ioredis, is loaded then), else a {@link MemoryRateLimiter} for this process.
 * @throws InvalidOptionsError when `options` are invalid (the promise rejects)
 */
export async function createRateLimiter(options: RateLimiterOptions = {}): Promise<RateLimiter> {
  const parsed = parseOptions(rateLimiterOptionsSchema, options, 'rate limiter')
  const { redis, ...rest } = parsed
  // Without redis the other options are accepted and unused, so that callers can always pass them.
  if (redis === undefined) return new MemoryRateLimiter({ maxSubjects: rest.maxSubjects })
  const { RedisRateLimiter } = await import('./redis.js')
  return new RedisRateLimiter({ redis, ...rest })
}
