/**
 * Reading a `/metrics` answer in tests: parsed by a Prometheus text-format parser (not by our own
 * code), then looked up by family and labels.
 *
 * The parser folds every series of a histogram into one and drops their labels (it handles only
 * histograms without labels), so histograms are read from a second parse in which their families are
 * declared untyped: each `_bucket`, `_sum` and `_count` line is then a plain sample with its labels.
 */
import parsePrometheusTextFormat, { type ParsedFamily, type ParsedSample } from 'parse-prometheus-text-format'

/** A parsed exposition, by family name. */
export class Exposition {
  readonly families: ReadonlyMap<string, ParsedFamily>

  /** `_bucket`, `_sum` and `_count` samples of every histogram, by their suffixed names. */
  private readonly histogramLines = new Map<string, ParsedSample[]>()

  constructor(readonly text: string) {
    this.families = new Map(parsePrometheusTextFormat(text).map((family) => [family.name, family]))
    // Untyped, each change of name starts a family: a name comes back once per series.
    for (const family of parsePrometheusTextFormat(text.replace(/^# TYPE (\S+) histogram$/gm, '# TYPE $1 untyped'))) {
      if (!/_(bucket|sum|count)$/.test(family.name)) continue
      this.histogramLines.set(family.name, [...(this.histogramLines.get(family.name) ?? []), ...family.metrics])
    }
  }

  /**
   * The one series of histogram `name` with exactly `labels` (besides `le`): its cumulative buckets
   * by bound, sum and count.
   * @throws when there is no such series
   */
  histogram(name: string, labels: Readonly<Record<string, string>> = {}): { buckets: Record<string, number>; sum: number; count: number } {
    if (this.family(name).type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`)
    const exactly = (sample: ParsedSample, ignored?: string): boolean => {
      const own = Object.entries(sample.labels ?? {}).filter(([label]) => label !== ignored)
      return own.length === Object.keys(labels).length && own.every(([label, value]) => labels[label] === value)
    }
    const buckets: Record<string, number> = {}
    for (const sample of this.histogramLines.get(`${name}_bucket`) ?? []) {
      const le = sample.labels?.le
      if (le !== undefined && exactly(sample, 'le')) buckets[le] = Number(sample.value)
    }
    const one = (suffix: string): number => {
      const found = (this.histogramLines.get(`${name}_${suffix}`) ?? []).filter((sample) => exactly(sample))
      if (found.length !== 1) throw new Error(`${found.length} ${name}_${suffix} series with exactly ${JSON.stringify(labels)}`)
      return Number(found[0]?.value)
    }
    return { buckets, sum: one('sum'), count: one('count') }
  }

  /** The family called `name`. @throws when there is none */
  family(name: string): ParsedFamily {
    const family = this.families.get(name)
    if (family === undefined) throw new Error(`no family ${name} in the exposition`)
    return family
  }

  /** The label names the series of `name` carry (for a histogram, besides `le`). */
  labelNames(name: string): Set<string> {
    const samples = this.family(name).type === 'HISTOGRAM' ? (this.histogramLines.get(`${name}_count`) ?? []) : this.family(name).metrics
    return new Set(samples.flatMap((sample) => Object.keys(sample.labels ?? {})))
  }

  /** The samples of `name` whose labels include `labels`. */
  samples(name: string, labels: Readonly<Record<string, string>> = {}): ParsedSample[] {
    return this.family(name).metrics.filter((sample) => Object.entries(labels).every(([label, value]) => sample.labels?.[label] === value))
  }

  /**
   * The value of the one sample of `name` with exactly `labels`.
   * @throws when there is no such sample
   */
  value(name: string, labels: Readonly<Record<string, string>> = {}): number {
    const wanted = Object.keys(labels).length
    const found = this.samples(name, labels).filter((sample) => Object.keys(sample.labels ?? {}).length === wanted)
    if (found.length !== 1 || found[0]?.value === undefined) throw new Error(`${found.length} samples of ${name} with exactly ${JSON.stringify(labels)}`)
    return Number(found[0].value)
  }

  /** The sum of the samples of `name` whose labels include `labels` (what PromQL's `sum` gives). */
  sum(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.samples(name, labels).reduce((total, sample) => total + Number(sample.value ?? Number.NaN), 0)
  }

  /** Every series of every family as `name{label="value",...} value`, sorted: for whole-answer comparisons. */
  series(prefix = 'tiercache_'): Map<string, number> {
    const all = new Map<string, number>()
    for (const family of this.families.values()) {
      if (!family.name.startsWith(prefix)) continue
      for (const sample of family.metrics) {
        const labels = Object.entries(sample.labels ?? {}).map(([label, value]) => `${label}="${value}"`).join(',')
        if (sample.value !== undefined) all.set(`${family.name}{${labels}}`, Number(sample.value))
      }
    }
    return all
  }
}
