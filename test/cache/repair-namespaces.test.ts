import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { RepairWidenedEvent } from '../../src/cache/events.js'
import { createCache } from '../../src/index.js'
import { createPostgresTier } from '../../src/tiers/sql/postgres/index.js'
import { FakeClock, cacheOver } from '../helpers/cache.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'

// Faults 1 of issue 8: one instance's outage used to end in `delete from tiercache_entries`, every
// tenant's and every application's entries. Two caches share one PostgreSQL table; one of them
// (through a proxy the test cuts) misses more removals than it remembers, in its own namespace.
describe('two caches on one PostgreSQL table, one missing more removals than it remembers', () => {
  it("clears only the namespace it missed removals in: the other's entries survive", async () => {
    const run = randomUUID().slice(0, 8)
    const [nsX, nsY] = [`x-${run}`, `y-${run}`]
    const url = new URL(TEST_POSTGRES_URL)
    const proxy = await startTcpProxy(Number(url.port || 5432))
    url.port = String(proxy.port)
    const clock = new FakeClock()
    const tier = await createPostgresTier({ url: url.toString(), cleanupIntervalMs: 0 })
    const { cache: a } = cacheOver(tier, { l1: false, namespace: nsX, circuitBreaker: { failureThreshold: 1, openFor: 1_000 } }, undefined, clock.now)
    const b = createCache({ l1: false, l3: { postgres: TEST_POSTGRES_URL }, namespace: nsY })
    const widened: RepairWidenedEvent[] = []
    a.on('repair:widened', (event) => widened.push(event))
    try {
      await a.set('removed', 'old')
      await a.set('kept-by-nobody', 'x')
      for (let i = 0; i < 50; i++) await b.set(`y${i}`, i)

      proxy.cut()
      // 10,001 distinct removals: one more than the memory (maxRepairs, 10,000) holds one by one.
      await a.delete('removed')
      for (let i = 0; i < 10_000; i++) await a.delete(`missed${i}`)
      expect(a.health().find((t) => t.level === 'l3')?.circuit).toBe('open')
      proxy.restore()
      clock.advance(1_000)

      expect(await a.get('removed')).toBeUndefined() // the probe replays the widened removal first
      expect(await a.get('kept-by-nobody')).toBeUndefined() // in the namespace it missed removals in
      expect(widened).toEqual([{ level: 'l3', kind: 'postgres', missed: 10_001, namespaces: [nsX], prefixes: [], tags: [], all: false }])
      for (let i = 0; i < 50; i++) expect(await b.getWithInfo(`y${i}`)).toMatchObject({ value: i, source: 'l3' })
    } finally {
      await Promise.all([a.close(), b.close()])
      await proxy.close()
    }
  }, 60_000)
})
