/**
 * Keyv's public compliance suite (@keyv/test-suite: API, values, namespaces, iterator) against
 * KeyvTiercache, in three set-ups (the suite calls the store factory for every Keyv it builds); cache-manager 7 on
 * top; and several adapters sharing one SQLite file.
 */
import keyvTestSuite, { keyvIteratorTests } from '@keyv/test-suite'
import { createCache as createCacheManager } from 'cache-manager'
import Keyv from 'keyv'
import * as vitest from 'vitest'
import { afterAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { KeyvFixtures, later } from './keyv-helpers.js'

const fixtures = new KeyvFixtures()
afterAll(async () => {
  await fixtures.cleanup()
  expect(fixtures.tierErrors).toEqual([])
})

// keyvTestSuite leaves out the iterator tests (Keyv builds `keyv.iterator()` only for some stores; see
// KeyvTiercacheOpts.dialect): each set-up runs them too.

describe('compliance: a new KeyvTiercache({ l3: { sqlite } }) per Keyv, all on one SQLite file (L1 + L3)', () => {
  const sqlite = fixtures.sqlitePath()
  keyvTestSuite(vitest, Keyv, () => fixtures.adapter({ l3: { sqlite } }))
  keyvIteratorTests(vitest, Keyv, () => fixtures.adapter({ l3: { sqlite } }))
})

describe('compliance: adapters over one shared Cache on SQLite without L1 (every read from L3)', () => {
  const cache = fixtures.track(createCache({ l1: false, l3: { sqlite: fixtures.sqlitePath() } }))
  keyvTestSuite(vitest, Keyv, () => fixtures.adapter(cache))
  keyvIteratorTests(vitest, Keyv, () => fixtures.adapter(cache))
})

describe('compliance: adapters over one shared Cache, memory only (l3: false)', () => {
  const cache = fixtures.track(createCache({ l3: false }))
  keyvTestSuite(vitest, Keyv, () => fixtures.adapter(cache))
  keyvIteratorTests(vitest, Keyv, () => fixtures.adapter(cache))
})

describe('cache-manager 7 over Keyv over KeyvTiercache', () => {
  it('sets, gets, reports the ttl, deletes, and batches', async () => {
    const keyv = new Keyv({ store: fixtures.adapter({ l3: { sqlite: fixtures.sqlitePath() } }), namespace: 'cm' })
    const cm = createCacheManager({ stores: [keyv], ttl: 60_000 })
    const before = Date.now()
    expect(await cm.set('fare', { JFK: 420 })).toEqual({ JFK: 420 })
    expect(await cm.get('fare')).toEqual({ JFK: 420 })
    const expires = await cm.ttl('fare')
    expect(expires).toBeGreaterThanOrEqual(before + 60_000)
    expect(expires).toBeLessThanOrEqual(Date.now() + 60_000)
    expect(await cm.del('fare')).toBe(true)
    expect(await cm.get('fare')).toBeUndefined()

    await cm.mset<number | string>([
      { key: 'a', value: 1 },
      { key: 'b', value: 'two', ttl: 5_000 },
    ])
    expect(await cm.mget(['a', 'missing', 'b'])).toEqual([1, undefined, 'two'])
    expect(await cm.mdel(['a', 'b'])).toBe(true)
    expect(await cm.mget(['a', 'b'])).toEqual([undefined, undefined])
  })

  it('wrap runs the function once while the value is cached, and again once it expired', async () => {
    const keyv = new Keyv({ store: fixtures.adapter({ l3: { sqlite: fixtures.sqlitePath() } }), namespace: 'cm' })
    const cm = createCacheManager({ stores: [keyv] })
    let calls = 0
    const fares = async () => ({ fare: 400 + ++calls })
    expect(await cm.wrap('JFK:LHR', fares, 100)).toEqual({ fare: 401 })
    expect(await cm.wrap('JFK:LHR', fares, 100)).toEqual({ fare: 401 })
    const concurrent = await Promise.all([cm.wrap('CDG:NRT', fares, 100), cm.wrap('CDG:NRT', fares, 100)])
    expect(concurrent).toEqual([{ fare: 402 }, { fare: 402 }])
    expect(calls).toBe(2)
    expect(await later(150, () => cm.wrap('JFK:LHR', fares, 100))).toEqual({ fare: 403 })
  })

  it('serves a hit from KeyvTiercache as the second store and backfills the first', async () => {
    const sqlite = fixtures.sqlitePath()
    const front = new Keyv()
    const back = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    await back.set('k', 'from tiercache')
    const cm = createCacheManager({ stores: [front, back] })
    let calls = 0
    expect(await cm.wrap('k', async () => `origin ${++calls}`, 60_000)).toBe('from tiercache')
    expect(calls).toBe(0)
    expect(await front.get('k')).toBe('from tiercache')
  })

  it('clear() clears only the Keyv namespace of the cache-manager store, and disconnect() closes its cache', async () => {
    const sqlite = fixtures.sqlitePath()
    const store = fixtures.adapter({ l3: { sqlite } })
    const cm = createCacheManager({ stores: [new Keyv({ store, namespace: 'cm' })] })
    const neighbour = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'neighbour' })
    await cm.set('k', 1)
    await neighbour.set('k', 2)
    expect(await cm.clear()).toBe(true)
    expect(await cm.get('k')).toBeUndefined()
    expect(await neighbour.get('k')).toBe(2)
    await cm.disconnect()
    await expect(store.cache.get('k')).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
  })
})

