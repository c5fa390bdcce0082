// Seasonal capacity: L1's bounds follow the policy's l1Scale, switched by a timer at each boundary
// the policy names, without a restart; MemoryTier.resize keeps what it holds in order of use.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { PolicyHook } from '../../src/cache/policy-hook.js'
import type { Entry } from '../../src/core/entry.js'
import { createCache } from '../../src/index.js'
import { type EvictionReason, MemoryTier } from '../../src/tiers/memory.js'

afterEach(() => {
  vi.useRealTimers()
})

function entry(key: string, tags: readonly string[] = []): Entry {
  const now = Date.now()
  return { namespace: 'ns', key, value: key, size: 10, createdAt: now, freshUntil: now + 3_600_000, staleUntil: now + 3_600_000, tags }
}

describe('MemoryTier.resize', () => {
  it('keeps the most recently used entries when it shrinks, reports the rest as evictions, and keeps the tag index', async () => {
    const evicted: [string, EvictionReason][] = []
    const tier = new MemoryTier({ maxEntries: 10, onEvict: (e, reason) => evicted.push([e.key, reason]) })
    for (let i = 0; i < 10; i++) tier.put(entry(`k${i}`, [`t${i % 2}`]))
    tier.peekKey('ns', 'k0', Date.now()) // k0 becomes the most recently used
    tier.resize({ maxEntries: 4, maxBytes: 1_000_000 })
    expect(tier.bounds).toEqual({ maxEntries: 4, maxBytes: 1_000_000 })
    const kept = ['k0', 'k7', 'k8', 'k9']
    for (let i = 0; i < 10; i++) expect(tier.inspect('ns', `k${i}`) !== undefined).toBe(kept.includes(`k${i}`))
    expect(evicted.map(([key]) => key).sort()).toEqual(['k1', 'k2', 'k3', 'k4', 'k5', 'k6'])
    expect(new Set(evicted.map(([, reason]) => reason))).toEqual(new Set(['count']))
    // The moved entries are still found by tag, and the evicted ones are gone from the index.
    expect(await tier.deleteByTags(['t0'])).toBe(2) // k0 and k8
    expect(tier.inspect('ns', 'k7')).toBeDefined()
  })

  it('grows: holds more after, and refuses bounds that are not positive integers', () => {
    const tier = new MemoryTier({ maxEntries: 2 })
    tier.resize({ maxEntries: 5, maxBytes: 1_000_000 })
    for (let i = 0; i < 5; i++) tier.put(entry(`k${i}`))
    for (let i = 0; i < 5; i++) expect(tier.inspect('ns', `k${i}`)).toBeDefined()
    expect(() => tier.resize({ maxEntries: 0, maxBytes: 10 })).toThrow(RangeError)
    expect(() => tier.resize({ maxEntries: 1.5, maxBytes: 10 })).toThrow(RangeError)
  })
})

describe('seasonal capacity', () => {
  it("switches L1's bounds at the season's start and end, by the clock, without a restart", async () => {
    vi.useFakeTimers()
    const start = Date.now() + 60_000
    const end = start + 60_000
    const policy: PolicyHook = {
      decide: () => ({ ttlMs: 1000, graceMs: 0 }),
      l1Scale: (now) => (now >= start && now < end ? 3 : 1),
      nextBoundary: (now) => (now < start ? start : now < end ? end : undefined),
      targets: () => ({ tags: [], namespaces: [] }),
    }
    const cache = createCache({ l3: false, l1: { maxEntries: 10 }, ttl: '1d', policies: policy })
    const inL1 = async () => {
      let count = 0
      for (let i = 0; i < 30; i++) if ((await cache.getWithInfo(`k${i}`))?.source === 'l1') count++
      return count
    }
    const fill = async () => {
      for (let i = 0; i < 30; i++) await cache.set(`k${i}`, i)
    }
    await fill()
    expect(await inL1()).toBe(10)

    vi.advanceTimersByTime(start - Date.now() - 1)
    await fill()
    expect(await inL1()).toBe(10)
    vi.advanceTimersByTime(1) // the season starts: ×3
    await fill()
    expect(await inL1()).toBe(30)

    vi.advanceTimersByTime(end - Date.now()) // and ends: back to 10, the most recently used kept
    expect(await inL1()).toBe(10)
    expect((await cache.getWithInfo('k29'))?.source).toBe('l1')
    await cache.close()
  })
})
