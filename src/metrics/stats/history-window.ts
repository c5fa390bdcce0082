/**
 * A range of the stats history as metric families (the shape of `cache.metrics()`), so that one
 * summary (summarize.ts) reads the history and a live snapshot alike. The store sums every instance's
 * rows in SQL, per series over the range and per point series of each step; this regroups those
 * rows into families, the histograms' `_bucket`, `_sum` and `_count` rows back into histograms.
 */
import type { HistogramFamily, Labels, MetricFamily, ScalarFamily } from '../../cache/instruments/snapshot.js'
import { TierUnavailableError } from '../../errors.js'
import { labelParser } from '../history/query.js'
import { HISTORY_RANGES, type HistoryRange, windowOf } from '../history/ranges.js'
import type { CounterSum, HistoryStore } from '../history/store.js'
import type { HistoryWindow } from './build.js'

/** The query of {@link readWindow}. */
export interface WindowQuery {
  readonly range: HistoryRange
  /** Only the series labelled with this tenant. */
  readonly tenant?: string
  /** When the range ends (in the step holding it), epoch ms. @default Date.now() */
  readonly now?: number
}

/**
 * Families without a namespace (nor a tenant): the shared tiers' and the bus's. A tenant's window
 * holds only its own rows, so these are read apart, from the rows without a tenant.
 */
const SHARED_FAMILIES = new Set(['tiercache_errors_total', 'tiercache_circuit_changes_total', 'tiercache_bus_messages_total'])
const SHARED_HISTOGRAMS = ['tiercache_tier_read_duration_seconds_']

function isShared(metric: string): boolean {
  return SHARED_FAMILIES.has(metric) || SHARED_HISTOGRAMS.some((prefix) => metric.startsWith(prefix))
}

/**
 * Reads `range` from `store`: the families' increase over the whole range (every label), and per
 * step (the store sums a step's points by their point labels: no namespace, tenant or operation).
 * @throws TierUnavailableError when the database fails (its error as `cause`)
 */
export async function readWindow(store: HistoryStore, query: WindowQuery): Promise<HistoryWindow> {
  const now = query.now ?? Date.now()
  const window = windowOf(query.range, now, query.tenant)
  const shared = query.tenant === undefined ? undefined : windowOf(query.range, now, '')
  let totals: CounterSum[], points: CounterSum[], instances: number, sharedTotals: CounterSum[], sharedPoints: CounterSum[]
  try {
    ;[totals, points, instances, sharedTotals, sharedPoints] = await Promise.all([
      store.totals(window),
      store.points(window),
      store.instances(window),
      shared === undefined ? [] : store.totals(shared),
      shared === undefined ? [] : store.points(shared),
    ])
  } catch (cause) {
    throw new TierUnavailableError('cannot read the stats history', { cause })
  }
  const labelsOf = labelParser()
  const allTotals = [...totals, ...sharedTotals.filter((row) => isShared(row.metric))]
  const perStep = new Map<number, CounterSum[]>()
  for (const row of [...points, ...sharedPoints.filter((row) => isShared(row.metric))]) {
    let list = perStep.get(row.step)
    if (list === undefined) perStep.set(row.step, (list = []))
    list.push(row)
  }
  const steps = [...perStep].sort(([a], [b]) => a - b).map(([t, list]) => ({ t, families: familiesOf(list, labelsOf) }))
  return { from: window.from, to: window.to, stepMs: HISTORY_RANGES[query.range].stepMs, instances, total: familiesOf(allTotals, labelsOf), steps }
}

interface HistogramAcc {
  labels: Labels
  /** Observations by upper bound (`Infinity` for `+Inf`). */
  byBound: Map<number, number>
  sum: number
}

/** Rows (of one step, or of all: the values of a series are summed) as families. */
export function familiesOf(rows: readonly CounterSum[], labelsOf: (json: string) => Labels = labelParser()): MetricFamily[] {
  const scalars = new Map<string, Map<string, { labels: Labels; value: number }>>()
  const histograms = new Map<string, Map<string, HistogramAcc>>()
  // Every boundary seen per histogram: a bucket's own and its lower, so that the buckets that had no
  // rows still bound the ones next to them.
  const bounds = new Map<string, Set<number>>()
  for (const row of rows) {
    const suffix = /_(bucket|sum|count)$/.exec(row.metric)?.[1]
    const base = suffix === undefined ? row.metric : row.metric.slice(0, -suffix.length - 1)
    if (suffix === undefined || !base.endsWith('_seconds')) {
      const family = getOrMake(scalars, row.metric, () => new Map())
      const series = getOrMake(family, row.labels, () => ({ labels: labelsOf(row.labels), value: 0 }))
      series.value += row.value
      continue
    }
    const family = getOrMake(histograms, base, () => new Map())
    const series = getOrMake(family, row.labels, () => ({ labels: labelsOf(row.labels), byBound: new Map(), sum: 0 }))
    if (suffix === 'sum') series.sum += row.value
    if (suffix !== 'bucket') continue
    const bound = row.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(row.le)
    if (Number.isNaN(bound)) continue
    series.byBound.set(bound, (series.byBound.get(bound) ?? 0) + row.value)
    const seen = getOrMake(bounds, base, () => new Set())
    if (Number.isFinite(bound)) seen.add(bound)
    if (row.lower !== null && Number.isFinite(row.lower)) seen.add(row.lower)
  }
  const families: MetricFamily[] = []
  for (const [name, family] of scalars) {
    const samples = [...family.values()].map(({ labels, value }) => ({ labels, value }))
    families.push({ type: 'counter', name, help: '', samples } satisfies ScalarFamily)
  }
  for (const [name, family] of histograms) {
    const buckets = [...(bounds.get(name) ?? [])].sort((a, b) => a - b)
    const samples = [...family.values()].map(({ labels, byBound, sum }) => {
      const counts = [...buckets.map((bound) => byBound.get(bound) ?? 0), byBound.get(Number.POSITIVE_INFINITY) ?? 0]
      return { labels, counts, sum, count: counts.reduce((a, b) => a + b, 0) }
    })
    families.push({ type: 'histogram', name, help: '', buckets, samples } satisfies HistogramFamily)
  }
  return families
}

function getOrMake<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key)
  if (value === undefined) map.set(key, (value = make()))
  return value
}
