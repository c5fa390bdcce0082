import { describe, expect, it, vi } from 'vitest'
import { ControlledTier, cacheOver, gate, sleep } from '../helpers/cache.js'
import { MemoryLock } from '../helpers/memory-lock.js'

// Several caches over one shared tier and one lock behave as processes sharing Redis. These are
// tests of the engine's logic; the multi-process test proves it over real Redis and PostgreSQL.
function processes(count: number, lockTtlMs = 1_000) {
  const shared = new ControlledTier()
  const lock = new MemoryLock()
  const caches = Array.from({ length: count }, () => cacheOver(shared, {}, { lock, ttlMs: lockTtlMs }).cache)
  return { shared, lock, caches }
}

describe('single flight across processes', () => {
  it('runs the factory once for concurrent calls spread over several caches', async () => {
    const { caches } = processes(4)
    const factory = vi.fn(async () => {
      await sleep(30)
      return 'value'
    })
    const results = await Promise.all(Array.from({ length: 200 }, (_, i) => (caches[i % 4] as (typeof caches)[number]).getOrSet('cold', factory)))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(new Set(results)).toEqual(new Set(['value']))
  })

  it('serves the waiters what the lock holder stored, from the shared tier', async () => {
    const { caches } = processes(2)
    const [a, b] = caches as [(typeof caches)[number], (typeof caches)[number]]
    const holding = gate()
    const finish = gate()
    const first = a.getOrSetWithInfo('k', async () => (holding.open(), await finish.promise, 'from-a'))
    await holding.promise // a holds the lock and runs its factory
    const second = b.getOrSetWithInfo('k', () => 'from-b')
    finish.open()
    expect((await first).source).toBe('origin')
    expect(await second).toMatchObject({ value: 'from-a', source: 'l3' })
  })

  it('is delayed by the lock ttl at most when the holder crashed', async () => {
    const { caches, lock } = processes(1, 100)
    await lock.acquire('default:k', 100) // a holder that will never release
    const started = Date.now()
    expect(await (caches[0] as (typeof caches)[number]).getOrSet('k', () => 'recovered')).toBe('recovered')
    const waited = Date.now() - started
    expect(waited).toBeGreaterThanOrEqual(90)
    expect(waited).toBeLessThan(1_000)
  })

  it('lets the next process try when the holder failed', async () => {
    const { caches } = processes(2)
    const [a, b] = caches as [(typeof caches)[number], (typeof caches)[number]]
    const holding = gate()
    const fail = gate()
    const failing = a.getOrSet('k', async () => {
      holding.open()
      await fail.promise
      throw new Error('origin down')
    })
    await holding.promise
    const second = b.getOrSet('k', () => 'from-b')
    fail.open()
    await expect(failing).rejects.toMatchObject({ code: 'TC_FACTORY_ERROR' })
    expect(await second).toBe('from-b')
  })

  it('releases the lock once the value is stored', async () => {
    const { caches, lock } = processes(1)
    await (caches[0] as (typeof caches)[number]).getOrSet('k', () => 1)
    expect(lock.held.size).toBe(0)
    expect(lock.acquisitions).toBe(1)
  })
})
