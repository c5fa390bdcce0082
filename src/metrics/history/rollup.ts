import type { Labels, MetricsSnapshot } from '../../cache/instruments/snapshot.js'
import { SPANS } from './ranges.js'

/** One step of one resolution of one series of one instance, as stored in `tiercache_metric_rollups`. */
export interface RollupRow {
  /** The resolution, ms: one of `SPANS` (a minute, 5 minutes, an hour, 6 hours). */
  readonly span: number
  /** Start of the step, epoch ms (a multiple of `span`). */
  readonly minute: number
  readonly instance: string
  /**
   * The family's name; a histogram is stored as Prometheus exposes it: `<name>_bucket` (one row per
   * bucket, `le` its upper bound), `<name>_sum` and `<name>_count`.
   */
  readonly metric: string
  /** The series' labels as canonical JSON (see {@link canonicalLabels}). */
  readonly labels: string
  /**
   * The labels without `namespace`, `tenant` and `operation`, canonical JSON: what the points of a
   * range are summed by, so that a range's series costs rows per tier and reason, not per namespace.
   */
  readonly pointLabels: string
  /** A bucket's upper bound (`'0.005'`, `'+Inf'`); `''` for every other row. */
  readonly le: string
  /**
   * A bucket's lower bound, the bound of the bucket below it (null for the lowest, and for rows that
   * are not buckets). Empty buckets are not stored, so a reader learns the layout from this.
   */
  readonly lower: number | null
  /** The series' `tenant` label, `''` when it has none: kept apart so that reads filter on it. */
  readonly tenant: string
  /**
   * `counter`: what the minute added (counters, and histograms' buckets, sums and counts); rows of a
   * minute add up. `gauge`: the value at the end of the minute; a later row replaces it.
   */
  readonly kind: 'counter' | 'gauge'
  readonly value: number
}

/** A rollup's step, ms: rows are per minute (and per multiples of it for the coarser resolutions). */
export const MINUTE_MS = 60_000

/** Labels as JSON with the names sorted, so that one series always has one spelling. */
export function canonicalLabels(labels: Labels): string {
  let json = ''
  for (const name of Object.keys(labels).sort()) json += `${json === '' ? '' : ','}${JSON.stringify(name)}:${JSON.stringify(labels[name])}`
  return `{${json}}`
}

/** Text of a bucket's upper bound in `le`, as Prometheus writes it. */
export function leOf(bound: number): string {
  return bound === Number.POSITIVE_INFINITY ? '+Inf' : String(bound)
}

type SeriesOf = Omit<RollupRow, 'span' | 'minute' | 'instance' | 'value'>

/** A snapshot flattened to cumulative values per stored series, keyed by metric, labels and `le`. */
export type Flat = ReadonlyMap<string, { readonly row: SeriesOf; readonly value: number }>

const NOT_IN_POINTS = new Set(['namespace', 'tenant', 'operation'])

function pointLabelsOf(labels: Labels): string {
  const kept: Record<string, string> = {}
  for (const name of Object.keys(labels)) if (!NOT_IN_POINTS.has(name)) kept[name] = labels[name] as string
  return canonicalLabels(kept)
}

/** Flattens `snapshot` to one value per stored series (see {@link RollupRow.metric}). */
export function flatten(snapshot: MetricsSnapshot): Flat {
  const flat = new Map<string, { row: SeriesOf; value: number }>()
  // A sample's labels are spelled once, however many rows (buckets) it makes.
  const put = (series: Spelled, metric: string, le: string, kind: RollupRow['kind'], value: number, lower: number | null = null): void => {
    const key = `${metric}\n${series.labels}\n${le}`
    // Two samples of one series should not happen; if they do, both count.
    const previous = flat.get(key)?.value ?? 0
    flat.set(key, { row: { metric, labels: series.labels, pointLabels: series.pointLabels, le, lower, tenant: series.tenant, kind }, value: previous + value })
  }
  for (const family of snapshot.families) {
    if (family.type !== 'histogram') {
      for (const { labels, value } of family.samples) put(spell(labels), family.name, '', family.type, value)
      continue
    }
    for (const sample of family.samples) {
      const series = spell(sample.labels)
      sample.counts.forEach((count, i) => {
        const le = leOf(family.buckets[i] ?? Number.POSITIVE_INFINITY)
        put(series, `${family.name}_bucket`, le, 'counter', count, i === 0 ? null : (family.buckets[i - 1] ?? null))
      })
      put(series, `${family.name}_sum`, '', 'counter', sample.sum)
      put(series, `${family.name}_count`, '', 'counter', sample.count)
    }
  }
  return flat
}

interface Spelled {
  readonly labels: string
  readonly pointLabels: string
  readonly tenant: string
}

function spell(labels: Labels): Spelled {
  return { labels: canonicalLabels(labels), pointLabels: pointLabelsOf(labels), tenant: labels.tenant ?? '' }
}

/**
 * The minute rows of one flush: what each counter series added since `previous` (all of it for a series
 * `previous` lacks, and for one that went down, which means the source was reset, as Prometheus
 * reads a reset), and each gauge's value. Counters that added nothing are left out, so a quiet
 * series costs no rows; gauges are always written.
 *
 * @param previous - the last snapshot written, flattened; an empty map for the first
 * @param minute - start of the minute the rows belong to, epoch ms
 */
export function rollupRows(previous: Flat, current: Flat, minute: number, instance: string): RollupRow[] {
  const rows: RollupRow[] = []
  for (const [key, { row, value }] of current) {
    if (row.kind === 'gauge') {
      if (Number.isFinite(value)) rows.push({ ...row, span: MINUTE_MS, minute, instance, value })
      continue
    }
    const before = previous.get(key)?.value ?? 0
    const delta = value >= before ? value - before : value
    if (delta > 0 && Number.isFinite(delta)) rows.push({ ...row, span: MINUTE_MS, minute, instance, value: delta })
  }
  return rows
}

/** Minute rows with their copies in every coarser resolution of `SPANS`, which they add to. */
export function inEverySpan(rows: readonly RollupRow[]): RollupRow[] {
  return SPANS.flatMap(({ spanMs }) => rows.map((row) => ({ ...row, span: spanMs, minute: Math.floor(row.minute / spanMs) * spanMs })))
}

/**
 * The minute a flush covering `[from, to)` is stored in: the minute of its midpoint. Flushes run at
 * minute boundaries, a little late or early, so the midpoint falls well inside the minute they
 * cover; a flush on close covers part of the current minute, and lands in it.
 */
export function minuteOf(from: number, to: number): number {
  const middle = from + Math.max(0, to - from) / 2
  return Math.floor(middle / MINUTE_MS) * MINUTE_MS
}
