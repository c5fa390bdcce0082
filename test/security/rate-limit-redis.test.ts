import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import { CacheClosedError, InvalidOptionsError, TierUnavailableError } from '../../src/errors.js'
import { createClient } from '../../src/redis/client.js'
import { type FinitePlan, type RateDecision, type RateLimiter, createRateLimiter } from '../../src/security/rate-limit/index.js'
import { RedisRateLimiter, type RedisRateLimiterOptions, rateLimitKey } from '../../src/security/rate-limit/redis.js'
import { type RedisProcess, freePort, startRedisServer, TEST_REDIS_URL } from '../helpers/redis-server.js'

/** This run's key prefix on the shared Redis; every key is removed after the file. */
const PREFIX = `tc-test-rl-${randomUUID().slice(0, 8)}`
const HOUR: FinitePlan = { limit: 10, windowMs: 3_600_000 }

const clients: Redis[] = []
const limiters: RateLimiter[] = []

/** A client of the shared Redis, closed after the test. */
function sharedClient(): Redis {
  const client = new Redis(TEST_REDIS_URL)
  clients.push(client)
  return client
}

function limiter(redis: Redis, options: Partial<RedisRateLimiterOptions> = {}): RedisRateLimiter {
  const created = new RedisRateLimiter({ redis, prefix: PREFIX, commandTimeoutMs: 5_000, ...options })
  limiters.push(created)
  return created
}

/** A subject of its own for each test. */
function subject(): string {
  return `key-${randomUUID().slice(0, 8)}`
}

afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(limiters.splice(0).map((l) => l.close()))
  for (const client of clients.splice(0)) client.disconnect()
})

afterAll(async () => {
  const client = new Redis(TEST_REDIS_URL)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', `${PREFIX}:*`, 'COUNT', 1000)
      if (keys.length > 0) await client.del(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    client.disconnect()
  }
})

