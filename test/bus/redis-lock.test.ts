import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createRedisLock, type RedisLock, type RedisLockOptions } from '../../src/bus/redis-lock.js'
import { isTiercacheError } from '../../src/errors.js'
import { type RedisProcess, startRedisServer, TEST_REDIS_URL } from '../helpers/redis-server.js'
import { sleep, uniqueChannel } from './helpers.js'

const opened: RedisLock[] = []
const clients: Redis[] = []

/** A lock client the test closes after it; every test uses its own key prefix and channel. */
function lock(shared: { prefix: string; channel: string }, options: Partial<RedisLockOptions> = {}): RedisLock {
  const created = createRedisLock({ connection: TEST_REDIS_URL, ...shared, ...options })
  opened.push(created)
  return created
}

function namespace() {
  return { prefix: `${uniqueChannel('lock')}:`, channel: uniqueChannel('lock-released') }
}

/** Resolves the ms `promise` took to settle. */
async function timed(promise: Promise<unknown>): Promise<number> {
  const start = performance.now()
  await promise
  return performance.now() - start
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((l) => l.close()))
  for (const client of clients.splice(0)) client.disconnect()
})

describe('RedisLock on a shared Redis', () => {
  it('gives the lock to exactly one of many concurrent acquirers', async () => {
    const ns = namespace()
    const contenders = Array.from({ length: 12 }, () => lock(ns))
    const tokens = await Promise.all(contenders.flatMap((l) => [l.acquire('k', 5_000), l.acquire('k', 5_000)]))
    const winners = tokens.filter((token) => token !== undefined)
    expect(winners).toHaveLength(1)
    expect(winners[0]).toMatch(/^[0-9a-f-]{36}$/)
    // Another name is independent.
    expect(await contenders[0]?.acquire('other', 5_000)).toBeTypeOf('string')
  })

  it('release wakes a waiter of another process at once, and frees the lock', async () => {
    const ns = namespace()
    const [holder, waiter] = [lock(ns), lock(ns)]
    const token = await holder.acquire('k', 10_000)
    expect(token).toBeDefined()
    const timeoutMs = 5_000
    let wokeAt = Number.NaN
    const waited = waiter.waitForRelease('k', timeoutMs).then(() => (wokeAt = performance.now()))
    await sleep(100) // the waiter is subscribed and has seen the lock held
    expect(Number.isNaN(wokeAt)).toBe(true)
    const releasedAt = performance.now()
    await holder.release('k', token ?? '')
    await waited
    expect(wokeAt - releasedAt).toBeLessThan(timeoutMs / 10)
    expect(await waiter.acquire('k', 1_000)).toBeTypeOf('string')
  })

  it('wakes every waiter on the lock, in this and other processes, and only those', async () => {
    const ns = namespace()
    const [holder, w1, w2] = [lock(ns), lock(ns), lock(ns)]
    const token = (await holder.acquire('k', 10_000)) ?? ''
    await holder.acquire('unrelated', 10_000)
    const woke: string[] = []
    const waits = [
      w1.waitForRelease('k', 3_000).then(() => woke.push('w1a')),
      w1.waitForRelease('k', 3_000).then(() => woke.push('w1b')),
      w2.waitForRelease('k', 3_000).then(() => woke.push('w2')),
      w2.waitForRelease('unrelated', 3_000).then(() => woke.push('unrelated')),
    ]
    await sleep(100)
    const releasedAt = performance.now()
    await holder.release('k', token)
    await Promise.all(waits.slice(0, 3))
    expect(performance.now() - releasedAt).toBeLessThan(300)
    expect(woke.sort()).toEqual(['w1a', 'w1b', 'w2'])
  })

  it('does not miss a release that comes right after the wait starts (before the subscription)', async () => {
    const ns = namespace()
    const [holder, waiter] = [lock(ns), lock(ns)]
    const token = (await holder.acquire('k', 10_000)) ?? ''
    const waited = timed(waiter.waitForRelease('k', 3_000)) // first wait: subscribes lazily
    await holder.release('k', token)
    expect(await waited).toBeLessThan(300)
  })

  it('resolves at once for a lock nobody holds', async () => {
    const ns = namespace()
    const waiter = lock(ns)
    expect(await timed(waiter.waitForRelease('free', 3_000))).toBeLessThan(300)
  })

  it('ignores a release with a wrong token', async () => {
    const ns = namespace()
    const [holder, other] = [lock(ns), lock(ns)]
    const token = (await holder.acquire('k', 10_000)) ?? ''
    let woken = false
    void other.waitForRelease('k', 400).then(() => (woken = true))
    await sleep(50)
    await other.release('k', 'not-the-token')
    await sleep(150)
    expect(woken).toBe(false)
    expect(await other.acquire('k', 1_000)).toBeUndefined()
    expect(await holder.extend('k', token, 10_000)).toBe(true)
  })

  it('a crashed holder delays a waiter by its ttl at most', async () => {
    const ns = namespace()
    const [crashed, waiter, patient] = [lock(ns), lock(ns), lock(ns)]
    expect(await crashed.acquire('k', 300)).toBeDefined() // and never released
    const start = performance.now()
    const [waitedOut, woke] = await Promise.all([
      timed(waiter.waitForRelease('k', 300)), // times out with the ttl
      timed(patient.waitForRelease('k', 10_000)), // wakes when the lock expires
    ])
    // Bounds with generous slack for a loaded machine: without the ttl, `patient` would wait 10 s.
    expect(waitedOut).toBeGreaterThanOrEqual(295)
    expect(waitedOut).toBeLessThan(1_500)
    expect(woke).toBeGreaterThanOrEqual(250)
    expect(woke).toBeLessThan(1_500)
    expect(await waiter.acquire('k', 1_000)).toBeTypeOf('string')
    expect(performance.now() - start).toBeLessThan(3_000)
  })

  it('extend keeps the lock held past its first ttl; a wrong or expired token cannot extend', async () => {
    const ns = namespace()
    const [holder, other] = [lock(ns), lock(ns)]
    const token = (await holder.acquire('k', 300)) ?? ''
    await sleep(200)
    expect(await holder.extend('k', token, 1_000)).toBe(true)
    expect(await holder.extend('k', 'wrong', 1_000)).toBe(false)
    await sleep(300) // past the first ttl
    expect(await other.acquire('k', 1_000)).toBeUndefined()
    // A waiter that read the old expiry does not wake at it: it re-reads the ttl.
    let woken = false
    void other.waitForRelease('k', 500).then(() => (woken = true))
    await sleep(300)
    expect(woken).toBe(false)
    const short = (await holder.acquire('short', 100)) ?? ''
    await sleep(200)
    expect(await holder.extend('short', short, 1_000)).toBe(false) // expired: gone
  })

  it('close wakes every waiter and refuses further use', async () => {
    const ns = namespace()
    const [holder, waiter] = [lock(ns), lock(ns)]
    await holder.acquire('k', 10_000)
    const waits = [timed(waiter.waitForRelease('k', 5_000)), timed(waiter.waitForRelease('j', 5_000))]
    await sleep(50)
    await Promise.all([waiter.close(), waiter.close()])
    for (const ms of await Promise.all(waits)) expect(ms).toBeLessThan(500)
    await expect(waiter.acquire('k', 1_000)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_CACHE_CLOSED'))
    expect(await timed(waiter.waitForRelease('k', 5_000))).toBeLessThan(50)
  })

  it('validates names, ttls and options', async () => {
    const ns = namespace()
    const l = lock(ns)
    await expect(l.acquire('', 1_000)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_INVALID_KEY'))
    for (const ttl of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      await expect(l.acquire('k', ttl)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_INVALID_DURATION'))
    }
    await expect(l.extend('k', 't', 0)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_INVALID_DURATION'))
    expect(await timed(l.waitForRelease('k', -5))).toBeLessThan(50)
    expect(await timed(l.waitForRelease('k', Number.NaN))).toBeLessThan(50)
    for (const options of [{ channel: '' }, { commandTimeoutMs: 0 }, { connection: {} }, { extra: 1 }]) {
      expect(() => createRedisLock({ connection: TEST_REDIS_URL, ...options } as unknown as RedisLockOptions)).toThrow(
        expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }),
      )
    }
  })

  it('works through a client passed in with a keyPrefix, and leaves it open', async () => {
    const ns = namespace()
    const client = new Redis(TEST_REDIS_URL, { keyPrefix: 'app1:' })
    clients.push(client)
    const [holder, waiter] = [lock(ns, { connection: client }), lock(ns, { connection: client })]
    const token = (await holder.acquire('k', 10_000)) ?? ''
    expect(await client.pttl(`${ns.prefix}k`)).toBeGreaterThan(9_000) // stored under app1:<prefix>k
    const waited = timed(waiter.waitForRelease('k', 3_000))
    await sleep(100)
    await holder.release('k', token)
    expect(await waited).toBeLessThan(400)
    await holder.close()
    await waiter.close()
    expect(await client.ping()).toBe('PONG')
  })
})

describe('RedisLock on a private Redis that fails', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server.stop()
  })

  it('rejects fast while Redis is down, waiters just wait their timeout, and it works again after restart', async () => {
    const ns = namespace()
    const [holder, waiter] = [lock(ns, { connection: server.url }), lock(ns, { connection: server.url })]
    const token = (await holder.acquire('k', 10_000)) ?? ''
    expect(token).not.toBe('')
    await server.kill()
    await sleep(50)
    let error: unknown
    const took = await timed(holder.acquire('j', 1_000).catch((e: unknown) => (error = e)))
    expect(isTiercacheError(error, 'TC_TIER_UNAVAILABLE')).toBe(true)
    expect(took).toBeLessThan(1_200) // no offline queue: fails at once, or by the command timeout
    await expect(holder.release('k', token)).rejects.toSatisfy((e) => isTiercacheError(e, 'TC_TIER_UNAVAILABLE'))
    const waited = await timed(waiter.waitForRelease('k', 300))
    expect(waited).toBeGreaterThanOrEqual(295)
    await server.restart()
    await retry(async () => {
      expect(await holder.acquire('k', 1_000)).toBeTypeOf('string') // the restart lost the old lock
    })
  })
})

async function retry(operation: () => Promise<void>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      return await operation()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await sleep(50)
    }
  }
}
