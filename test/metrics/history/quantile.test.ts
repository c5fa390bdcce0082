import { describe, expect, it } from 'vitest'
import { histogramQuantile, quantilesOf } from '../../../src/metrics/history/quantile.js'

describe('histogramQuantile (Prometheus histogram_quantile)', () => {
  const bounds = [0.1, 0.2, 0.4]

  it('interpolates linearly inside the bucket where the rank falls, from 0 in the first', () => {
    // 10 in (0, 0.1], 10 in (0.1, 0.2], 20 in (0.2, 0.4], none above: 40 observations.
    const counts = [10, 10, 20, 0]
    expect(histogramQuantile(0.5, bounds, counts)).toBeCloseTo(0.2, 12) // rank 20: the end of bucket 2
    expect(histogramQuantile(0.125, bounds, counts)).toBeCloseTo(0.05, 12) // rank 5: half of (0, 0.1]
    expect(histogramQuantile(0.375, bounds, counts)).toBeCloseTo(0.15, 12) // rank 15: half of (0.1, 0.2]
    expect(histogramQuantile(0.75, bounds, counts)).toBeCloseTo(0.3, 12) // rank 30: half of (0.2, 0.4]
    expect(histogramQuantile(1, bounds, counts)).toBeCloseTo(0.4, 12)
  })

  it('answers the largest finite bound for a rank in the +Inf bucket', () => {
    expect(histogramQuantile(0.99, bounds, [1, 0, 0, 9])).toBe(0.4)
    expect(histogramQuantile(0.5, [], [3])).toBe(0)
  })

  it('skips empty buckets, as the cumulative search does', () => {
    // Cumulative 0, 0, 4: every quantile lies in (0.2, 0.4].
    expect(histogramQuantile(0.5, bounds, [0, 0, 4, 0])).toBeCloseTo(0.3, 12)
    expect(histogramQuantile(0, bounds, [0, 0, 4, 0])).toBeCloseTo(0.2, 12)
    // A rank exactly at a bucket's end stays in that bucket.
    expect(histogramQuantile(0.5, bounds, [2, 0, 2, 0])).toBeCloseTo(0.1, 12)
  })

  it('is null without observations, and refuses q outside [0, 1] or mismatched counts', () => {
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull()
    expect(() => histogramQuantile(1.5, bounds, [1, 0, 0, 0])).toThrow(RangeError)
    expect(() => histogramQuantile(Number.NaN, bounds, [1, 0, 0, 0])).toThrow(RangeError)
    expect(() => histogramQuantile(0.5, bounds, [1, 0])).toThrow(RangeError)
  })

  it('accepts counts without the +Inf bucket', () => {
    expect(histogramQuantile(0.5, bounds, [10, 10, 20])).toBeCloseTo(0.2, 12)
  })

  it('gives p50, p95, p99, the count and the mean', () => {
    const q = quantilesOf(bounds, [50, 40, 10, 0], 12.5)
    expect(q.p50).toBeCloseTo(0.1, 12) // rank 50: the end of the first bucket
    expect(q.p95).toBeCloseTo(0.3, 12) // rank 95: half of the 10 in (0.2, 0.4]
    expect(q.p99).toBeCloseTo(0.38, 12) // rank 99: 9 of those 10
    expect(q.count).toBe(100)
    expect(q.mean).toBeCloseTo(0.125, 12)
    expect(quantilesOf(bounds, [0, 0, 0, 0], 0)).toEqual({ p50: null, p95: null, p99: null, count: 0, mean: null })
  })
})
