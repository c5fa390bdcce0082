import { describe, expect, it } from 'vitest'
import { type EvictionReason, type L1Eviction, MemoryTier } from '../../src/tiers/memory.js'
import { makeEntry, runTierConformance } from './conformance.js'

// The L1 contract holds under either ordering; the default stays 'lru'.
runTierConformance('memory', async () => new MemoryTier())
runTierConformance('memory (tinylfu)', async () => new MemoryTier({ eviction: 'tinylfu' }))

describe.each<L1Eviction>(['lru', 'tinylfu'])('memory tier bounds (%s)', (eviction) => {
  it('evicts to stay within maxBytes, reporting each eviction for the bytes', () => {
    const evicted: EvictionReason[] = []
    const tier = new MemoryTier({ eviction, maxEntries: 1000, maxBytes: 4096, onEvict: (_, reason) => evicted.push(reason) })
    let stored = 0
    for (let i = 0; i < 20; i++) if (tier.put(makeEntry('ns', `k${i}`, 'x'.repeat(500)))) stored++
    expect(tier.bytes).toBeLessThanOrEqual(4096)
    expect(tier.size).toBeGreaterThan(0)
    expect(tier.size).toBeLessThan(20)
    // every put that was refused or later displaced shows up as an eviction, all for the bytes
    expect(evicted).toHaveLength(20 - tier.size)
    expect(stored).toBeGreaterThanOrEqual(tier.size)
    expect(new Set(evicted)).toEqual(new Set(['size']))
  })

  it('drops evicted entries from the tag index', () => {
    const evicted: string[] = []
    const tier = new MemoryTier({ eviction, maxEntries: 1, onEvict: (entry) => evicted.push(entry.key) })
    tier.put(makeEntry('ns', 'a', 1, { tags: ['t'] }))
    tier.put(makeEntry('ns', 'b', 2, { tags: ['u'] }))
    expect(evicted).toHaveLength(1)
    const [gone] = evicted
    expect(tier.removeByTags([gone === 'a' ? 't' : 'u'], 'ns')).toBe(0)
    expect(tier.removeByTags([gone === 'a' ? 'u' : 't'], 'ns')).toBe(1)
    expect(tier.size).toBe(0)
  })

  it('keeps its key index in step with overwrites, evictions, deletes and clears', () => {
    const evicted: string[] = []
    const tier = new MemoryTier({ eviction, maxEntries: 2, onEvict: (entry) => evicted.push(`${entry.namespace}:${entry.key}`) })
    const now = Date.now()
    tier.put(makeEntry('ns', 'a', 1))
    tier.put(makeEntry('ns', 'a', 2))
    expect(tier.peekKey('ns', 'a', now)?.value).toBe(2)
    tier.put(makeEntry('ns', 'b', 3))
    tier.put(makeEntry('other', 'a', 4)) // one of the three goes
    expect(evicted).toHaveLength(1)
    for (const [namespace, key, value] of [['ns', 'a', 2], ['ns', 'b', 3], ['other', 'a', 4]] as const) {
      const held = !evicted.includes(`${namespace}:${key}`)
      expect(tier.peekKey(namespace, key, now)?.value).toBe(held ? value : undefined)
      expect(tier.whyAbsent(namespace, key)).toBe(held ? undefined : 'evicted')
    }
    tier.remove('ns', 'b')
    expect(tier.peekKey('ns', 'b', now)).toBeUndefined()
    tier.removeAll()
    expect(tier.size).toBe(0)
    expect(tier.peekKey('other', 'a', now)).toBeUndefined()
    tier.put(makeEntry('other', 'a', 5))
    expect(tier.peekKey('other', 'a', now)?.value).toBe(5)
  })

  it('expires lazily on read, reporting the expiry and remembering it', () => {
    const reasons: EvictionReason[] = []
    const tier = new MemoryTier({ eviction, onEvict: (_, reason) => reasons.push(reason) })
    const now = Date.now()
    tier.put({ ...makeEntry('ns', 'old', 1, { createdAt: now - 10_000 }), freshUntil: now - 2, staleUntil: now - 1 })
    expect(tier.size).toBe(1) // nothing scans: it is still held until met
    expect(tier.peekKey('ns', 'old', now)).toBeUndefined()
    expect(tier.size).toBe(0)
    expect(reasons).toEqual(['expired'])
    expect(tier.whyAbsent('ns', 'old')).toBe('expired')
  })

  it('remembers removals as invalidations, and forgets every departure when suspended', () => {
    const tier = new MemoryTier({ eviction })
    tier.put(makeEntry('ns', 'a', 1, { tags: ['t'] }))
    tier.put(makeEntry('ns', 'b', 2))
    expect(tier.removeByTags(['t'])).toBe(1)
    expect(tier.remove('ns', 'b')).toBe(true)
    expect(tier.whyAbsent('ns', 'a')).toBe('invalidated')
    expect(tier.departure('ns', 'b')).toMatchObject({ why: 'invalidated', tags: [] })
    tier.suspend()
    expect(tier.whyAbsent('ns', 'a')).toBeUndefined()
    tier.resume()
  })

  it('does not hold an entry larger than maxBytes, and a too large write drops the old value', () => {
    const tier = new MemoryTier({ eviction, maxBytes: 1_000 })
    expect(tier.put(makeEntry('ns', 'k', 'small', { tags: ['t'] }))).toBe(true)
    expect(tier.put(makeEntry('ns', 'k', 'x'.repeat(2_000), { tags: ['t'] }))).toBe(false)
    expect(tier.inspect('ns', 'k')).toBeUndefined()
    expect(tier.size).toBe(0)
    expect(tier.bytes).toBe(0)
    expect(tier.removeByTags(['t'])).toBe(0)
  })

  it('removes the expired entries it meets while listing', async () => {
    const tier = new MemoryTier({ eviction })
    const now = Date.now()
    tier.put({ ...makeEntry('ns', 'gone', 1, { createdAt: now - 10_000 }), freshUntil: now - 2, staleUntil: now - 1 })
    tier.put(makeEntry('ns', 'kept', 2))
    expect(await tier.keys('ns', { limit: 10 })).toEqual(['kept'])
    expect(tier.size).toBe(1)
  })

  it('holds nothing while suspended, and fills again once resumed', () => {
    const tier = new MemoryTier({ eviction })
    const now = Date.now()
    tier.put(makeEntry('ns', 'a', 1))
    tier.suspend()
    expect(tier.peekKey('ns', 'a', now)).toBeUndefined()
    tier.put(makeEntry('ns', 'b', 2))
    expect(tier.peekKey('ns', 'b', now)).toBeUndefined()
    expect(tier.size).toBe(0)
    tier.resume()
    tier.put(makeEntry('ns', 'b', 3))
    expect(tier.peekKey('ns', 'b', now)?.value).toBe(3)
  })

  it('does not keep the encoded payload', () => {
    const tier = new MemoryTier({ eviction })
    tier.put(makeEntry('ns', 'a', { big: 'x'.repeat(100) }))
    expect(tier.peek('ns:a', Date.now())?.payload).toBeUndefined()
  })
})

