// A warming job fills every tier: L1 memory, Redis (L2) and the SQL tier (L3), SQLite and PostgreSQL
// (a database of this file's own), against the real servers. Each shared tier is then read by a
// second cache that has only that tier, so that the entry is shown to be stored there, not only
// reported.
import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type Cache, type CacheOptions, createCache, definePolicy } from '../../../src/index.js'
import { Warmer } from '../../../src/policy/warm/index.js'
import { type ScratchDatabase, scratchDatabase } from '../../helpers/postgres.js'
import { TEST_REDIS_URL } from '../../helpers/redis-server.js'

const policy = definePolicy({
  policies: { reference: { ttl: '6h', grace: '1d' } },
  warm: {
    jobs: {
      reference: {
        namespace: 'reference',
        policy: 'reference',
        tags: ['reference'],
        concurrency: 2,
        source: ({ key }) => ({ key, loadedBy: 'warm' }),
        keys: ['countries', 'airports', 'currencies'],
      },
    },
  },
})

let dir: string
let database: ScratchDatabase
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tiercache-warm-'))
  database = await scratchDatabase('warm')
})
afterAll(async () => {
  rmSync(dir, { recursive: true, force: true })
  await database.drop()
})

/** Resolves once the cache's bus listens (it starts on the cache's first call). */
async function listening(cache: Cache): Promise<void> {
  const heard = new Promise<void>((resolve) => {
    cache.on('bus:state', (event) => {
      if (event.listening) resolve()
    })
  })
  await cache.namespace('probe').get('start')
  if (cache.busState !== 'listening') await heard
}

async function fillsEveryTier(l3: CacheOptions['l3'], kind: string): Promise<void> {
  const prefix = `tc-warm-${randomUUID()}`
  const cache = createCache({ policies: policy, l2: { redis: TEST_REDIS_URL, prefix }, l3 })
  const onlyRedis = createCache({ l1: false, l2: { redis: TEST_REDIS_URL, prefix, bus: false, lock: false }, l3: false })
  const onlySql = createCache({ l1: false, l3 })
  const caches: Cache[] = [cache, onlyRedis, onlySql]
  try {
    // L1 is bypassed until the bus listens (docs/operations.md): warming starts once it does.
    await listening(cache)
    const warmer = new Warmer(cache, policy.config)
    const report = await warmer.run('reference')
    expect(report).toMatchObject({ job: 'reference', namespace: 'reference', total: 3, loaded: 3, failed: 0 })
    for (const key of ['countries', 'airports', 'currencies']) {
      const explained = await cache.namespace('reference').explain(key)
      expect(explained.tiers.map((tier) => [tier.level, tier.kind, tier.state])).toEqual([
        ['l1', 'memory', 'present'],
        ['l2', 'redis', 'present'],
        ['l3', kind, 'present'],
      ])
      for (const tier of explained.tiers) {
        // The policy's 6 h ttl and 1 d grace, in every tier.
        expect(tier.freshUntil! - tier.createdAt!).toBe(6 * 3_600_000)
        expect(tier.staleUntil! - tier.freshUntil!).toBe(24 * 3_600_000)
        expect(tier.tags).toEqual(['reference'])
      }
      expect(await onlyRedis.namespace('reference').get(key)).toEqual({ key, loadedBy: 'warm' })
      expect(await onlySql.namespace('reference').get(key)).toEqual({ key, loadedBy: 'warm' })
    }
    await warmer.close()
    await cache.namespace('reference').clear()
  } finally {
    await Promise.all(caches.map((c) => c.close()))
  }
}

describe('a warming job', () => {
  it('fills L1, Redis and SQLite', async () => {
    await fillsEveryTier({ sqlite: join(dir, 'cache.db') }, 'sqlite')
  })

  it('fills L1, Redis and PostgreSQL', async () => {
    await fillsEveryTier({ postgres: database.url }, 'postgres')
  })
})
