import type { HistogramSample, Labels, MetricFamily, MetricsSnapshot, Sample } from '../../../src/cache/instruments/snapshot.js'

/** The buckets of docs/metrics.md, seconds. */
export const BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

type Kind = 'counter' | 'gauge' | 'histogram'

/**
 * Hand-made instruments: counters that only go up, gauges, histograms over {@link BUCKETS}; `snapshot`
 * gives them in the shape of `cache.metrics()`. Stands in for a cache where a test needs exact
 * figures of its own choosing.
 */
export class FakeInstruments {
  private readonly families = new Map<string, { kind: Kind; series: Map<string, { labels: Labels; value: number; counts: number[]; sum: number }> }>()
  at = 0

  count(name: string, labels: Labels, by = 1): this {
    this.series(name, 'counter', labels).value += by
    return this
  }

  set(name: string, labels: Labels, value: number): this {
    this.series(name, 'gauge', labels).value = value
    return this
  }

  observe(name: string, labels: Labels, ...seconds: number[]): this {
    const series = this.series(name, 'histogram', labels)
    for (const s of seconds) {
      const i = BUCKETS.findIndex((bound) => s <= bound)
      const slot = i === -1 ? BUCKETS.length : i
      series.counts[slot] = (series.counts[slot] ?? 0) + 1
      series.sum += s
    }
    return this
  }

  /** What a cache created anew would report: everything back to zero. */
  reset(): this {
    this.families.clear()
    return this
  }

  readonly source = async (): Promise<MetricsSnapshot> => this.snapshot()

  snapshot(): MetricsSnapshot {
    const families: MetricFamily[] = []
    for (const [name, { kind, series }] of this.families) {
      if (kind === 'histogram') {
        const samples: HistogramSample[] = [...series.values()].map(({ labels, counts, sum }) => ({
          labels,
          counts: [...counts],
          sum,
          count: counts.reduce((a, b) => a + b, 0),
        }))
        families.push({ type: 'histogram', name, help: name, buckets: BUCKETS, samples })
      } else {
        const samples: Sample[] = [...series.values()].map(({ labels, value }) => ({ labels, value }))
        families.push({ type: kind, name, help: name, samples })
      }
    }
    return { at: this.at, families }
  }

  private series(name: string, kind: Kind, labels: Labels) {
    let family = this.families.get(name)
    if (family === undefined) this.families.set(name, (family = { kind, series: new Map() }))
    const key = JSON.stringify(Object.entries(labels).sort())
    let series = family.series.get(key)
    if (series === undefined) family.series.set(key, (series = { labels, value: 0, counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0 }))
    return series
  }
}
