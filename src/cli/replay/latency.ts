import { type Histogram, build } from 'hdr-histogram-js'

/** Latency percentiles of the requests of a replay, in milliseconds. */
export interface LatencySummary {
  readonly p50Ms: number
  readonly p90Ms: number
  readonly p99Ms: number
  readonly p999Ms: number
  readonly maxMs: number
  readonly meanMs: number
}

const NS_PER_MS = 1e6

/**
 * Records request latencies in an HdrHistogram: constant memory whatever the number of requests,
 * values kept to 3 significant digits, from 1 ns to hours. The pure JavaScript implementation is
 * used (`useWebAssembly: false`): no WebAssembly start-up, and fast enough at ~10^6 records.
 *
 * @see G. Tene, HdrHistogram, http://hdrhistogram.org
 */
export class LatencyRecorder {
  private readonly histogram: Histogram = build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    numberOfSignificantValueDigits: 3,
    autoResize: true,
    useWebAssembly: false,
  })

  /** Records one latency, in milliseconds (as `performance.now()` differences give them). */
  record(ms: number): void {
    // Nanoseconds, as integers: an L1 hit takes well under a microsecond.
    this.histogram.recordValue(Math.max(1, Math.round(ms * NS_PER_MS)))
  }

  /** Latencies recorded so far. */
  get count(): number {
    return this.histogram.totalCount
  }

  /** Percentiles so far; all zero when nothing was recorded. */
  summary(): LatencySummary {
    const h = this.histogram
    if (h.totalCount === 0) return { p50Ms: 0, p90Ms: 0, p99Ms: 0, p999Ms: 0, maxMs: 0, meanMs: 0 }
    const maxMs = h.maxValue / NS_PER_MS
    // A percentile is the top of its bucket, which can lie above the largest value recorded.
    const at = (percentile: number) => Math.min(h.getValueAtPercentile(percentile) / NS_PER_MS, maxMs)
    return { p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), p999Ms: at(99.9), maxMs, meanMs: h.mean / NS_PER_MS }
  }
}
