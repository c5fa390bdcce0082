import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/core/seeded-random.js'
import { AdaptiveTinyLfu, type EvictionCause } from '../../../src/tiers/eviction/adaptive-tinylfu.js'

/** A plain LRU on a Map (insertion order is recency), for comparison. */
function lruHits(keys: number[], capacity: number): number {
  const map = new Map<number, true>()
  let hits = 0
  for (const key of keys) {
    if (map.delete(key)) hits++
    else if (map.size === capacity) map.delete(map.keys().next().value as number)
    map.set(key, true)
  }
  return hits
}

function policyHits(policy: AdaptiveTinyLfu<number>, keys: number[]): number {
  let hits = 0
  for (const key of keys) {
    if (policy.access(key)) hits++
    else policy.record(key)
  }
  return hits
}

describe('AdaptiveTinyLfu', () => {
  it('has, delete, size and clear', () => {
    const policy = new AdaptiveTinyLfu<string>({ maxEntries: 3 })
    expect(policy.access('a')).toBe(false)
    expect(policy.record('a')).toBe(true)
    expect(policy.access('a')).toBe(true)
    policy.record('b')
    expect(policy.size).toBe(2)
    expect(policy.has('b')).toBe(true)
    expect(policy.delete('b')).toBe(false === policy.has('b'))
    expect(policy.has('b')).toBe(false)
    expect(policy.delete('b')).toBe(false)
    expect(policy.size).toBe(1)
    policy.clear()
    expect(policy.size).toBe(0)
    expect(policy.has('a')).toBe(false)
    // Slots are reused after a delete: many inserts and deletes keep the count right.
    for (let i = 0; i < 1000; i++) {
      policy.record(`k${i}`)
      if (i % 2 === 0) policy.delete(`k${i}`)
    }
    expect(policy.size).toBe(3)
    expect([...policy.keysInEvictionOrder()]).toHaveLength(3)
  })

  it('never holds more than maxEntries, and reports each eviction with its cause', () => {
    const evicted: [number, EvictionCause, boolean][] = []
    // Whether the policy still claims the key at the moment it reports it gone.
    const policy: AdaptiveTinyLfu<number> = new AdaptiveTinyLfu<number>({
      maxEntries: 50,
      onEvict: (key, cause) => evicted.push([key, cause, policy.has(key)]),
    })
    const random = seededRandom(5)
    let inserted = 0
    for (let i = 0; i < 5000; i++) {
      const key = Math.floor(random() * 400)
      if (!policy.access(key)) {
        policy.record(key)
        inserted++
      }
      expect(policy.size).toBeLessThanOrEqual(50)
    }
    expect(inserted - evicted.length).toBe(policy.size)
    expect(evicted.every(([, cause, held]) => cause === 'count' && !held)).toBe(true)
  })

  it('beats LRU on a Zipf workload with scans mixed in', () => {
    const random = seededRandom(11)
    const keys: number[] = []
    for (let i = 0; i < 60_000; i++) {
      // Mostly a Zipf(1)-like popular set (log-uniform ids), and a scan of never-again keys every 2,000 requests.
      if (i % 2000 < 300) keys.push(1_000_000 + i)
      else keys.push(Math.floor(5000 ** random()) - 1)
    }
    const lru = lruHits(keys, 200)
    const ours = policyHits(new AdaptiveTinyLfu<number>({ maxEntries: 200 }), keys)
    expect(ours / keys.length).toBeGreaterThan(lru / keys.length + 0.07)
  })

  it('keeps a resident set on a loop larger than the cache, where LRU gets nothing', () => {
    const keys: number[] = []
    for (let pass = 0; pass < 60; pass++) for (let k = 0; k < 150; k++) keys.push(k)
    expect(lruHits(keys, 100)).toBe(0)
    const ours = policyHits(new AdaptiveTinyLfu<number>({ maxEntries: 100 }), keys)
    expect(ours / keys.length).toBeGreaterThan(0.55)
  })
})
