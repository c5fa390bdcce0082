// MemoryTier with eviction 'tinylfu' (issue 13): the W-TinyLFU counterparts of the memory tests that
// rely on LRU order (memory.test.ts runs the rest, and the conformance suite, for both policies).
import { readFileSync } from 'node:fs'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { resolveCacheOptions } from '../../src/cache/options.js'
import { createCache } from '../../src/index.js'
import { type EvictionReason, type L1Eviction, MemoryTier } from '../../src/tiers/memory.js'
import { hasTrace, tracePath } from '../cli/traces.js'
import { makeEntry } from './conformance.js'

// makeEntry('ns', 'k1', 1) weighs about 175 bytes (1 byte of value, the key, 160 of bookkeeping):
// about 100 such entries fill ROOM, so that in these tests the bytes bind; the policy bounds its
// regions by their shares of both the bytes and the count (see the tests where the count binds).
const ROOM = 100 * 190

function evictions(): { log: [string, EvictionReason][]; onEvict: (entry: { key: string }, reason: EvictionReason) => void } {
  const log: [string, EvictionReason][] = []
  return { log, onEvict: (entry, reason) => log.push([entry.key, reason]) }
}

/** Writes `hot` keys and reads each `reads` times, then writes `scan` one-hit keys; the hot keys still held. */
function hotThroughScan(tier: MemoryTier, hot: number, reads: number, scan: number): number {
  const now = Date.now()
  for (let i = 0; i < hot; i++) tier.put(makeEntry('ns', `hot${i}`, i))
  for (let r = 0; r < reads; r++) for (let i = 0; i < hot; i++) tier.peekKey('ns', `hot${i}`, now)
  for (let i = 0; i < scan; i++) tier.put(makeEntry('ns', `scan${i}`, i))
  let held = 0
  for (let i = 0; i < hot; i++) if (tier.inspect('ns', `hot${i}`) !== undefined) held++
  return held
}

