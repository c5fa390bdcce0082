/**
 * Request collapsing across instances: two HTTP caches on two caches sharing Redis (L2, bus and the
 * cross-process lock; the shared test server under a prefix of this file's own), in front of one
 * origin over real HTTP on loopback, as two servers behind a load balancer.
 */
import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type Mounted, gate, mount, startOrigin } from './harness.js'

let mounted: Mounted[] = []
afterEach(async () => {
  await Promise.all(mounted.map((env) => env.close()))
  mounted = []
})

describe('request collapsing across instances sharing Redis', () => {
  it('concurrent misses for one variant on two instances make one origin request; the second is answered the stored response', async () => {
    const origin = await startOrigin()
    const prefix = `tc-http-${randomUUID().slice(0, 8)}`
    const caches = [0, 1].map(() => createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false }))
    const [a, b] = (await Promise.all(caches.map((cache) => mount({}, { cache, origin })))) as [Mounted, Mounted]
    mounted.push(a, b)
    try {
      const reached = gate()
      const release = gate()
      origin.on('/c', async (_req, n) => {
        reached.open()
        await release.promise
        return { headers: { 'cache-control': 'max-age=600' }, body: `/c ${n}` }
      })
      const first = a.request('/c')
      await reached.promise
      // b has looked for the flight in L2 and missed: it now waits on a's lock (or finds a's result).
      const bLooked = gate()
      caches[1]!.on('tier:miss', (event) => {
        if (event.level === 'l2' && event.key.startsWith('flight ')) bLooked.open()
      })
      const second = b.request('/c')
      await bLooked.promise
      release.open()
      const [one, two] = await Promise.all([first, second])
      expect(one.text).toBe('/c 1')
      expect(two.text).toBe('/c 1')
      expect(one.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=600; stored')
      expect(two.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=600; collapsed')
      expect(origin.hits('/c')).toBe(1)
    } finally {
      await a.view.clear()
      await origin.close()
    }
  })
})
