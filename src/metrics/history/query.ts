import { z } from 'zod'
import type { Labels } from '../../cache/instruments/snapshot.js'
import { parseOptions } from '../../core/options.js'
import { TierUnavailableError } from '../../errors.js'
import {
  type GaugeSeries,
  type HistoryFigures,
  type NamespaceFigures,
  type SeriesValue,
  familyTotalsOf,
  figuresOf,
  namespaceFiguresOf,
} from './figures.js'
import { HISTORY_RANGES, type HistoryRange, windowOf } from './ranges.js'
import { MINUTE_MS } from './rollup.js'
import type { CounterSum, GaugeValue, HistoryStore } from './store.js'

/** What {@link queryHistory} takes. */
export interface HistoryQuery {
  /** How far back: `1h`, `24h`, `7d` or `30d` (steps of 1 min, 5 min, 1 h, 6 h). */
  readonly range: HistoryRange
  /**
   * Only the series labelled with this tenant (the cache's `metrics.tenants` option adds the label);
   * without it, every series. A tenant's figures hold no gauges: entries and bytes are the tier's.
   */
  readonly tenant?: string
  /** The time the range ends at, epoch ms. @default the history's clock */
  readonly now?: number
}

/** One step of the series: the figures of what happened in `[at, at + stepMs)`. */
export interface HistoryPoint extends HistoryFigures {
  /** Start of the step, epoch ms. */
  readonly at: number
}

/** The range's figures, every instance that shares the database summed. */
export interface HistoryTotals extends HistoryFigures {
  /** Per namespace, as callers name it. */
  readonly namespaces: Readonly<Record<string, NamespaceFigures>>
  /** Every counter family's total over its series, by Prometheus name (docs/metrics.md). */
  readonly counters: Readonly<Record<string, number>>
}

/** The answer of {@link queryHistory}. */
export interface HistoryReport {
  readonly range: HistoryRange
  /** Start of the first step, epoch ms. */
  readonly from: number
  /** End of the last step (the one holding `now`, still filling), epoch ms, excluded. */
  readonly to: number
  readonly stepMs: number
  readonly tenant: string | null
  /** Instances that wrote rows in the range (an instance restarted with a new id counts twice). */
  readonly instances: number
  readonly totals: HistoryTotals
  /** One point per step, oldest first, every step present (zero when nothing was written). */
  readonly series: readonly HistoryPoint[]
}

/** How far back the gauges of a report's totals look for each instance's newest minute, ms. */
const LATEST_GAUGES_MS = 3 * MINUTE_MS

const querySchema = z
  .object({
    range: z.enum(Object.keys(HISTORY_RANGES) as [HistoryRange, ...HistoryRange[]]),
    tenant: z.string().min(1).max(256).optional(),
    now: z.number().finite().nonnegative().optional(),
  })
  .strict()

/**
 * Reads a range from `store`: SQL sums every instance's rows of the range's resolution, into one row
 * per step and point series for the series, and one per series for the totals; this turns those
 * rows into figures (ratios, quantiles from the summed buckets).
 *
 * @throws InvalidOptionsError when the query is malformed
 * @throws TierUnavailableError when the database fails (its error as `cause`)
 */
export async function queryHistory(store: HistoryStore, query: HistoryQuery, clock: () => number): Promise<HistoryReport> {
  const { range, tenant, now = clock() } = parseOptions(querySchema, query, 'stats history query')
  const window = windowOf(range, now, tenant)
  // Gauges now: each instance's newest minute among the last few (instances flush a minute apart).
  const until = (Math.floor(now / MINUTE_MS) + 1) * MINUTE_MS
  let points: CounterSum[], sums: CounterSum[], gauges: GaugeValue[], latest: GaugeValue[], instances: number
  try {
    ;[points, sums, gauges, latest, instances] = await Promise.all([
      store.points(window),
      store.totals(window),
      store.gauges(window),
      store.latestGauges(until - LATEST_GAUGES_MS, until, tenant),
      store.instances(window),
    ])
  } catch (cause) {
    throw new TierUnavailableError('cannot read the stats history', { cause })
  }
  const labelsOf = labelParser()
  const series = (row: CounterSum): SeriesValue => ({ metric: row.metric, labels: labelsOf(row.labels), le: row.le, lower: row.lower, value: row.value })
  const gauge = (row: GaugeValue): GaugeSeries => ({ ...row, labels: labelsOf(row.labels) })
  const perStep = new Map<number, SeriesValue[]>()
  for (const row of points) listAt(perStep, row.step).push(series(row))
  const gaugesPerStep = new Map<number, GaugeSeries[]>()
  for (const row of gauges) listAt(gaugesPerStep, row.step).push(gauge(row))

  const stepPoints: HistoryPoint[] = []
  for (let at = window.from; at < window.to; at += window.stepMs) {
    stepPoints.push({ at, ...figuresOf(perStep.get(at) ?? [], gaugesPerStep.get(at) ?? []) })
  }
  const all = sums.map(series)
  return {
    range,
    from: window.from,
    to: window.to,
    stepMs: window.stepMs,
    tenant: tenant ?? null,
    instances,
    totals: { ...figuresOf(all, latest.map(gauge)), namespaces: namespaceFiguresOf(all), counters: familyTotalsOf(all) },
    series: stepPoints,
  }
}

function listAt<T>(map: Map<number, T[]>, at: number): T[] {
  let list = map.get(at)
  if (list === undefined) map.set(at, (list = []))
  return list
}

/**
 * A parser of stored labels (their JSON text) that parses each distinct text once. A row that is not
 * an object of strings (written by hand) reads as no labels rather than failing the whole query.
 */
export function labelParser(): (json: string) => Labels {
  const parsed = new Map<string, Labels>()
  return (json) => {
    let labels = parsed.get(json)
    if (labels === undefined) {
      labels = parseLabels(json)
      parsed.set(json, labels)
    }
    return labels
  }
}

function parseLabels(json: string): Labels {
  try {
    const value: unknown = JSON.parse(json)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return {}
    return Object.fromEntries(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'))
  } catch {
    return {}
  }
}