describe('shared L3: several KeyvTiercache over one SQLite file (as several processes would)', () => {
  it('values written through Keyv are visible to a second KeyvTiercache', async () => {
    const sqlite = fixtures.sqlitePath()
    const writer = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'shared' })
    const reader = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'shared' })
    await writer.set('user:1', { name: 'Ada', roles: ['admin'] }, 60_000)
    await writer.set('forever', [1, 2, 3])
    await writer.setMany([
      { key: 'm1', value: 'one' },
      { key: 'm2', value: 'two', ttl: 60_000 },
    ])
    expect(await reader.get('user:1')).toEqual({ name: 'Ada', roles: ['admin'] })
    expect(await reader.get('forever')).toEqual([1, 2, 3])
    expect(await reader.getMany(['m1', 'missing', 'm2'])).toEqual(['one', undefined, 'two'])
    expect(await reader.has('user:1')).toBe(true)
    expect(await reader.has('missing')).toBe(false)
    const raw = await reader.getRaw('user:1')
    expect(raw?.expires).toBeGreaterThan(Date.now())

    const otherNamespace = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'other' })
    expect(await otherNamespace.get('user:1')).toBeUndefined()
  })

  it('a reader without L1 sees the writer overwrite, delete and clear', async () => {
    const sqlite = fixtures.sqlitePath()
    const writer = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    const reader = new Keyv({ store: fixtures.adapter({ l1: false, l3: { sqlite } }) })
    await writer.set('k', 1)
    expect(await reader.get('k')).toBe(1)
    await writer.set('k', 2)
    expect(await reader.get('k')).toBe(2)
    expect(await writer.delete('k')).toBe(true)
    expect(await reader.get('k')).toBeUndefined()
    await writer.set('a', 'x')
    await writer.set('b', 'y')
    await writer.clear()
    expect(await reader.getMany(['a', 'b'])).toEqual([undefined, undefined])
  })

  it('entries outlive the adapter that wrote them (durable L3)', async () => {
    const sqlite = fixtures.sqlitePath()
    const writer = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    await writer.set('durable', 'yes')
    await writer.disconnect()
    const reopened = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    expect(await reopened.get('durable')).toBe('yes')
  })

  it('expiry set through Keyv holds in the other adapter', async () => {
    const sqlite = fixtures.sqlitePath()
    const writer = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    const reader = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    // Both open the file first: on a loaded machine opening it can take longer than the ttl.
    await Promise.all([writer.get('warm-up'), reader.get('warm-up')])
    await writer.set('short', 'lived', 300)
    expect(await reader.get('short')).toBe('lived')
    await later(350, async () => {
      expect(await reader.get('short')).toBeUndefined()
      expect(await writer.get('short')).toBeUndefined()
    })
  })
})
