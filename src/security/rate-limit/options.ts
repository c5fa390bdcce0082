/**
 * Options of the Redis limiter and of {@link createRateLimiter}, checked without loading ioredis (an
 * optional dependency, loaded only when a client is given).
 */
import { z } from 'zod'
import { type RedisClientLike, isRedisClientLike } from '../../core/redis-client.js'
import { DEFAULT_MAX_SUBJECTS } from './memory.js'

/** Options of `RedisRateLimiter`. Durations in milliseconds. */
export interface RedisRateLimiterOptions {
  /** The client, which the caller keeps owning (the limiter never closes it). */
  readonly redis: RedisClientLike
  /**
   * Start of the keys, `<prefix>:rl:{<subject>}` (after the client's own `keyPrefix`, if any):
   * `[A-Za-z0-9._:/-]{1,64}`, like the cache's `l2.prefix`. @default 'tc'
   */
  readonly prefix?: string
  /**
   * Longest wait for Redis before the call is answered by the local fallback instead. Rate limiting
   * is on every request's path, so this is short. @default 500
   */
  readonly commandTimeoutMs?: number
  /**
   * After Redis fails, how long calls go straight to the local fallback without trying Redis, so that
   * a hung Redis costs one request per pause, not every request, `commandTimeoutMs`. 0: try every
   * call. @default 1000
   */
  readonly failurePauseMs?: number
  /**
   * Called (never awaited; what it throws is ignored) with each Redis failure, a TierUnavailableError
   * whose `cause` is the client's error; the call that met it was answered by the local fallback.
   */
  readonly onError?: (error: unknown) => void
  /** `maxSubjects` of the local fallback (see MemoryRateLimiterOptions). @default 100_000 */
  readonly maxSubjects?: number
}

/** Default of {@link RedisRateLimiterOptions.prefix}. */
export const DEFAULT_RATE_LIMIT_PREFIX = 'tc'

const sharedFields = {
  prefix: z
    .string()
    .regex(/^[A-Za-z0-9._:/-]{1,64}$/, "must be 1 to 64 of letters, digits, '.', '_', ':', '/' or '-'")
    .default(DEFAULT_RATE_LIMIT_PREFIX),
  commandTimeoutMs: z.number().int().min(1).max(60_000).default(500),
  failurePauseMs: z.number().int().min(0).max(3_600_000).default(1_000),
  onError: z.custom<(error: unknown) => void>((value) => typeof value === 'function', 'must be a function').optional(),
  maxSubjects: z.number().int().min(1).max(100_000_000).default(DEFAULT_MAX_SUBJECTS),
}

const redisClient = z.custom<RedisClientLike>(isRedisClientLike, 'must be an ioredis Redis or Cluster client')

/** zod schema of {@link RedisRateLimiterOptions}. */
export const redisRateLimiterOptionsSchema = z.strictObject({ redis: redisClient, ...sharedFields })

/** {@link RedisRateLimiterOptions} with defaults applied. */
export type ParsedRedisRateLimiterOptions = z.output<typeof redisRateLimiterOptionsSchema>

/**
 * Options of {@link createRateLimiter}: those of `RedisRateLimiter`, with `redis` optional (without
 * it, the limiter is a MemoryRateLimiter and only `maxSubjects` applies).
 */
export type RateLimiterOptions = Partial<RedisRateLimiterOptions>

/** zod schema of {@link RateLimiterOptions}. */
export const rateLimiterOptionsSchema = z.strictObject({ redis: redisClient.optional(), ...sharedFields })