// These rely on LRU order specifically; memory-tinylfu.test.ts has the W-TinyLFU counterparts.
describe('memory tier bounds (lru order)', () => {
  it('is the default', () => {
    expect(new MemoryTier().eviction).toBe('lru')
  })

  it('evicts the least recently used entry past maxEntries', () => {
    const tier = new MemoryTier({ maxEntries: 2 })
    tier.put(makeEntry('ns', 'a', 1))
    tier.put(makeEntry('ns', 'b', 2))
    tier.peek('ns:a', Date.now()) // a is now more recent than b
    tier.put(makeEntry('ns', 'c', 3))
    expect(tier.peek('ns:b', Date.now())).toBeUndefined()
    expect(tier.peek('ns:a', Date.now())?.value).toBe(1)
    expect(tier.size).toBe(2)
  })

  it('always holds the entry just written, evicting older ones for the bytes', () => {
    const tier = new MemoryTier({ maxEntries: 1000, maxBytes: 4096 })
    for (let i = 0; i < 20; i++) expect(tier.put(makeEntry('ns', `k${i}`, 'x'.repeat(500)))).toBe(true)
    expect(tier.peek('ns:k19', Date.now())).toBeDefined()
  })

  it('loses a frequently read entry to a scan of one-hit keys (what tinylfu prevents)', () => {
    const tier = new MemoryTier({ maxEntries: 10_000, maxBytes: 100 * 200 })
    const now = Date.now()
    tier.put(makeEntry('ns', 'hot', 'h'))
    for (let i = 0; i < 20; i++) tier.peekKey('ns', 'hot', now)
    for (let i = 0; i < 1_000; i++) tier.put(makeEntry('ns', `scan${i}`, i))
    expect(tier.inspect('ns', 'hot')).toBeUndefined()
  })

  it('lists keys in UTF-16 code unit order, without refreshing their recency', async () => {
    const tier = new MemoryTier({ maxEntries: 3 })
    for (const key of ['\ue000', '🙂', 'a']) tier.put(makeEntry('ns', key, key))
    // JS `<`: 'a' (0061) < '🙂' (D83D DE42) < U+E000, where UTF-8 bytes put U+E000 before 🙂
    expect(await tier.keys('ns', { limit: 10 })).toEqual(['a', '🙂', '\ue000'])
    expect(await tier.keys('ns', { after: '🙂', limit: 10 })).toEqual(['\ue000'])
    // listing touched every key; the least recently written one is still the one evicted
    tier.put(makeEntry('ns', 'b', 'b'))
    expect(await tier.keys('ns', { limit: 10 })).toEqual(['a', 'b', '🙂'])
  })
})
