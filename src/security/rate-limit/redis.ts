/**
 * {@link RateLimiter} in Redis (or Valkey), shared by every instance of a deployment.
 *
 * - One key per subject, `<prefix>:rl:{<subject>}`, holding the GCRA state `'<stampMs> <debt>'`
 *   (see gcra.ts), with a PX expiry at the moment the subject is back to its full limit: the state
 *   then equals no state, so idle subjects vanish on their own.
 * - One Lua script per request reads, decides and writes atomically, in one round trip, so
 *   concurrent requests from any number of instances never over-allow. The subject is the hash tag,
 *   so the one key routes the call on a Cluster and subjects spread over its slots.
 * - Time is Redis's (`TIME`), not the instance's: instances with skewed clocks count alike.
 * - When Redis fails or is slow (`commandTimeoutMs`), the call is answered by a local
 *   {@link MemoryRateLimiter}: requests are never failed because of the limiter, and limits still hold
 *   per instance (N instances allow up to N times the limit while Redis is away). The failure goes to
 *   `onError`, and Redis is left alone for `failurePauseMs`.
 * - On a client without an offline queue (such as the one `tiercache serve` shares between its cache
 *   and its limiter), a call made while it connects waits for the attempt, within
 *   `commandTimeoutMs`, instead of failing at once.
 */
import type { Cluster, Redis } from 'ioredis'
import { CacheClosedError, TierUnavailableError } from '../../errors.js'
import { parseOptions } from '../../core/options.js'
import { luaScript, runCommand, runScript } from '../../redis/client.js'
import { toDecision } from './gcra.js'
import { type RateDecision, type RateLimiter, UNLIMITED_DECISION, checkSubject } from './limiter.js'
import { MemoryRateLimiter } from './memory.js'
import { type ParsedRedisRateLimiterOptions, type RedisRateLimiterOptions, redisRateLimiterOptionsSchema } from './options.js'
import { type FinitePlan, type Plan, checkPlan } from './plans.js'

export type { RedisRateLimiterOptions } from './options.js'

/**
 * KEYS[1] the subject's state; ARGV[1] limit, ARGV[2] windowMs. Returns { allowed (0 or 1), debt,
 * aheadMs }. A transcription of gcraStep in gcra.ts: every number is an integer below 2^53, so Lua's
 * doubles are exact; the state is written with %.0f because tostring would round it to 14 digits.
 * A state that does not parse is treated as none.
 */
export const GCRA_SCRIPT = luaScript(
  'rate-limit-gcra',
  `local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local capacity = limit * window
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local stamp = now
local debt = 0
local ahead = 0
local state = redis.call('GET', KEYS[1])
if state then
  local s, d = string.match(state, '^(%d+) (%d+)$')
  if s then
    s = tonumber(s)
    d = tonumber(d)
    if d > capacity then d = capacity end
    if s > now then
      stamp = s
      debt = d
      ahead = s - now
    else
      local drained = (now - s) * limit
      if drained >= d then debt = 0 else debt = d - drained end
    end
  end
end
if debt + window > capacity then return { 0, debt, ahead } end
debt = debt + window
redis.call('SET', KEYS[1], string.format('%.0f %.0f', stamp, debt), 'PX', ahead + math.floor(debt / limit) + 1)
return { 1, debt, ahead }`,
)

/** The key of `subject`'s state under `prefix`. */
export function rateLimitKey(prefix: string, subject: string): string {
  return `${prefix}:rl:{${subject}}`
}

/** The shared {@link RateLimiter}; see the module comment. Create it here or with createRateLimiter. */
export class RedisRateLimiter implements RateLimiter {
  readonly #options: ParsedRedisRateLimiterOptions
  readonly #client: Redis | Cluster
  readonly #fallback: MemoryRateLimiter
  /** Until when (Date.now) calls skip Redis after a failure. */
  #pausedUntil = 0
  #closed = false

  /** @throws InvalidOptionsError when `options` are invalid */
  constructor(options: RedisRateLimiterOptions) {
    this.#options = parseOptions(redisRateLimiterOptionsSchema, options, 'redis rate limiter')
    // A RedisClientLike is an ioredis client by contract (options.ts checks its shape).
    this.#client = this.#options.redis as Redis | Cluster
    this.#fallback = new MemoryRateLimiter({ maxSubjects: this.#options.maxSubjects })
  }

  /**
   * See {@link RateLimiter.consume}. Never rejects because of Redis: the local fallback answers then.
   * @throws InvalidOptionsError when `subject` or `plan` is invalid
   * @throws CacheClosedError after {@link close}
   */
  async consume(subject: string, plan: Plan): Promise<RateDecision> {
    if (this.#closed) throw new CacheClosedError('rate limiter: used after close')
    checkSubject(subject)
    checkPlan(plan)
    if (plan === 'unlimited') return UNLIMITED_DECISION
    if (Date.now() < this.#pausedUntil) return this.#fallback.consumeNow(subject, plan)
    try {
      return await this.#consumeInRedis(subject, plan)
    } catch (error) {
      if (this.#closed) throw new CacheClosedError('rate limiter: used after close')
      this.#pausedUntil = Date.now() + this.#options.failurePauseMs
      this.#report(error)
      return this.#fallback.consumeNow(subject, plan)
    }
  }

  /** Forgets the local fallback's counts; the client stays open (the caller owns it). Idempotent. */
  async close(): Promise<void> {
    this.#closed = true
    await this.#fallback.close()
  }

  async #consumeInRedis(subject: string, plan: FinitePlan): Promise<RateDecision> {
    const key = rateLimitKey(this.#options.prefix, subject)
    const reply = await runCommand(this.#client, 'rate limit', this.#options.commandTimeoutMs, (client) =>
      runScript(client, GCRA_SCRIPT, [key], [plan.limit, plan.windowMs]),
    )
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => Number.isSafeInteger(n) && n >= 0)) {
      throw new TierUnavailableError('redis: rate limit script answered an unexpected reply')
    }
    const [allowed, debt, aheadMs] = reply as [number, number, number]
    return toDecision(plan, allowed === 1, debt, aheadMs)
  }

  #report(error: unknown): void {
    const onError = this.#options.onError
    if (onError === undefined) return
    try {
      onError(error)
    } catch {
      // A faulty logger must not fail the request it was told about.
    }
  }
}