describe('memory tier (tinylfu order)', () => {
  it('keeps frequently read entries through a scan of one-hit keys, which LRU loses', () => {
    const held = (eviction: L1Eviction) => hotThroughScan(new MemoryTier({ eviction, maxEntries: 10_000, maxBytes: ROOM }), 50, 5, 1_000)
    expect(held('lru')).toBe(0)
    expect(held('tinylfu')).toBe(50)
  })

  it('does the same when the count binds first', () => {
    const held = (eviction: L1Eviction) => hotThroughScan(new MemoryTier({ eviction, maxEntries: 100, maxBytes: 150 * 190 }), 50, 5, 1_000)
    expect(held('lru')).toBe(0)
    expect(held('tinylfu')).toBe(50)
  })

  it('full of popular entries, lets one-hit keys displace only one another, as size evictions', () => {
    const { log, onEvict } = evictions()
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 10_000, maxBytes: ROOM, onEvict })
    const now = Date.now()
    for (let i = 0; i < 150; i++) {
      tier.put(makeEntry('ns', `k${i}`, i))
      for (let r = 0; r < 3; r++) tier.peekKey('ns', `k${i}`, now)
    }
    // The window (1 % of ROOM) holds one entry: the last written, k149; the main region holds the rest.
    const popular = [...Array(149).keys()].map((i) => `k${i}`).filter((key) => tier.inspect('ns', key) !== undefined)
    expect(popular.length).toBeGreaterThan(90)
    log.length = 0
    // A new entry enters the window (put is true); the key it pushes out of the window is refused
    // admission when no more frequent than the main region's victim: the candidate itself is evicted.
    // First k149 (a tie: four requests each), then each one-hit key in turn.
    for (let i = 0; i < 200; i++) expect(tier.put(makeEntry('ns', `once${i}`, i))).toBe(true)
    expect(log.map(([key]) => key)).toEqual(['k149', ...[...Array(199).keys()].map((i) => `once${i}`)])
    expect(new Set(log.map(([, reason]) => reason))).toEqual(new Set(['size']))
    for (const key of popular) expect(tier.inspect('ns', key)).toBeDefined()
    expect(tier.whyAbsent('ns', 'once0')).toBe('evicted')
  })

  it('refuses a newcomer larger than the window outright: put is false, and it is evicted itself', async () => {
    const { log, onEvict } = evictions()
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 10_000, maxBytes: ROOM, onEvict })
    const now = Date.now()
    for (let i = 0; i < 150; i++) {
      tier.put(makeEntry('ns', `k${i}`, i))
      for (let r = 0; r < 3; r++) tier.peekKey('ns', `k${i}`, now)
    }
    log.length = 0
    const size = tier.size
    const bytes = tier.bytes
    // ~500 bytes: more than the window's 1 % of ROOM, so it goes straight to admission, and loses
    expect(tier.put(makeEntry('ns', 'newcomer', 'x'.repeat(300), { tags: ['t'] }))).toBe(false)
    // the bytes were the bound exceeded (the count is far from its 10,000)
    expect(log).toEqual([['newcomer', 'size']])
    expect(tier.inspect('ns', 'newcomer')).toBeUndefined()
    expect(tier.whyAbsent('ns', 'newcomer')).toBe('evicted')
    expect(await tier.keys('ns', { after: 'm', limit: 10 })).toEqual([])
    expect(tier.removeByTags(['t'])).toBe(0)
    expect([tier.size, tier.bytes]).toEqual([size, bytes])
  })

  it('reports a refusal as a count eviction when the count is the bound exceeded', () => {
    const { log, onEvict } = evictions()
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 100, maxBytes: 150 * 190, onEvict })
    const now = Date.now()
    for (let i = 0; i < 100; i++) {
      tier.put(makeEntry('ns', `k${i}`, i))
      for (let r = 0; r < 3; r++) tier.peekKey('ns', `k${i}`, now)
    }
    expect(log).toEqual([])
    expect(tier.put(makeEntry('ns', 'newcomer', 'x'.repeat(300)))).toBe(false)
    expect(log).toEqual([['newcomer', 'count']])
    expect(tier.size).toBe(100)
  })

  it('admits a key once it is asked for more often than what it would displace', () => {
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 10_000, maxBytes: ROOM })
    const now = Date.now()
    for (let i = 0; i < 150; i++) {
      tier.put(makeEntry('ns', `k${i}`, i))
      tier.peekKey('ns', `k${i}`, now)
    }
    // each write of a key not held counts one request for it in the sketch; the victims have two
    let refused = 0
    while (!tier.put(makeEntry('ns', 'rising', 'x'.repeat(300)))) if (++refused > 20) break
    expect(refused).toBe(2)
    expect(tier.peekKey('ns', 'rising', now)?.value).toBe('x'.repeat(300))
  })

  it('does not count a listing as a use of the keys listed', async () => {
    const run = async (list: boolean): Promise<string[]> => {
      const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 10_000, maxBytes: ROOM })
      for (let i = 0; i < 150; i++) {
        tier.put(makeEntry('ns', `k${String(i).padStart(3, '0')}`, i))
        if (list && i % 10 === 0) for (let j = 0; j < 5; j++) await tier.keys('ns', { limit: 1_000 })
      }
      return tier.keys('ns', { limit: 1_000 })
    }
    expect(await run(true)).toEqual(await run(false))
  })

  it('shrinks by evicting the least valuable entries first, as count evictions, keeping the tag index', async () => {
    const { log, onEvict } = evictions()
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 100, maxBytes: 1_000_000, onEvict })
    const now = Date.now()
    for (let i = 0; i < 100; i++) tier.put(makeEntry('ns', `k${i}`, i, { tags: [`t${i % 2}`] }))
    // the first ten are read often: they are the last the policy would evict
    for (let r = 0; r < 5; r++) for (let i = 0; i < 10; i++) tier.peekKey('ns', `k${i}`, now)
    tier.resize({ maxEntries: 20, maxBytes: 1_000_000 })
    expect(tier.bounds).toEqual({ maxEntries: 20, maxBytes: 1_000_000 })
    expect(tier.size).toBe(20)
    expect(log).toHaveLength(80)
    expect(new Set(log.map(([, reason]) => reason))).toEqual(new Set(['count']))
    for (let i = 0; i < 10; i++) expect(tier.inspect('ns', `k${i}`)).toBeDefined()
    const held = (await tier.keys('ns', { limit: 1_000 })).length
    expect(held).toBe(20)
    for (const [key] of log) expect(tier.whyAbsent('ns', key)).toBe('evicted')
    // the tag index followed: t0 finds exactly the even keys still held
    const even = [...Array(100).keys()].filter((i) => i % 2 === 0 && tier.inspect('ns', `k${i}`) !== undefined).length
    expect(tier.removeByTags(['t0'])).toBe(even)
    // and the rebuilt policy still orders and bounds: it holds 20, and keeps evicting past them
    for (let i = 0; i < 50; i++) tier.put(makeEntry('ns', `new${i}`, i))
    expect(tier.size).toBeLessThanOrEqual(20)
  })

  it('shrinks in bytes, and grows: holds more after', () => {
    const { log, onEvict } = evictions()
    const tier = new MemoryTier({ eviction: 'tinylfu', maxEntries: 100, maxBytes: 100 * 190, onEvict })
    for (let i = 0; i < 100; i++) tier.put(makeEntry('ns', `k${i}`, i))
    tier.put(makeEntry('ns', 'big', 'x'.repeat(5_000)))
    log.length = 0
    const size = tier.size
    tier.resize({ maxEntries: 100, maxBytes: 4_000 })
    expect(tier.bytes).toBeLessThanOrEqual(4_000)
    expect(log.length).toBe(size - tier.size)
    expect(new Set(log.map(([, reason]) => reason))).toEqual(new Set(['size']))
    expect(tier.inspect('ns', 'big')).toBeUndefined()
    tier.resize({ maxEntries: 500, maxBytes: 1_000_000 })
    for (let i = 0; i < 500; i++) tier.put(makeEntry('ns', `more${i}`, i))
    expect(tier.size).toBe(500)
  })
})

