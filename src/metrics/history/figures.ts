import type { Labels } from '../../cache/instruments/snapshot.js'
import { type Quantiles, quantilesOf } from './quantile.js'

/** A stored series with its value summed over instances and minutes: the input of the figures. */
export interface SeriesValue {
  readonly metric: string
  readonly labels: Labels
  readonly le: string
  /** A bucket's lower bound (null for the lowest, and for other rows). */
  readonly lower: number | null
  readonly value: number
}

/** A gauge series of the deployment: `total` summed over instances, `highest` their largest value. */
export interface GaugeSeries {
  readonly metric: string
  readonly labels: Labels
  readonly total: number
  readonly highest: number
}

/** What one tier did, and holds. */
export interface TierFigures {
  /** Lookups it answered with a fresh entry. */
  readonly hits: number
  /** Lookups it was asked and could not answer fresh, whatever the reason. */
  readonly misses: number
  /** `hits / (hits + misses)`: of the lookups that reached the tier, those it answered; null if none. */
  readonly hitRatio: number | null
  /** Its misses by reason (`absent`, `expired`, ... as in docs/metrics.md). */
  readonly missReasons: Readonly<Record<string, number>>
  /** Its reads, seconds. */
  readonly readLatency: Quantiles
  /**
   * Entries it holds: in a range's totals, as each instance last reported them (its newest minute of
   * the last three); in a point, at the end of the step. Summed over instances for L1 (each has its
   * own), the largest instance's figure for the shared tiers (they all see the same); null if unknown.
   */
  readonly entries: number | null
  /** Bytes of those entries, the same way; null where the tier cannot tell (Redis). */
  readonly bytes: number | null
  /** Whether an instance had the tier's circuit open or half-open. */
  readonly circuitOpen: boolean
}

/** The figures of a step of a range, or of the whole range, for every namespace together. */
export interface HistoryFigures {
  /** Lookups of a key (`get`, `getOrSet`, one per key of `getMany`). */
  readonly requests: number
  /** Lookups a tier answered with a fresh entry. */
  readonly hits: number
  /** Stale entries served (fail-safe, allowStale). */
  readonly staleHits: number
  /** `requests - hits`: lookups no tier answered fresh (stale answers among them). */
  readonly misses: number
  /** `hits / requests`; null without requests. */
  readonly hitRatio: number | null
  /** Per tier (`l1`, `l2`, `l3`). */
  readonly tiers: Readonly<Record<string, TierFigures>>
  /** Misses by reason, over every tier. */
  readonly missReasons: Readonly<Record<string, number>>
  /** Factory (origin) calls, whatever their outcome. */
  readonly originCalls: number
  /** Factory calls by outcome: `ok`, `error`, `timeout`. */
  readonly originOutcomes: Readonly<Record<string, number>>
  /** `getOrSet` lookups answered without calling the origin. */
  readonly originCallsSaved: number
  /** Saved calls times their configured cost, per unit (`usd`, `tokens`, ...). */
  readonly costSaved: Readonly<Record<string, number>>
  /** Tier operations that threw or timed out. */
  readonly errors: number
  /** Seconds: each `getOrSet` as a whole, each origin call. */
  readonly latency: { readonly getOrSet: Quantiles; readonly origin: Quantiles }
}

/** One namespace's figures over the range. */
export interface NamespaceFigures {
  readonly requests: number
  readonly hits: number
  readonly staleHits: number
  readonly hitRatio: number | null
  readonly missReasons: Readonly<Record<string, number>>
  readonly originCalls: number
  readonly originCallsSaved: number
  readonly costSaved: Readonly<Record<string, number>>
  readonly getOrSetLatency: Quantiles
}

const M = {
  requests: 'tiercache_requests_total',
  hits: 'tiercache_hits_total',
  stale: 'tiercache_stale_hits_total',
  misses: 'tiercache_misses_total',
  errors: 'tiercache_errors_total',
  origin: 'tiercache_origin_calls_total',
  saved: 'tiercache_origin_calls_saved_total',
  cost: 'tiercache_origin_cost_saved_total',
  tierRead: 'tiercache_tier_read_duration_seconds',
  getOrSet: 'tiercache_get_or_set_duration_seconds',
  originLatency: 'tiercache_origin_duration_seconds',
  entries: 'tiercache_entries',
  bytes: 'tiercache_bytes',
  circuit: 'tiercache_circuit_open',
} as const

type Where = (labels: Labels) => boolean
const everything: Where = () => true

/** Sums and groupings over one set of summed series, grouped by metric once. */
class Sums {
  private readonly byMetric = new Map<string, SeriesValue[]>()

  constructor(series: readonly SeriesValue[]) {
    for (const s of series) {
      const list = this.byMetric.get(s.metric)
      if (list === undefined) this.byMetric.set(s.metric, [s])
      else list.push(s)
    }
  }

  total(metric: string, where: Where = everything): number {
    let sum = 0
    for (const s of this.of(metric)) if (where(s.labels)) sum += s.value
    return sum
  }

  by(metric: string, label: string, where: Where = everything): Record<string, number> {
    const out: Record<string, number> = {}
    for (const s of this.of(metric)) {
      const value = s.labels[label]
      if (value === undefined || !where(s.labels)) continue
      out[value] = (out[value] ?? 0) + s.value
    }
    return out
  }

  /** Values a label takes in the series of any of `metrics`. */
  values(label: string, metrics: readonly string[]): string[] {
    const seen = new Set<string>()
    for (const metric of metrics) {
      for (const s of this.of(metric)) {
        const value = s.labels[label]
        if (value !== undefined) seen.add(value)
      }
    }
    return [...seen].sort()
  }

