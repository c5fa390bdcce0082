/**
 * What a test expects of the counters: a tally kept by hand as the workload runs, compared with a
 * parsed `/metrics` answer series by series, so that a count too many or too few anywhere fails.
 */
import type { Exposition } from './exposition.js'

/** `name{a="1",b="2"}`, labels sorted: one key per series whatever their order in the answer. */
export function seriesKey(name: string, labels: Readonly<Record<string, string>>): string {
  const sorted = Object.keys(labels)
    .sort()
    .map((label) => `${label}="${labels[label]}"`)
  return `${name}{${sorted.join(',')}}`
}

export class Tally {
  private readonly counts = new Map<string, number>()

  constructor(private readonly families: readonly string[]) {}

  /** Adds `by` to the series `name{labels}`. */
  add(name: string, labels: Readonly<Record<string, string>>, by = 1): this {
    if (!this.families.includes(name)) throw new Error(`${name} is not a family this tally compares`)
    const key = seriesKey(name, labels)
    this.counts.set(key, (this.counts.get(key) ?? 0) + by)
    return this
  }

  /** The non-zero series expected, sorted. */
  expected(): Record<string, number> {
    return Object.fromEntries([...this.counts].filter(([, value]) => value !== 0).sort(([a], [b]) => a.localeCompare(b)))
  }

  /** The non-zero series of the tally's families in `exposition` whose labels include `only`, sorted. */
  actual(exposition: Exposition, only: Readonly<Record<string, string>> = {}): Record<string, number> {
    const found: [string, number][] = []
    for (const name of this.families) {
      for (const sample of exposition.samples(name, only)) {
        const value = Number(sample.value)
        if (value !== 0) found.push([seriesKey(name, sample.labels ?? {}), value])
      }
    }
    return Object.fromEntries(found.sort(([a], [b]) => a.localeCompare(b)))
  }
}