describe('the l1 eviction option', () => {
  it("defaults to 'lru', accepts 'tinylfu' and refuses anything else", () => {
    expect(resolveCacheOptions({}).l1).toMatchObject({ eviction: 'lru' })
    expect(resolveCacheOptions({ l1: { eviction: 'tinylfu' } }).l1).toMatchObject({ eviction: 'tinylfu', maxEntries: 10_000 })
    expect(() => resolveCacheOptions({ l1: { eviction: 'lfu' as 'lru' } })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
  })

  it('reaches the cache: a popular key is still served from L1 after a scan, under tinylfu only', async () => {
    const servedFromL1 = async (eviction: L1Eviction): Promise<boolean> => {
      const cache = createCache({ l3: false, l1: { eviction, maxBytes: 100 * 250 }, ttl: '1h' })
      try {
        await cache.set('hot', 'h')
        for (let i = 0; i < 20; i++) await cache.get('hot')
        for (let i = 0; i < 1_000; i++) await cache.set(`scan${i}`, i)
        return (await cache.getWithInfo('hot'))?.source === 'l1'
      } finally {
        await cache.close()
      }
    }
    expect(await servedFromL1('lru')).toBe(false)
    expect(await servedFromL1('tinylfu')).toBe(true)
  })
})

describe('memory tier (tinylfu) bounded by count far below its bytes', () => {
  // Its regions are bounded by their shares of both the bytes and the count: a window sized in bytes
  // alone held most of 100 small entries under 64 MiB, and the tier was an LRU.
  it('keeps a hot set through a scan when the count binds', () => {
    const held = (eviction: L1Eviction) => hotThroughScan(new MemoryTier({ eviction, maxEntries: 100 }), 50, 5, 1_000)
    expect(held('lru')).toBe(0)
    expect(held('tinylfu')).toBe(50)
  })

  it('with the default bounds (10,000 entries, 64 MiB), small entries still keep a hot set through a long scan', () => {
    const held = (eviction: L1Eviction) => hotThroughScan(new MemoryTier({ eviction }), 2_000, 3, 30_000)
    expect(held('lru')).toBe(0)
    expect(held('tinylfu')).toBe(2_000)
  })
})

describe.skipIf(!hasTrace('glimpse.keys.gz'))('memory tier on the glimpse trace, 1,000 entries', () => {
  /** The hit ratio (%) of get, then set on a miss, through the real tier. */
  function replay(options: ConstructorParameters<typeof MemoryTier>[0]): string {
    const keys = gunzipSync(readFileSync(tracePath('glimpse.keys.gz'))).toString().split('\n').filter((line) => line !== '')
    const tier = new MemoryTier(options)
    const now = Date.now()
    let hits = 0
    for (const key of keys) {
      if (tier.peekKey('ns', key, now) !== undefined) hits++
      else tier.put(makeEntry('ns', key, 1))
    }
    return ((100 * hits) / keys.length).toFixed(2)
  }

  it("tinylfu more than quadruples LRU's hit ratio when the bytes bind (LRU: 11.21 %, the published figure)", () => {
    expect(replay({ eviction: 'lru', maxEntries: 1_000, maxBytes: 1_000 * 200 })).toBe('11.21')
    expect(Number(replay({ eviction: 'tinylfu', maxEntries: 1_000, maxBytes: 1_000 * 200 }))).toBeGreaterThan(45)
  })

  it('and when the count alone binds', () => {
    expect(Number(replay({ eviction: 'tinylfu', maxEntries: 1_000, maxBytes: Number.MAX_SAFE_INTEGER }))).toBeGreaterThan(45)
  })
})
