import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/core/seeded-random.js'
import { FrequencySketch, MAX_COUNT } from '../../../src/tiers/eviction/frequency-sketch.js'
import { mix32 } from '../../../src/tiers/eviction/hash.js'

describe('FrequencySketch', () => {
  it('never under-estimates, and over-estimates rarely and by little', () => {
    const sketch = new FrequencySketch({ capacity: 512, sampleSize: 1_000_000 })
    const random = seededRandom(3)
    const truth = new Map<number, number>()
    for (let i = 0; i < 4000; i++) {
      // Skewed counts: a few keys often, most once or twice, all below the 4-bit cap.
      const key = Math.floor(random() ** 3 * 2000)
      if ((truth.get(key) ?? 0) >= MAX_COUNT) continue
      truth.set(key, (truth.get(key) ?? 0) + 1)
      sketch.increment(mix32(key))
    }
    let over = 0
    for (const [key, count] of truth) {
      const estimate = sketch.frequency(mix32(key))
      expect(estimate).toBeGreaterThanOrEqual(count)
      if (estimate > count) over++
    }
    expect(over / truth.size).toBeLessThan(0.05)
    expect(sketch.frequency(mix32(999_999))).toBeLessThanOrEqual(1)
  })

  it('saturates at 15', () => {
    const sketch = new FrequencySketch({ capacity: 64, sampleSize: 1_000_000 })
    for (let i = 0; i < 40; i++) sketch.increment(mix32(7))
    expect(sketch.frequency(mix32(7))).toBe(MAX_COUNT)
    expect(sketch.frequency(mix32(8))).toBe(0)
  })

  it('halves every count once the sample is complete', () => {
    const sketch = new FrequencySketch({ capacity: 64, sampleSize: 100 })
    for (let i = 0; i < 12; i++) sketch.increment(mix32(1))
    for (let i = 0; i < 5; i++) sketch.increment(mix32(2))
    for (let i = 0; i < 82; i++) sketch.increment(mix32(1000 + i))
    expect(sketch.size).toBe(99)
    expect(sketch.frequency(mix32(1))).toBe(12)
    sketch.increment(mix32(3)) // the 100th increment: the reset
    expect(sketch.frequency(mix32(1))).toBe(6)
    expect(sketch.frequency(mix32(2))).toBe(2)
    expect(sketch.size).toBeLessThan(50)
  })

  it('with a doorkeeper, counts a first sighting as one and forgets it on reset', () => {
    const sketch = new FrequencySketch({ capacity: 64, sampleSize: 50, doorkeeper: true })
    sketch.increment(mix32(5))
    expect(sketch.frequency(mix32(5))).toBe(1)
    sketch.increment(mix32(5))
    sketch.increment(mix32(5))
    expect(sketch.frequency(mix32(5))).toBe(3)
    for (let i = 0; i < 47; i++) sketch.increment(mix32(100 + i))
    // Reset: counters 2 -> 1, doorkeeper cleared.
    expect(sketch.frequency(mix32(5))).toBe(1)
  })
})
