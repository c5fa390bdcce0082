import { describe, expect, it } from 'vitest'
import { AdaptiveTinyLfu, type AdaptiveTinyLfuOptions } from '../../../src/tiers/eviction/adaptive-tinylfu.js'
import { HillClimber } from '../../../src/tiers/eviction/hill-climber.js'

const CAPACITY = 200

/** Recency: every key is requested three times, 60 requests apart, then never again. */
function recencyTrace(length: number): number[] {
  const keys: number[] = []
  for (let i = 0; keys.length < length; i++) keys.push(i, i - 20, i - 40)
  return keys.filter((k) => k >= 0)
}

/** Frequency: a loop over 1.5 × the capacity, where only a steady resident set hits. */
function loopTrace(length: number): number[] {
  return Array.from({ length }, (_, i) => i % Math.round(CAPACITY * 1.5))
}

function replay(keys: number[], options: Partial<AdaptiveTinyLfuOptions<number>>) {
  const policy = new AdaptiveTinyLfu<number>({ maxEntries: CAPACITY, ...options })
  let hits = 0
  for (const key of keys) {
    if (policy.access(key)) hits++
    else policy.record(key)
  }
  return { policy, ratio: hits / keys.length }
}

// The default, shadow-based adaptation. (Caffeine's hill climber, the alternative, fails both: from
// a 1 % window its first step is down, and with no change in the hit ratio it keeps going down.)
describe('window adaptation (shadows)', () => {
  const options = { adaptation: 'shadows' as const }
  it('grows the window on a recency-biased workload', () => {
    const start = Math.round(0.01 * CAPACITY)
    const { policy, ratio } = replay(recencyTrace(60_000), { ...options, initialWindow: 0.01 })
    expect(policy.windowCapacity).toBeGreaterThan(20 * start)
    // A fixed 1 % window rejects each key's repeats; the adapted one catches most of them.
    const fixed = replay(recencyTrace(60_000), { adaptation: false, initialWindow: 0.01 })
    expect(ratio).toBeGreaterThan(fixed.ratio + 0.2)
  })

  it('shrinks the window on a frequency-biased workload', () => {
    const { policy, ratio } = replay(loopTrace(60_000), { ...options, initialWindow: 0.5 })
    expect(policy.windowCapacity).toBeLessThan(0.1 * CAPACITY)
    const fixed = replay(loopTrace(60_000), { adaptation: false, initialWindow: 0.5 })
    expect(ratio).toBeGreaterThan(fixed.ratio + 0.1)
  })
})

describe('HillClimber', () => {
  it('keeps its direction while the hit ratio improves and turns back when it drops', () => {
    const climber = new HillClimber({ capacity: 1000, samplePeriod: 10, firstDirection: 1 })
    const period = (hits: number) => {
      let amount = 0
      for (let i = 0; i < 10; i++) amount += climber.record(i < hits)
      return amount
    }
    expect(period(3)).toBeCloseTo(62.5) // the first step, up
    expect(period(6)).toBeGreaterThan(0) // better: again up
    expect(period(2)).toBeLessThan(0) // worse: back down
  })
})