describe('RedisRateLimiter on a shared Redis', () => {
  it('holds the limit across instances: 3 limiters × 20 concurrent calls, exactly `limit` allowed', async () => {
    const instances = [limiter(sharedClient()), limiter(sharedClient()), limiter(sharedClient())]
    const who = subject()
    const decisions = await Promise.all(instances.flatMap((l) => Array.from({ length: 20 }, () => l.consume(who, HOUR))))
    const allowed = decisions.filter((d) => d.allowed)
    expect(allowed).toHaveLength(10)
    // Each allowed call saw a distinct count: the script ran atomically, one call at a time.
    expect(allowed.map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    for (const refused of decisions.filter((d) => !d.allowed)) {
      expect(refused.remaining).toBe(0)
      expect(refused.retryAfterMs).toBeGreaterThan(0)
      expect(refused.retryAfterMs).toBeLessThanOrEqual(360_000) // one emission interval
    }
    // And another subject is untouched.
    expect(await instances[0]?.consume(subject(), HOUR)).toMatchObject({ allowed: true, remaining: 9 })
  })

  it('stores one key per subject, <prefix>:rl:{<subject>}, expiring when the subject is back to full', async () => {
    const redis = sharedClient()
    const l = limiter(redis)
    const who = subject()
    const plan: FinitePlan = { limit: 10, windowMs: 60_000 } // each request owes 6 s
    let last: RateDecision | undefined
    for (let i = 0; i < 3; i++) last = await l.consume(who, plan)
    expect(last).toMatchObject({ allowed: true, remaining: 7 })
    expect(last?.resetMs).toBeGreaterThan(17_000)
    expect(last?.resetMs).toBeLessThanOrEqual(18_000)
    const key = rateLimitKey(PREFIX, who)
    expect(key).toBe(`${PREFIX}:rl:{${who}}`)
    const pttl = await redis.pttl(key)
    expect(pttl).toBeGreaterThan(10_000)
    expect(pttl).toBeLessThanOrEqual(18_001)
  })

  it('does not count refused requests, and gives capacity back with Redis time', async () => {
    const l = limiter(sharedClient())
    const who = subject()
    const plan: FinitePlan = { limit: 2, windowMs: 8_000 } // a unit back every 4 s
    expect((await l.consume(who, plan)).allowed).toBe(true)
    expect((await l.consume(who, plan)).allowed).toBe(true)
    const burstDone = performance.now()
    const refusals = await Promise.all(Array.from({ length: 20 }, () => l.consume(who, plan)))
    for (const refused of refusals) {
      expect(refused.allowed).toBe(false)
      // Counted refusals would push each retry one interval (4 s) further than the last.
      expect(refused.retryAfterMs).toBeLessThanOrEqual(4_000)
    }
    // Refusals spread over a second: the retry keeps counting down from the burst, where a refusal
    // that restarted the clock would answer a full interval again.
    let last: RateDecision | undefined
    let elapsed = 0
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      elapsed = performance.now() - burstDone
      last = await l.consume(who, plan)
      expect(last.allowed).toBe(false)
    }
    expect(last?.retryAfterMs).toBeLessThanOrEqual(4_000 - elapsed + 5) // ms rounding of both clocks
    await new Promise((resolve) => setTimeout(resolve, (last?.retryAfterMs ?? 0) + 100))
    expect((await l.consume(who, plan)).allowed).toBe(true)
  })

  it('takes time from Redis, not from the instance clock', async () => {
    const l = limiter(sharedClient())
    const who = subject()
    for (let i = 0; i < 10; i++) await l.consume(who, HOUR)
    // An instance whose clock runs two hours ahead would see the window refilled; Redis does not.
    const realNow = Date.now()
    vi.spyOn(Date, 'now').mockReturnValue(realNow + 2 * 3_600_000)
    expect(await l.consume(who, HOUR)).toMatchObject({ allowed: false })
  })

  it('keeps exact counts at the largest plans (no rounding of the stored state)', async () => {
    const redis = sharedClient()
    const l = limiter(redis)
    const who = subject()
    const plan: FinitePlan = { limit: 1_000_000_000, windowMs: 9_000_000 } // capacity 9e15 ticks, near 2^53
    const capacity = plan.limit * plan.windowMs
    // A state stamped 60 s ahead of Redis's clock does not drain meanwhile: the outcome is exact.
    const [seconds] = await redis.time()
    const stamp = Number(seconds) * 1000 + 60_000
    await redis.set(rateLimitKey(PREFIX, who), `${stamp} ${capacity - plan.windowMs}`, 'PX', 120_000)
    expect(await l.consume(who, plan)).toMatchObject({ allowed: true, remaining: 0 })
    expect(await redis.get(rateLimitKey(PREFIX, who))).toBe(`${stamp} ${capacity}`)
    const refused = await l.consume(who, plan)
    expect(refused.allowed).toBe(false)
    expect(refused.retryAfterMs).toBeGreaterThan(58_000) // what is left of the 60 s, plus 1 ms
    expect(refused.retryAfterMs).toBeLessThanOrEqual(61_001)
  })

  it('treats a state it cannot read as none', async () => {
    const redis = sharedClient()
    const l = limiter(redis)
    const who = subject()
    await redis.set(rateLimitKey(PREFIX, who), 'not a state', 'PX', 60_000)
    expect(await l.consume(who, HOUR)).toMatchObject({ allowed: true, remaining: 9 })
  })

  it('writes nothing for unlimited', async () => {
    const redis = sharedClient()
    const l = limiter(redis)
    const who = subject()
    for (let i = 0; i < 50; i++) expect((await l.consume(who, 'unlimited')).allowed).toBe(true)
    expect(await redis.exists(rateLimitKey(PREFIX, who))).toBe(0)
  })

  it('keeps limiters with different prefixes apart', async () => {
    const redis = sharedClient()
    const who = subject()
    const one: FinitePlan = { limit: 1, windowMs: 60_000 }
    expect((await limiter(redis).consume(who, one)).allowed).toBe(true)
    expect((await limiter(redis).consume(who, one)).allowed).toBe(false)
    expect((await limiter(redis, { prefix: `${PREFIX}:other` }).consume(who, one)).allowed).toBe(true)
  })

  it('is what createRateLimiter makes when given a client, and leaves the client open on close', async () => {
    const redis = sharedClient()
    const made = await createRateLimiter({ redis, prefix: PREFIX })
    expect(made).toBeInstanceOf(RedisRateLimiter)
    const who = subject()
    await made.consume(who, HOUR)
    expect(await redis.exists(rateLimitKey(PREFIX, who))).toBe(1)
    await made.close()
    await expect(made.consume(who, HOUR)).rejects.toThrow(CacheClosedError)
    expect(await redis.ping()).toBe('PONG')
  })

  it('rejects invalid options and arguments with TC_INVALID_OPTIONS', async () => {
    const redis = sharedClient()
    expect(() => new RedisRateLimiter({ redis, prefix: 'a{b}' })).toThrow(InvalidOptionsError)
    expect(() => new RedisRateLimiter({ redis: {} as Redis })).toThrow(InvalidOptionsError)
    await expect(limiter(redis).consume('', HOUR)).rejects.toThrow(InvalidOptionsError)
    await expect(limiter(redis).consume('k', { limit: 10, windowMs: 0 })).rejects.toThrow(InvalidOptionsError)
  })
})