  /** p50/p95/p99 of the histogram `name`, its series that match `where` summed bucket by bucket. */
  quantiles(name: string, where: Where = everything): Quantiles {
    const perBound = new Map<number, number>()
    for (const s of this.of(`${name}_bucket`)) {
      if (!where(s.labels)) continue
      const bound = s.le === '+Inf' ? Number.POSITIVE_INFINITY : Number(s.le)
      if (Number.isNaN(bound)) continue
      perBound.set(bound, (perBound.get(bound) ?? 0) + s.value)
      // Empty buckets are not stored: the bucket below this one is known by its bound, at zero.
      if (s.lower !== null && !perBound.has(s.lower)) perBound.set(s.lower, 0)
    }
    if (perBound.size === 0) return NOTHING_OBSERVED
    const bounds = [...perBound.keys()].filter((b) => b !== Number.POSITIVE_INFINITY).sort((a, b) => a - b)
    const counts = [...bounds.map((b) => perBound.get(b) ?? 0), perBound.get(Number.POSITIVE_INFINITY) ?? 0]
    return quantilesOf(bounds, counts, this.total(`${name}_sum`, where))
  }

  private of(metric: string): readonly SeriesValue[] {
    return this.byMetric.get(metric) ?? []
  }
}

const NOTHING_OBSERVED: Quantiles = Object.freeze({ p50: null, p95: null, p99: null, count: 0, mean: null })

const ratio = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null)
const label =
  (name: string, value: string): Where =>
  (labels) =>
    labels[name] === value

/** The figures of every namespace together, from counter series and gauge series. */
export function figuresOf(series: readonly SeriesValue[], gauges: readonly GaugeSeries[]): HistoryFigures {
  const sums = new Sums(series)
  const requests = sums.total(M.requests)
  const hits = sums.total(M.hits)
  const tierNames = [...new Set([...sums.values('tier', [M.hits, M.misses, `${M.tierRead}_count`]), ...gaugeTiers(gauges)])].sort()
  const tiers: Record<string, TierFigures> = {}
  for (const tier of tierNames) {
    const inTier = label('tier', tier)
    const tierHits = sums.total(M.hits, inTier)
    const tierMisses = sums.total(M.misses, inTier)
    tiers[tier] = {
      hits: tierHits,
      misses: tierMisses,
      hitRatio: ratio(tierHits, tierHits + tierMisses),
      missReasons: sums.by(M.misses, 'reason', inTier),
      readLatency: sums.quantiles(M.tierRead, inTier),
      entries: gaugeOf(gauges, M.entries, tier),
      bytes: gaugeOf(gauges, M.bytes, tier),
      circuitOpen: (gauges.find((g) => g.metric === M.circuit && g.labels.tier === tier)?.highest ?? 0) > 0,
    }
  }
  const originOutcomes = sums.by(M.origin, 'outcome')
  return {
    requests,
    hits,
    staleHits: sums.total(M.stale),
    misses: Math.max(0, requests - hits),
    hitRatio: ratio(hits, requests),
    tiers,
    missReasons: sums.by(M.misses, 'reason'),
    originCalls: Object.values(originOutcomes).reduce((a, b) => a + b, 0),
    originOutcomes,
    originCallsSaved: sums.total(M.saved),
    costSaved: sums.by(M.cost, 'unit'),
    errors: sums.total(M.errors),
    latency: { getOrSet: sums.quantiles(M.getOrSet), origin: sums.quantiles(M.originLatency) },
  }
}

/** Per namespace (the namespace as callers name it), from counter series. */
export function namespaceFiguresOf(series: readonly SeriesValue[]): Record<string, NamespaceFigures> {
  const sums = new Sums(series)
  const out: Record<string, NamespaceFigures> = {}
  for (const namespace of sums.values('namespace', [M.requests, M.hits, M.misses, M.origin, M.saved])) {
    const inNamespace = label('namespace', namespace)
    const requests = sums.total(M.requests, inNamespace)
    const hits = sums.total(M.hits, inNamespace)
    out[namespace] = {
      requests,
      hits,
      staleHits: sums.total(M.stale, inNamespace),
      hitRatio: ratio(hits, requests),
      missReasons: sums.by(M.misses, 'reason', inNamespace),
      originCalls: sums.total(M.origin, inNamespace),
      originCallsSaved: sums.total(M.saved, inNamespace),
      costSaved: sums.by(M.cost, 'unit', inNamespace),
      getOrSetLatency: sums.quantiles(M.getOrSet, inNamespace),
    }
  }
  return out
}

/** Each counter family's total over all its series (histograms as `_count` and `_sum`, no buckets). */
export function familyTotalsOf(series: readonly SeriesValue[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const s of series) if (!s.metric.endsWith('_bucket')) out[s.metric] = (out[s.metric] ?? 0) + s.value
  return out
}

function gaugeTiers(gauges: readonly GaugeSeries[]): string[] {
  return gauges.flatMap((g) => (g.labels.tier === undefined ? [] : [g.labels.tier]))
}

// L1 is per process, so the deployment holds the sum; a shared tier is the same for every instance.
function gaugeOf(gauges: readonly GaugeSeries[], metric: string, tier: string): number | null {
  let found: number | null = null
  for (const g of gauges) {
    if (g.metric !== metric || g.labels.tier !== tier) continue
    found = (found ?? 0) + (tier === 'l1' ? g.total : g.highest)
  }
  return found
}
