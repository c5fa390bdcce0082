/**
 * The shape of a cache's instruments as {@link MetricsSnapshot}: metric families of counters, gauges
 * and histograms, each series named by bounded labels (namespace, tier, operation, outcome, reason;
 * tenant only when the operator asks), never by key. The names and labels are those of the Prometheus
 * exposition (docs/metrics.md lists them): Prometheus, the stats history, `/v1/stats` and the
 * dashboard all read this one shape.
 */

/** Label names to values; the same names, in the same order, for every series of a family. */
export type Labels = Readonly<Record<string, string>>

/** One series of a counter or a gauge. */
export interface Sample {
  readonly labels: Labels
  readonly value: number
}

/** One series of a histogram: observations per bucket, in seconds. */
export interface HistogramSample {
  readonly labels: Labels
  /**
   * Observations per bucket, not cumulative: `counts[i]` fell in `(buckets[i-1], buckets[i]]`; the
   * last, `counts[buckets.length]`, above the largest bound (Prometheus's `+Inf` less the rest).
   */
  readonly counts: readonly number[]
  /** Sum of the observations, seconds. */
  readonly sum: number
  /** Number of observations: the sum of `counts`. */
  readonly count: number
}

/** A counter (monotonic since the cache was created) or a gauge (a value now). */
export interface ScalarFamily {
  readonly type: 'counter' | 'gauge'
  /** Prometheus name, `tiercache_...`; counters end in `_total`. */
  readonly name: string
  readonly help: string
  readonly samples: readonly Sample[]
}

/** A histogram of durations in seconds. */
export interface HistogramFamily {
  readonly type: 'histogram'
  /** Prometheus name, `tiercache_..._seconds`. */
  readonly name: string
  readonly help: string
  /** Upper bounds of the buckets, seconds, ascending; `+Inf` is implied. */
  readonly buckets: readonly number[]
  readonly samples: readonly HistogramSample[]
}

/** One family of a {@link MetricsSnapshot}: a counter, a gauge or a histogram, told apart by `type`. */
export type MetricFamily = ScalarFamily | HistogramFamily

/** Every instrument of a cache at one moment. */
export interface MetricsSnapshot {
  /** When it was taken, ms since the epoch. */
  readonly at: number
  readonly families: readonly MetricFamily[]
}
