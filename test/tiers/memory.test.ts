import { describe, expect, it } from 'vitest'
import { MemoryTier } from '../../src/tiers/memory.js'
import { makeEntry, runTierConformance } from './conformance.js'

runTierConformance('memory', async () => new MemoryTier())

describe('memory tier bounds', () => {
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

  it('evicts to stay within maxBytes', () => {
    const tier = new MemoryTier({ maxEntries: 1000, maxBytes: 4096 })
    for (let i = 0; i < 20; i++) tier.put(makeEntry('ns', `k${i}`, 'x'.repeat(500)))
    expect(tier.bytes).toBeLessThanOrEqual(4096)
    expect(tier.size).toBeLessThan(20)
    expect(tier.peek('ns:k19', Date.now())).toBeDefined()
  })

  it('drops evicted entries from the tag index', () => {
    const tier = new MemoryTier({ maxEntries: 1 })
    tier.put(makeEntry('ns', 'a', 1, { tags: ['t'] }))
    tier.put(makeEntry('ns', 'b', 2, { tags: ['u'] }))
    expect(tier.removeByTags(['t'], 'ns')).toBe(0)
    expect(tier.removeByTags(['u'], 'ns')).toBe(1)
  })

  it('keeps its key index in step with overwrites, evictions, deletes and clears', () => {
    const tier = new MemoryTier({ maxEntries: 2 })
    const now = Date.now()
    tier.put(makeEntry('ns', 'a', 1))
    tier.put(makeEntry('ns', 'a', 2))
    expect(tier.peekKey('ns', 'a', now)?.value).toBe(2)
    tier.put(makeEntry('ns', 'b', 3))
    tier.put(makeEntry('other', 'a', 4)) // evicts ns:a
    expect(tier.peekKey('ns', 'a', now)).toBeUndefined()
    expect(tier.peekKey('other', 'a', now)?.value).toBe(4)
    tier.remove('ns', 'b')
    expect(tier.peekKey('ns', 'b', now)).toBeUndefined()
    tier.removeAll()
    expect(tier.peekKey('other', 'a', now)).toBeUndefined()
    tier.put(makeEntry('other', 'a', 5))
    expect(tier.peekKey('other', 'a', now)?.value).toBe(5)
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

  it('removes the expired entries it meets while listing', async () => {
    const tier = new MemoryTier()
    const now = Date.now()
    tier.put({ ...makeEntry('ns', 'gone', 1, { createdAt: now - 10_000 }), freshUntil: now - 2, staleUntil: now - 1 })
    tier.put(makeEntry('ns', 'kept', 2))
    expect(await tier.keys('ns', { limit: 10 })).toEqual(['kept'])
    expect(tier.size).toBe(1)
  })

  it('holds nothing while suspended, and fills again once resumed', () => {
    const tier = new MemoryTier()
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
    const tier = new MemoryTier()
    tier.put(makeEntry('ns', 'a', { big: 'x'.repeat(100) }))
    expect(tier.peek('ns:a', Date.now())?.payload).toBeUndefined()
  })
})
