import { describe, expect, it } from 'vitest'
import { AdaptiveTinyLfu } from '../../../src/tiers/eviction/adaptive-tinylfu.js'
import { Admission } from '../../../src/tiers/eviction/admission.js'
import { FrequencySketch } from '../../../src/tiers/eviction/frequency-sketch.js'
import { mix32 } from '../../../src/tiers/eviction/hash.js'

/** A policy whose window is one entry and fixed, so every second new key is a candidate at once. */
function small(onEvict?: (key: number) => void) {
  return new AdaptiveTinyLfu<number>({ maxEntries: 10, initialWindow: 0, adaptation: false, onEvict })
}

function fill(policy: AdaptiveTinyLfu<number>, keys: number[], times: number) {
  for (let t = 0; t < times; t++) for (const key of keys) if (!policy.access(key)) policy.record(key)
}

describe('admission', () => {
  it('lets a frequent candidate replace a rare victim', () => {
    const evicted: number[] = []
    const policy = small((key) => evicted.push(key))
    fill(policy, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 1)
    // Key 100 was requested often before it is stored (a miss each time, counted by the sketch).
    for (let i = 0; i < 5; i++) policy.access(100)
    policy.record(100)
    evicted.length = 0
    policy.access(101)
    policy.record(101) // pushes 100 out of the window: it is now the candidate against probation's LRU, key 0
    expect(policy.has(100)).toBe(true)
    expect(evicted).toEqual([0])
  })

  it('keeps a one-hit wonder out when the victim was used more', () => {
    const evicted: number[] = []
    const policy = small((key) => evicted.push(key))
    fill(policy, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], 3)
    for (let k = 200; k < 220; k++) {
      policy.access(k)
      policy.record(k)
    }
    // The resident keys all stay but the window's one slot; the new keys were dropped.
    const kept = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9].filter((key) => policy.has(key))
    expect(kept.length).toBeGreaterThanOrEqual(9)
    expect(evicted.filter((key) => key >= 200).length).toBeGreaterThanOrEqual(19)
  })

  it('admits a warm but losing candidate only at random, and never a cold one or a tie', () => {
    const sketch = new FrequencySketch({ capacity: 64, sampleSize: 1_000_000 })
    const candidate = mix32(1)
    const victim = mix32(2)
    const cold = mix32(3)
    for (let i = 0; i < 7; i++) sketch.increment(candidate)
    for (let i = 0; i < 12; i++) sketch.increment(victim)
    for (let i = 0; i < 2; i++) sketch.increment(cold)
    const admission = new Admission(sketch, { seed: 9 })
    let admitted = 0
    for (let i = 0; i < 12_800; i++) if (admission.admit(candidate, victim)) admitted++
    expect(admitted).toBeGreaterThan(50) // about 1 in 128
    expect(admitted).toBeLessThan(160)
    for (let i = 0; i < 1000; i++) expect(admission.admit(cold, victim)).toBe(false)
    for (let i = 0; i < 1000; i++) expect(admission.admit(victim, victim)).toBe(false)
    expect(admission.admit(victim, candidate)).toBe(true)
  })
})
