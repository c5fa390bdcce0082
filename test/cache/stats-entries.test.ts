import { randomUUID } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'

// Rough edge 10 of issue 8: stats() counted every row of the shared table as this cache's entries.
describe('stats() entries', () => {
  it("counts the view's own namespace in each tier, not the rows of others sharing the table", async () => {
    const run = randomUUID().slice(0, 8)
    const mine = createCache({ l3: { postgres: TEST_POSTGRES_URL }, namespace: `mine-${run}` })
    const theirs = createCache({ l1: false, l3: { postgres: TEST_POSTGRES_URL }, namespace: `theirs-${run}` })
    try {
      for (let i = 0; i < 3; i++) await mine.set(`k${i}`, i)
      for (let i = 0; i < 2; i++) await mine.namespace(`other-${run}`).set(`k${i}`, i)
      for (let i = 0; i < 5; i++) await theirs.set(`k${i}`, i)
      const stats = await mine.stats()
      expect(stats.tiers.l1?.entries).toBe(3)
      expect(stats.tiers.l3?.entries).toBe(3)
      expect((await mine.namespace(`other-${run}`).stats()).tiers.l3?.entries).toBe(2)
      expect((await theirs.stats()).tiers.l3?.entries).toBe(5)
    } finally {
      await Promise.all([mine.close(), theirs.close()])
    }
  })
})
