import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/index.js'
import { freePort, startRedisServer } from '../helpers/redis-server.js'

// Backends that are down when the cache starts: callers see no error, and the cache uses the
// backend as soon as it comes up, without being recreated.
let cache: Cache | undefined
afterEach(async () => {
  await cache?.close()
  cache = undefined
})

describe('a backend down at start', () => {
  it('Redis: calls succeed from the origin, and L2 is used once Redis is up', async () => {
    const port = await freePort()
    cache = createCache({
      l1: false,
      l2: { redis: `redis://127.0.0.1:${port}`, commandTimeout: 200 },
      l3: false,
      circuitBreaker: { failureThreshold: 2, openFor: 100 },
    })
    const errors: unknown[] = []
    cache.on('tier:error', (event) => errors.push(event.error))
    expect(await cache.getOrSet('k', () => 'from-origin')).toBe('from-origin')
    await cache.set('k2', 'v')
    expect(errors.length).toBeGreaterThan(0)

    const redis = await startRedisServer([], port)
    try {
      let served: string | undefined
      for (let i = 0; i < 100 && served !== 'l2'; i++) {
        await cache.set('k3', 'in-redis')
        served = (await cache.getWithInfo('k3'))?.source
        if (served !== 'l2') await new Promise((resolve) => setTimeout(resolve, 50))
      }
      expect(served).toBe('l2')
    } finally {
      await redis.stop()
    }
  })

  it('PostgreSQL: calls succeed from the origin, and /health shows the open circuit', async () => {
    const port = await freePort()
    cache = createCache({ l3: { postgres: `postgres://postgres@127.0.0.1:${port}/test` }, circuitBreaker: { failureThreshold: 2, openFor: 60_000 } })
    for (let i = 0; i < 3; i++) expect(await cache.getOrSet(`k${i}`, () => i)).toBe(i)
    expect(await cache.get('k0')).toBe(0) // from L1
    expect(cache.health().find((tier) => tier.level === 'l3')?.circuit).toBe('open')
  })
})
