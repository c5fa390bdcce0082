import { describe, expect, it } from 'vitest'
import { CacheClosedError, InvalidOptionsError, RateLimitedError, isTiercacheError } from '../../src/errors.js'
import {
  DEFAULT_PLANS,
  DEFAULT_PLAN_NAME,
  type FinitePlan,
  MemoryRateLimiter,
  type RateDecision,
  assertAllowed,
  createRateLimiter,
  gcraStep,
  parsePlans,
} from '../../src/security/rate-limit/index.js'

/** A clock the test moves by hand. */
function manualClock(start = 1_700_000_000_000) {
  let now = start
  return {
    now: () => now,
    advance(ms: number) {
      now += ms
    },
    set(ms: number) {
      now = ms
    },
  }
}

function limiterWithClock(start?: number) {
  const clock = manualClock(start)
  return { clock, limiter: new MemoryRateLimiter({ now: clock.now }) }
}

describe('rate-limit plans', () => {
  it('defaults to free, pro and unlimited, with free as the default plan', () => {
    expect(DEFAULT_PLANS).toEqual({
      free: { limit: 1000, windowMs: 3_600_000 },
      pro: { limit: 5000, windowMs: 3_600_000 },
      unlimited: 'unlimited',
    })
    expect(DEFAULT_PLAN_NAME).toBe('free')
    expect(DEFAULT_PLANS[DEFAULT_PLAN_NAME]).toBeDefined()
    expect(parsePlans(DEFAULT_PLANS)).toEqual(DEFAULT_PLANS)
  })

  it('parses configured plans and freezes them', () => {
    const plans = parsePlans({ trial: { limit: 10, windowMs: 60_000 }, internal: 'unlimited' })
    expect(plans).toEqual({ trial: { limit: 10, windowMs: 60_000 }, internal: 'unlimited' })
    expect(Object.isFrozen(plans)).toBe(true)
    expect(Object.isFrozen(plans.trial)).toBe(true)
  })

  it.each([
    ['an empty set', {}],
    ['a zero limit', { free: { limit: 0, windowMs: 1000 } }],
    ['a fractional limit', { free: { limit: 1.5, windowMs: 1000 } }],
    ['a negative window', { free: { limit: 1, windowMs: -1 } }],
    ['a missing window', { free: { limit: 1 } }],
    ['an unknown field', { free: { limit: 1, windowMs: 1000, burst: 5 } }],
    ['another string', { free: 'infinite' }],
    ['a bad name', { 'free plan': { limit: 1, windowMs: 1000 } }],
    ['limit × window beyond exact integers', { huge: { limit: 1_000_000_000, windowMs: 10_000_000 } }],
    ['not an object', 'free'],
  ])('rejects %s with TC_INVALID_OPTIONS', (_, input) => {
    expect(() => parsePlans(input)).toThrow(InvalidOptionsError)
  })

  it('names the offending plan and field', () => {
    expect(() => parsePlans({ ok: 'unlimited', bad: { limit: 0, windowMs: 1000 } })).toThrow(/bad\.limit/)
  })
})

