import { describe, expect, it } from 'vitest'
import { Xoshiro128 } from '../../src/cli/replay/random.js'
import { generateWorkload, parseWorkload, resolveWorkloadOptions } from '../../src/cli/replay/workload.js'
import { ZipfSampler } from '../../src/cli/replay/zipf.js'
import { isTiercacheError } from '../../src/errors.js'

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (error) {
    return isTiercacheError(error) ? error.code : 'not a TiercacheError'
  }
  return undefined
}

/** Generalized harmonic number H(n, s) = Σ k^−s, the Zipf normalizer. */
function harmonic(n: number, s: number): number {
  let sum = 0
  for (let k = 1; k <= n; k++) sum += k ** -s
  return sum
}

function frequencies(sampler: ZipfSampler, samples: number): number[] {
  const counts = new Array<number>(sampler.n + 1).fill(0)
  for (let i = 0; i < samples; i++) {
    const k = sampler.sample()
    counts[k] = (counts[k] ?? 0) + 1
  }
  return counts
}

describe('parseWorkload', () => {
  it('reads zipf:<s>:<keys>', () => {
    expect(parseWorkload('zipf:0.99:1000000')).toEqual({ kind: 'zipf', exponent: 0.99, keys: 1_000_000 })
    expect(parseWorkload('zipf:1:1e6')).toEqual({ kind: 'zipf', exponent: 1, keys: 1_000_000 })
    expect(parseWorkload('zipf:0:1_000')).toEqual({ kind: 'zipf', exponent: 0, keys: 1000 })
    expect(parseWorkload('zipf:.5:7')).toEqual({ kind: 'zipf', exponent: 0.5, keys: 7 })
  })

  it.each(['zipf:', 'zipf:1', 'zipf:x:10', 'zipf:-1:10', 'zipf:1:0', 'zipf:1:1.5', 'zipf:1:-3', 'zipf:1:10:3', 'zipf:101:10', 'zipf:1:1e12'])(
    'rejects %s with TC_INVALID_TRACE',
    (spec) => {
      expect(codeOf(() => parseWorkload(spec))).toBe('TC_INVALID_TRACE')
    },
  )

  it('checks the request count and seed', () => {
    expect(resolveWorkloadOptions()).toEqual({ requests: 1_000_000, seed: 1 })
    expect(codeOf(() => resolveWorkloadOptions({ requests: 0 }))).toBe('TC_INVALID_TRACE')
    expect(codeOf(() => resolveWorkloadOptions({ seed: 1.5 }))).toBe('TC_INVALID_TRACE')
  })
})

describe('Xoshiro128', () => {
  it('matches the reference implementation of xoshiro128** from state (1, 2, 3, 4)', () => {
    const random = new Xoshiro128(0)
    // The state is private; the known answers of https://prng.di.unimi.it/xoshiro128starstar.c start from it.
    Object.assign(random, { a: 1, b: 2, c: 3, d: 4 })
    expect(Array.from({ length: 6 }, () => random.nextUint32())).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492])
  })

  it('is deterministic per seed and uniform in [0, 1)', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, ((r) => () => r.nextDouble())(new Xoshiro128(seed)))
    expect(draw(7)).toEqual(draw(7))
    expect(draw(7)).not.toEqual(draw(8))
    const random = new Xoshiro128(42)
    let sum = 0
    let min = 1
    let max = 0
    for (let i = 0; i < 100_000; i++) {
      const x = random.nextDouble()
      sum += x
      min = Math.min(min, x)
      max = Math.max(max, x)
    }
    expect(min).toBeGreaterThanOrEqual(0)
    expect(max).toBeLessThan(1)
    expect(sum / 100_000).toBeCloseTo(0.5, 2)
  })
})

describe('ZipfSampler (rejection-inversion)', () => {
  it('gives the same keys for the same seed, and others for another seed', () => {
    const keys = (seed: number) => [...generateWorkload(parseWorkload('zipf:0.99:1000000'), { requests: 1000, seed })]
    expect(keys(3)).toEqual(keys(3))
    expect(keys(3)).not.toEqual(keys(4))
    expect(keys(3)).toHaveLength(1000)
    expect(keys(3).every((key) => /^[1-9]\d*$/.test(key) && Number(key) <= 1_000_000)).toBe(true)
  })

  it.each([0.6, 0.99, 1, 1.5])('follows P(k) = k^-s / H(n, s) for s = %s', (s) => {
    const n = 1000
    const samples = 200_000
    const counts = frequencies(new ZipfSampler(n, s, new Xoshiro128(11)), samples)
    expect(counts[0]).toBe(0)
    // Key 1 is the most frequent, and frequencies fall with rank.
    expect(Math.max(...counts)).toBe(counts[1])
    expect(counts[1]).toBeGreaterThan(counts[2] ?? 0)
    expect(counts[2]).toBeGreaterThan(counts[10] ?? 0)
    expect(counts[10]).toBeGreaterThan(counts[100] ?? 0)
    const norm = harmonic(n, s)
    for (const k of [1, 2, 3, 5, 10, 50, 100]) {
      const p = k ** -s / norm
      const expected = samples * p
      const sigma = Math.sqrt(samples * p * (1 - p))
      expect(Math.abs((counts[k] ?? 0) - expected)).toBeLessThan(5 * sigma)
    }
    // The tail too: keys 501..1000 together.
    let tailP = 0
    for (let k = 501; k <= n; k++) tailP += k ** -s / norm
    const tail = counts.slice(501).reduce((a, b) => a + b, 0)
    expect(Math.abs(tail - samples * tailP)).toBeLessThan(5 * Math.sqrt(samples * tailP * (1 - tailP)))
  })

  it('is uniform for s = 0 and stays in range for n = 1 and huge n', () => {
    const counts = frequencies(new ZipfSampler(10, 0, new Xoshiro128(5)), 100_000)
    for (let k = 1; k <= 10; k++) expect(Math.abs((counts[k] ?? 0) - 10_000)).toBeLessThan(500)
    const one = new ZipfSampler(1, 0.99, new Xoshiro128(5))
    for (let i = 0; i < 100; i++) expect(one.sample()).toBe(1)
    const huge = new ZipfSampler(2 ** 32, 0.99, new Xoshiro128(5))
    const draws = Array.from({ length: 10_000 }, () => huge.sample())
    expect(draws.every((k) => Number.isInteger(k) && k >= 1 && k <= 2 ** 32)).toBe(true)
  })
})