describe('RedisRateLimiter when Redis fails', () => {
  let server: RedisProcess | undefined
  afterEach(async () => {
    await server?.stop()
    server = undefined
  })

  it('answers from local limits while its Redis is dead, reports each failure, and returns to Redis after', async () => {
    server = await startRedisServer()
    const redis = createClient(server.url, 1_000, 'rate-limit-test')
    redis.on('error', () => {})
    clients.push(redis)
    await waitReady(redis)
    const errors: unknown[] = []
    const l = limiter(redis, { failurePauseMs: 0, onError: (error) => errors.push(error) })
    const plan: FinitePlan = { limit: 2, windowMs: 3_600_000 }
    expect(await l.consume('k', plan)).toMatchObject({ allowed: true, remaining: 1 })
    expect(await redis.exists(rateLimitKey(PREFIX, 'k'))).toBe(1)
    expect(errors).toHaveLength(0)

    await server.kill()
    // The local fallback starts empty and applies the same plan: 2 allowed, then refused.
    const during = [await l.consume('k', plan), await l.consume('k', plan), await l.consume('k', plan)]
    expect(during.map((d) => d.allowed)).toEqual([true, true, false])
    // One interval (30 min), less the few ms the local clock moved between the calls.
    expect(during[2]?.retryAfterMs).toBeGreaterThan(1_790_000)
    expect(during[2]?.retryAfterMs).toBeLessThanOrEqual(1_800_000)
    expect(errors).toHaveLength(3)
    for (const error of errors) expect(error).toBeInstanceOf(TierUnavailableError)

    await server.restart()
    await waitReady(redis)
    expect(await l.consume('k', plan)).toMatchObject({ allowed: true, remaining: 1 }) // a fresh Redis
    expect(await redis.exists(rateLimitKey(PREFIX, 'k'))).toBe(1)
    expect(errors).toHaveLength(3)
  })

  it('answers within commandTimeoutMs when Redis hangs, then leaves it alone for failurePauseMs', async () => {
    // A client with an offline queue, towards a port nothing listens on: commands wait forever.
    const redis = new Redis(await freePort(), '127.0.0.1', { maxRetriesPerRequest: null })
    redis.on('error', () => {})
    clients.push(redis)
    const onError = vi.fn()
    const l = limiter(redis, { commandTimeoutMs: 200, failurePauseMs: 60_000, onError })
    const plan: FinitePlan = { limit: 3, windowMs: 60_000 }
    const decisions = await Promise.all(Array.from({ length: 5 }, () => l.consume('k', plan)))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(3)
    // The 5 concurrent calls all tried Redis; the ones after them do not, for 60 s.
    expect(onError).toHaveBeenCalledTimes(5)
    expect(onError.mock.calls[0]?.[0]).toBeInstanceOf(TierUnavailableError)
    const later = await l.consume('k', plan)
    expect(later.allowed).toBe(false)
    expect(onError).toHaveBeenCalledTimes(5)
  })

  it('survives an onError that throws', async () => {
    const redis = new Redis(await freePort(), '127.0.0.1', { lazyConnect: true, enableOfflineQueue: false })
    redis.on('error', () => {})
    clients.push(redis)
    const l = limiter(redis, {
      commandTimeoutMs: 300,
      onError: () => {
        throw new Error('logger down')
      },
    })
    expect((await l.consume('k', HOUR)).allowed).toBe(true)
  })
})

/** Resolves once `client` is ready (ioredis reconnects on its own). */
async function waitReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (client.status !== 'ready') {
    if (Date.now() > deadline) throw new Error('redis client did not become ready')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
