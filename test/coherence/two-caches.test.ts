import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'

// Two caches in one process, over the shared test Redis (a prefix of their own): they behave as two
// instances of an application. The multi-process tests do the same across real processes.
let open: Cache[] = []
afterEach(async () => {
  await Promise.all(open.map((cache) => cache.close()))
  open = []
})

async function instances(count: number): Promise<Cache[]> {
  const prefix = `t${randomUUID().slice(0, 8)}`
  const caches = Array.from({ length: count }, () => createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false }))
  open.push(...caches)
  // L1 is bypassed until an instance's bus listens: wait until each serves from L1
  await Promise.all(caches.map((cache) => listening(cache)))
  return caches
}

function listening(cache: Cache): Promise<void> {
  return new Promise((resolve) => {
    const probe = async () => {
      await cache.set('__probe', 1)
      if ((await cache.getWithInfo('__probe'))?.source === 'l1') return resolve()
      setTimeout(probe, 20)
    }
    void probe()
  })
}

describe('instances sharing Redis', () => {
  it('drop what another instance overwrote from their L1', async () => {
    const [a, b] = (await instances(2)) as [Cache, Cache]
    expect([a.busState, b.busState]).toEqual(['listening', 'listening'])
    await a.set('k', 'v1')
    // a's set message may reach b after b's first read, and drop what that read put in b's L1
    await vi.waitFor(async () => expect((await b.getWithInfo('k'))?.source).toBe('l1'))
    expect(await b.get('k')).toBe('v1')
    await a.set('k', 'v2')
    await vi.waitFor(async () => expect(await b.get('k')).toBe('v2'))
  })

  it('drop invalidated tags from every L1', async () => {
    const [a, b] = (await instances(2)) as [Cache, Cache]
    const heardSet = new Promise<void>((resolve) =>
      b.on('removal', ({ removal, remote }) => {
        if (remote && removal.kind === 'key' && removal.key === 'k') resolve()
      }),
    )
    await a.set('k', 'v', { tags: ['t'] })
    // Only once a's set message has dropped b's old copy and b serves 'k' from L1: then only the
    // invalidation's message can take it out of b's L1 (with L2 alone clean, b would still serve it).
    await heardSet
    await vi.waitFor(async () => expect((await b.getWithInfo('k'))?.source).toBe('l1'))
    await a.invalidateTags(['t'])
    await vi.waitFor(async () => expect(await b.get('k')).toBeUndefined())
  })

  it('run a factory once across instances', async () => {
    const caches = await instances(3)
    const factory = vi.fn(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50))
      return 'once'
    })
    const results = await Promise.all(Array.from({ length: 60 }, (_, i) => (caches[i % 3] as Cache).getOrSet('cold', factory)))
    expect(new Set(results)).toEqual(new Set(['once']))
    expect(factory).toHaveBeenCalledTimes(1)
  })
})