describe('MemoryRateLimiter', () => {
  const plan: FinitePlan = { limit: 5, windowMs: 10_000 } // one request every 2 s

  it('allows exactly `limit` at once, then refuses with the time until the next one', async () => {
    const { limiter } = limiterWithClock()
    const decisions: RateDecision[] = []
    for (let i = 0; i < 8; i++) decisions.push(await limiter.consume('key-a', plan))
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, true, false, false, false])
    expect(decisions.map((d) => d.remaining)).toEqual([4, 3, 2, 1, 0, 0, 0, 0])
    expect(decisions.map((d) => d.retryAfterMs)).toEqual([0, 0, 0, 0, 0, 2_000, 2_000, 2_000])
    expect(decisions.every((d) => d.limit === 5)).toBe(true)
    // Back to the full limit one window after the burst; the first request frees its unit after 2 s.
    expect(decisions[4]?.resetMs).toBe(10_000)
    expect(decisions[0]?.resetMs).toBe(2_000)
  })

  it('gives capacity back as time passes, one unit per windowMs / limit, all of it after windowMs', async () => {
    const { clock, limiter } = limiterWithClock()
    for (let i = 0; i < 5; i++) await limiter.consume('key-a', plan)
    clock.advance(1_999)
    expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: false, retryAfterMs: 1 })
    clock.advance(1)
    expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: true, remaining: 0 })
    expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: false, retryAfterMs: 2_000 })
    clock.advance(4_000)
    expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: true, remaining: 1 })
    clock.advance(60_000)
    const afterIdle: boolean[] = []
    for (let i = 0; i < 6; i++) afterIdle.push((await limiter.consume('key-a', plan)).allowed)
    expect(afterIdle).toEqual([true, true, true, true, true, false])
  })

  it('does not count refused requests', async () => {
    const { clock, limiter } = limiterWithClock()
    for (let i = 0; i < 5; i++) await limiter.consume('key-a', plan)
    for (let i = 0; i < 100; i++) {
      clock.advance(10)
      expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: false, retryAfterMs: 2_000 - 10 * (i + 1) })
    }
    clock.advance(1_000) // 2 s after the burst: exactly one unit back, as if the refusals never happened
    expect(await limiter.consume('key-a', plan)).toMatchObject({ allowed: true, remaining: 0 })
    expect((await limiter.consume('key-a', plan)).allowed).toBe(false)
  })

  it('is exact when windowMs / limit is not a whole number of ms', async () => {
    const { clock, limiter } = limiterWithClock()
    const thirds: FinitePlan = { limit: 3, windowMs: 1_000 }
    for (let i = 0; i < 3; i++) expect((await limiter.consume('k', thirds)).allowed).toBe(true)
    expect(await limiter.consume('k', thirds)).toMatchObject({ allowed: false, retryAfterMs: 334 })
    clock.advance(333)
    expect((await limiter.consume('k', thirds)).allowed).toBe(false)
    clock.advance(1)
    expect((await limiter.consume('k', thirds)).allowed).toBe(true)
    // Units come back every 333.3 ms, not 334: at 1000 ms only the one taken at 334 ms is still owed.
    clock.advance(666)
    const burst: boolean[] = []
    for (let i = 0; i < 3; i++) burst.push((await limiter.consume('k', thirds)).allowed)
    expect(burst).toEqual([true, true, false])
  })

  it('never allows more than limit + what refilled, in any interval (random traffic)', () => {
    let seed = 12345
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31
      return seed / 2 ** 31
    }
    for (const trial of [
      { limit: 3, windowMs: 1_000 },
      { limit: 7, windowMs: 500 },
      { limit: 50, windowMs: 20 },
      { limit: 1, windowMs: 250 },
    ] satisfies FinitePlan[]) {
      const clock = manualClock(0)
      const limiter = new MemoryRateLimiter({ now: clock.now })
      const allowedAt: number[] = []
      let refused = 0
      for (let i = 0; i < 3_000; i++) {
        clock.advance(Math.floor(random() * random() * (trial.windowMs / trial.limit) * 3))
        const decision = limiter.consumeNow('s', trial)
        if (decision.allowed) allowedAt.push(clock.now())
        else {
          refused++
          expect(decision.retryAfterMs).toBeGreaterThan(0)
          expect(decision.retryAfterMs).toBeLessThanOrEqual(Math.ceil(trial.windowMs / trial.limit))
        }
      }
      expect(refused).toBeGreaterThan(0)
      // Every interval [allowedAt[i], allowedAt[j]] holds at most limit + floor(d * limit / windowMs);
      // and some interval reaches it (the bound is tight, the test is not vacuous).
      let worst = -Infinity
      for (let i = 0; i < allowedAt.length; i++) {
        for (let j = i; j < allowedAt.length && j < i + 4 * trial.limit; j++) {
          const d = (allowedAt[j] as number) - (allowedAt[i] as number)
          worst = Math.max(worst, j - i + 1 - (trial.limit + Math.floor((d * trial.limit) / trial.windowMs)))
        }
      }
      expect(worst).toBe(0)
    }
  })

  it('keeps subjects independent', async () => {
    const { limiter } = limiterWithClock()
    const one: FinitePlan = { limit: 1, windowMs: 60_000 }
    expect((await limiter.consume('a', one)).allowed).toBe(true)
    expect((await limiter.consume('a', one)).allowed).toBe(false)
    expect((await limiter.consume('b', one)).allowed).toBe(true)
    expect((await limiter.consume('a:b', one)).allowed).toBe(true)
    expect((await limiter.consume('b', one)).allowed).toBe(false)
  })

  it('allows everything under unlimited, and remembers nothing for it', async () => {
    const { limiter } = limiterWithClock()
    for (let i = 0; i < 1_000; i++) {
      expect(await limiter.consume(`s${i % 3}`, 'unlimited')).toEqual({
        allowed: true,
        limit: Infinity,
        remaining: Infinity,
        resetMs: 0,
        retryAfterMs: 0,
      })
    }
    expect(limiter.size).toBe(0)
  })

  it('answers concurrent calls with exactly `limit` allowed', async () => {
    const { limiter } = limiterWithClock()
    const decisions = await Promise.all(Array.from({ length: 50 }, () => limiter.consume('hot', { limit: 7, windowMs: 60_000 })))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(7)
  })

  it('keeps memory bounded however many subjects come by, forgetting the least recently seen', async () => {
    const clock = manualClock()
    const limiter = new MemoryRateLimiter({ now: clock.now, maxSubjects: 100 })
    const one: FinitePlan = { limit: 1, windowMs: 3_600_000 }
    await limiter.consume('busy', one)
    for (let i = 0; i < 10_000; i++) {
      await limiter.consume(`subject-${i}`, one)
      if (i % 50 === 0) expect((await limiter.consume('busy', one)).allowed).toBe(false) // seen often: kept
      expect(limiter.size).toBeLessThanOrEqual(100)
    }
    expect(limiter.size).toBe(100)
    // subject-0 was pushed out long ago: it starts again with its full limit (documented fail-open).
    expect((await limiter.consume('subject-0', one)).allowed).toBe(true)
    expect((await limiter.consume('subject-9999', one)).allowed).toBe(false)
  })

  it('never refills when the clock goes back, and counts the retry from the later time', async () => {
    const { clock, limiter } = limiterWithClock(1_000_000)
    for (let i = 0; i < 5; i++) await limiter.consume('k', plan)
    clock.set(1_000_000 - 5_000)
    expect(await limiter.consume('k', plan)).toMatchObject({ allowed: false, retryAfterMs: 7_000, resetMs: 15_000 })
    clock.set(1_000_000 + 2_000)
    expect((await limiter.consume('k', plan)).allowed).toBe(true)
  })

  it('carries usage over a plan change, capped at one window of the new plan', async () => {
    const { clock, limiter } = limiterWithClock()
    const big: FinitePlan = { limit: 100, windowMs: 10_000 }
    const small: FinitePlan = { limit: 2, windowMs: 10_000 }
    for (let i = 0; i < 100; i++) await limiter.consume('k', big)
    expect(await limiter.consume('k', small)).toMatchObject({ allowed: false, retryAfterMs: 5_000 })
    clock.advance(5_000)
    expect((await limiter.consume('k', small)).allowed).toBe(true)
    // From the small plan back to the big one: the 2 requests' worth it owes are 2 of the 100.
    expect(await limiter.consume('k', big)).toMatchObject({ allowed: true, remaining: 100 - 2 - 1 })
  })

  it('rejects invalid subjects and plans with TC_INVALID_OPTIONS', async () => {
    const { limiter } = limiterWithClock()
    await expect(limiter.consume('', plan)).rejects.toThrow(InvalidOptionsError)
    await expect(limiter.consume('x'.repeat(257), plan)).rejects.toThrow(InvalidOptionsError)
    await expect(limiter.consume(42 as unknown as string, plan)).rejects.toThrow(InvalidOptionsError)
    await expect(limiter.consume('k', { limit: 0, windowMs: 1 })).rejects.toThrow(InvalidOptionsError)
    await expect(limiter.consume('k', { limit: 1.5, windowMs: 1 })).rejects.toThrow(InvalidOptionsError)
    await expect(limiter.consume('k', 'free' as unknown as FinitePlan)).rejects.toThrow(InvalidOptionsError)
    expect(() => new MemoryRateLimiter({ maxSubjects: 0 })).toThrow(InvalidOptionsError)
  })

  it('refuses to be used after close', async () => {
    const { limiter } = limiterWithClock()
    await limiter.consume('k', plan)
    await limiter.close()
    await limiter.close()
    expect(limiter.size).toBe(0)
    await expect(limiter.consume('k', plan)).rejects.toThrow(CacheClosedError)
  })
})

