/**
 * The `q`-quantile of observations counted in buckets, as Prometheus's `histogram_quantile` computes
 * it: find the bucket where the cumulative count reaches `q × total`, and interpolate linearly
 * between its lower and upper bounds. The lowest bucket starts at 0 (durations are not negative); a
 * quantile in the `+Inf` bucket is the largest finite bound, since nothing is known above it.
 *
 * @param q - 0 to 1 (0.95 for p95)
 * @param bounds - upper bounds of the finite buckets, ascending (seconds, for tiercache's histograms)
 * @param counts - observations per bucket, not cumulative; `counts[bounds.length]`, if present, those
 *   above the largest bound (the shape of `HistogramSample.counts`)
 * @returns the quantile in the bounds' unit, or null when nothing was observed
 * @throws RangeError when `q` is outside [0, 1] or `bounds` and `counts` do not match
 * @see https://github.com/prometheus/prometheus/blob/main/promql/quantile.go (`bucketQuantile`)
 * @see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile
 */
export function histogramQuantile(q: number, bounds: readonly number[], counts: readonly number[]): number | null {
  if (!(q >= 0 && q <= 1)) throw new RangeError('q must be between 0 and 1')
  if (counts.length !== bounds.length && counts.length !== bounds.length + 1) {
    throw new RangeError('counts must have one entry per bound, and optionally one above the largest')
  }
  let total = 0
  for (const count of counts) total += Math.max(0, count)
  if (total === 0) return null
  const rank = q * total
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const count = Math.max(0, counts[i] as number)
    // Skipping empty buckets keeps q = 0 at the first observation, not at the start of an empty bucket.
    if (count === 0 || below + count < rank) {
      below += count
      continue
    }
    const upper = bounds[i]
    // In the +Inf bucket: the largest finite bound (0 when there is none), as Prometheus answers.
    if (upper === undefined) return bounds[bounds.length - 1] ?? 0
    const lower = i === 0 ? Math.min(0, upper) : (bounds[i - 1] as number)
    return lower + (upper - lower) * ((rank - below) / count)
  }
  // Rounding can leave rank a hair above the total: the answer is then the end of the last bucket.
  return bounds[Math.min(counts.length, bounds.length) - 1] ?? 0
}

/** Latency quantiles of a histogram, seconds; null where nothing was observed. */
export interface Quantiles {
  readonly p50: number | null
  readonly p95: number | null
  readonly p99: number | null
  /** Observations counted. */
  readonly count: number
  /** Mean of the observations, seconds (their sum over their count); null when there were none. */
  readonly mean: number | null
}

/** p50, p95 and p99 of one histogram (see {@link histogramQuantile}), with its count and mean. */
export function quantilesOf(bounds: readonly number[], counts: readonly number[], sum: number): Quantiles {
  let count = 0
  for (const n of counts) count += Math.max(0, n)
  return {
    p50: histogramQuantile(0.5, bounds, counts),
    p95: histogramQuantile(0.95, bounds, counts),
    p99: histogramQuantile(0.99, bounds, counts),
    count,
    mean: count === 0 ? null : sum / count,
  }
}
