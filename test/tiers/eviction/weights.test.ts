import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/core/seeded-random.js'
import { AdaptiveTinyLfu, type EvictionCause } from '../../../src/tiers/eviction/adaptive-tinylfu.js'

describe('weights', () => {
  it('keeps the total weight within maxWeight, whatever the mix of sizes', () => {
    const policy = new AdaptiveTinyLfu<number>({ maxEntries: 1000, maxWeight: 10_000 })
    const random = seededRandom(2)
    for (let i = 0; i < 20_000; i++) {
      const key = Math.floor(random() * 3000)
      if (!policy.access(key)) policy.record(key, 1 + Math.floor(random() * 400))
      expect(policy.weight).toBeLessThanOrEqual(10_000)
    }
    expect(policy.size).toBeGreaterThan(10)
  })

  it('evicts several light entries for a heavy one, for the size bound', () => {
    const evicted: [number, EvictionCause][] = []
    const policy = new AdaptiveTinyLfu<number>({ maxEntries: 100, maxWeight: 1000, adaptation: false, onEvict: (k, c) => evicted.push([k, c]) })
    for (let k = 0; k < 10; k++) policy.record(k, 100)
    expect(policy.weight).toBe(1000)
    // A popular heavy newcomer: requested (missed) often before it is stored.
    for (let i = 0; i < 8; i++) policy.access(99)
    policy.record(99, 450)
    expect(policy.has(99)).toBe(true)
    expect(evicted.length).toBeGreaterThanOrEqual(5)
    expect(evicted.every(([, cause]) => cause === 'size')).toBe(true)
    expect(policy.weight).toBeLessThanOrEqual(1000)
  })

  it('drops an entry heavier than the whole cache at once, and counts an update of weight', () => {
    const policy = new AdaptiveTinyLfu<string>({ maxEntries: 10, maxWeight: 100 })
    expect(policy.record('huge', 101)).toBe(false)
    expect(policy.weight).toBe(0)
    policy.record('a', 10)
    policy.record('a', 30)
    expect(policy.weight).toBe(30)
    expect(policy.size).toBe(1)
  })

  it('bounds the count too when weights are small', () => {
    const policy = new AdaptiveTinyLfu<number>({ maxEntries: 20, maxWeight: 1_000_000 })
    for (let k = 0; k < 100; k++) policy.record(k, 1)
    expect(policy.size).toBe(20)
  })

  it('bounds each region by its share of the count as well, so that a count bound still admits by frequency', () => {
    const policy = new AdaptiveTinyLfu<number>({ maxEntries: 100, maxWeight: 1_000_000, adaptation: false })
    // A hot set of 50, read often, then a scan of 1,000 one-hit keys: the window (1 % of both bounds)
    // lets the scan through it and admission keeps the hot set in main.
    for (let round = 0; round < 5; round++) for (let k = 0; k < 50; k++) if (!policy.access(k)) policy.record(k, 1)
    for (let k = 1000; k < 2000; k++) if (!policy.access(k)) policy.record(k, 1)
    expect(Array.from({ length: 50 }, (_, k) => policy.has(k)).filter(Boolean)).toHaveLength(50)
  })
})