describe('gcraStep', () => {
  it('adds nothing on refusal: the state returned is the one read, drained to now', () => {
    const plan: FinitePlan = { limit: 2, windowMs: 100 }
    const first = gcraStep(undefined, 1_000, plan)
    const second = gcraStep(first.state, 1_000, plan)
    const refused = gcraStep(second.state, 1_010, plan)
    expect(refused.allowed).toBe(false)
    expect(refused.state).toEqual({ stampMs: 1_010, debt: second.state.debt - 10 * 2 })
  })
})

describe('assertAllowed', () => {
  it('throws TC_RATE_LIMITED (429) with retryAfterMs for a refusal, nothing otherwise', async () => {
    const { limiter } = limiterWithClock()
    const plan: FinitePlan = { limit: 1, windowMs: 30_000 }
    assertAllowed(await limiter.consume('k', plan))
    const refused = await limiter.consume('k', plan)
    let thrown: unknown
    try {
      assertAllowed(refused)
    } catch (error) {
      thrown = error
    }
    expect(thrown).toBeInstanceOf(RateLimitedError)
    expect(isTiercacheError(thrown, 'TC_RATE_LIMITED')).toBe(true)
    expect(thrown).toMatchObject({ statusCode: 429, retryAfterMs: 30_000, name: 'RateLimitedError' })
  })
})

describe('createRateLimiter', () => {
  it('makes a memory limiter without redis, accepting (and not using) the Redis options', async () => {
    const limiter = await createRateLimiter({ prefix: 'app', onError: () => {}, maxSubjects: 10 })
    expect(limiter).toBeInstanceOf(MemoryRateLimiter)
    const decisions = await Promise.all(Array.from({ length: 4 }, () => limiter.consume('k', { limit: 3, windowMs: 60_000 })))
    expect(decisions.filter((d) => d.allowed)).toHaveLength(3)
    await limiter.close()
  })

  it.each([
    ['a redis that is not a client', { redis: 'redis://127.0.0.1:6379' }],
    ['a bad prefix', { prefix: 'has space' }],
    ['a prefix with a hash tag', { prefix: 'a{b}' }],
    ['an unknown option', { window: 5 }],
    ['a zero command timeout', { commandTimeoutMs: 0 }],
  ])('rejects %s with TC_INVALID_OPTIONS', async (_, options) => {
    await expect(createRateLimiter(options as never)).rejects.toThrow(InvalidOptionsError)
  })
})
