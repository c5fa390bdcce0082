/**
 * Per-API-key rate limits of the server: each key is limited by the plan it names (`free` unless it
 * was created with another, see `tiercache keys create --plan`), counted in Redis when the server is
 * given one, so that the limit holds across instances, else in this process.
 */
import type { FastifyBaseLogger, FastifyReply } from 'fastify'
import type { Cluster, Redis } from 'ioredis'
import type { RedisClientLike } from '../core/redis-client.js'
import type { Principal } from '../security/credentials/index.js'
import {
  DEFAULT_PLANS,
  DEFAULT_PLAN_NAME,
  type Plan,
  type Plans,
  type RateDecision,
  type RateLimiter,
  MemoryRateLimiter,
  UNLIMITED_DECISION,
  createRateLimiter,
  parsePlans,
} from '../security/rate-limit/index.js'

/** Options of the server's rate limits (`rateLimits` of `buildServer`). */
export interface RateLimitOptions {
  /**
   * Plans by name: `{ limit, windowMs }` (a burst of up to `limit` requests, then `limit` per
   * `windowMs`) or `'unlimited'`. A key naming a plan that is not here is limited by the `free` plan,
   * and refused (403 `TC_FORBIDDEN`) when there is none.
   * @default DEFAULT_PLANS: free 1,000 an hour, pro 5,000 an hour, unlimited
   */
  readonly plans?: Readonly<Record<string, Plan>>
  /**
   * Where counts are kept so that every instance shares them: a `redis://` or `rediss://` URL (the
   * server opens a client of its own and closes it with the app), or an ioredis client (the caller's,
   * never closed by the server). Without it, counts are per process: N instances allow N times the
   * limit. When Redis fails, each instance falls back to its own counts until it is back.
   * @default none
   */
  readonly redis?: string | RedisClientLike
  /** Start of the Redis keys, `<prefix>:rl:{<key id>}`. @default 'tc' */
  readonly prefix?: string
}

/** The limits in force: counts a request of a key, and releases what they hold on close. */
export interface ServerRateLimits {
  /**
   * Counts one request of `principal`'s key under its plan. Undefined when the key's plan is not
   * configured and there is no `free` plan to fall back on (the caller refuses the request).
   */
  consume(principal: Principal): Promise<RateDecision | undefined>
  /**
   * {@link consume} without a promise when the counts are in this process (no Redis): the decision,
   * or {@link IN_REDIS} when only `consume` can answer. Throws where `consume` rejects.
   */
  consumeNow(principal: Principal): RateDecision | undefined | typeof IN_REDIS
  close(): Promise<void>
}

/** What `consumeNow` answers when the counts are in Redis: call `consume`. */
export const IN_REDIS: unique symbol = Symbol('tiercache.rate-limits.in-redis')

/** Limits that allow everything: `rateLimits: false`. */
const NO_LIMITS: ServerRateLimits = {
  consume: async () => UNLIMITED_DECISION,
  consumeNow: () => UNLIMITED_DECISION,
  close: async () => {},
}

/**
 * Opens the limiter that `options` describe.
 * @throws InvalidOptionsError when the plans or the prefix are invalid
 */
export async function openRateLimits(options: RateLimitOptions | false | undefined, log: FastifyBaseLogger): Promise<ServerRateLimits> {
  if (options === false) return NO_LIMITS
  const plans: Plans = parsePlans(options?.plans ?? DEFAULT_PLANS)
  let client: Redis | Cluster | undefined
  let ownsClient = false
  if (typeof options?.redis === 'string') {
    // ioredis is an optional dependency: loaded only when Redis is asked for.
    const { CONNECT_TIMEOUT_MS, createClient } = await import('../redis/client.js')
    client = createClient(options.redis, 500, 'tiercache-rate-limit')
    // Connection errors are answered by the limiter's local fallback and reported through onError;
    // without a listener, ioredis would print each one.
    client.on('error', () => {})
    ownsClient = true
    // The client queues nothing while it connects: requests arriving before it is ready would be
    // counted per process (the limiter's fallback) for a while, so the server waits for it, briefly.
    await whenReady(client, CONNECT_TIMEOUT_MS)
  } else {
    // A RedisClientLike is an ioredis client by contract.
    client = options?.redis as Redis | Cluster | undefined
  }
  let limiter: RateLimiter
  try {
    limiter = await createRateLimiter({
      ...(client === undefined ? {} : { redis: client }),
      ...(options?.prefix === undefined ? {} : { prefix: options.prefix }),
      onError: (error: unknown) => log.warn({ err: error }, 'rate limits: Redis failed, counting in this process meanwhile'),
    })
  } catch (error) {
    if (ownsClient && client !== undefined) await closeOwnClient(client)
    throw error
  }

  const warned = new Set<string>()
  /** The plan a key is counted under: its own, else `free`; undefined when neither is configured. */
  const planOf = (principal: Principal): Plan | undefined => {
    const plan = plans[principal.plan]
    if (plan !== undefined) return plan
    if (!warned.has(principal.plan)) {
      warned.add(principal.plan)
      log.warn({ plan: principal.plan }, `rate limits: no plan named ${principal.plan}; its keys get the ${DEFAULT_PLAN_NAME} plan`)
    }
    return plans[DEFAULT_PLAN_NAME]
  }
  // In memory, a step is synchronous: the access check then needs no promise on the common path.
  const memory = limiter instanceof MemoryRateLimiter ? limiter : undefined
  return {
    async consume(principal) {
      const plan = planOf(principal)
      if (plan === undefined) return undefined
      // Nothing to count: spares the limiter's checks on every request of an unlimited key.
      if (plan === 'unlimited') return UNLIMITED_DECISION
      return limiter.consume(principal.id, plan)
    },
    consumeNow(principal) {
      if (memory === undefined) return IN_REDIS
      const plan = planOf(principal)
      if (plan === undefined) return undefined
      if (plan === 'unlimited') return UNLIMITED_DECISION
      return memory.consumeNow(principal.id, plan)
    },
    async close() {
      await limiter.close()
      if (ownsClient && client !== undefined) await closeOwnClient(client)
    },
  }
}

/** Resolves once `client` is ready, or after `timeoutMs`, whichever comes first. */
function whenReady(client: Redis | Cluster, timeoutMs: number): Promise<void> {
  if (client.status === 'ready') return Promise.resolve()
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      client.off('ready', done)
      resolve()
    }
    const timer = setTimeout(done, timeoutMs)
    timer.unref()
    client.once('ready', done)
  })
}

async function closeOwnClient(client: Redis | Cluster): Promise<void> {
  const { closeClient } = await import('../redis/client.js')
  await closeClient(client)
}

/**
 * Sets `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds until the key is back
 * to its full limit), after draft-ietf-httpapi-ratelimit-headers; none for an unlimited plan.
 */
export function setRateLimitHeaders(reply: FastifyReply, decision: RateDecision): void {
  if (!Number.isFinite(decision.limit)) return
  reply.header('ratelimit-limit', String(decision.limit))
  reply.header('ratelimit-remaining', String(Math.max(0, Math.floor(decision.remaining))))
  reply.header('ratelimit-reset', String(Math.ceil(decision.resetMs / 1000)))
}

/**
 * `Retry-After` in whole seconds (RFC 9110 §10.2.3), rounded up so that a client that waits exactly
 * that long is allowed; at least 1.
 */
export function retryAfterSeconds(retryAfterMs: number): number {
  return Math.max(1, Math.ceil(retryAfterMs / 1000))
}
