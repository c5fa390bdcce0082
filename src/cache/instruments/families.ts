import type { Level, SharedLevel } from '../../core/level.js'
import type { CircuitState } from '../circuit-breaker.js'
import { CIRCUIT_STATES, type Instruments } from './instruments.js'
import {
  BUCKETS,
  EVICTION_REASONS,
  type Histogram,
  INVALIDATION_KINDS,
  LEVEL_INDEX,
  MISS_REASONS,
  type NamespaceSeries,
  OPERATIONS,
  ORIGIN_OUTCOMES,
  STALE_REASONS,
  WRITE_KINDS,
} from './series.js'
import type { HistogramFamily, HistogramSample, Labels, MetricFamily, MetricsSnapshot, Sample, ScalarFamily } from './snapshot.js'

/** What a snapshot reads besides the instruments: the stack as it is now. */
export interface StackState {
  /** Levels of the stack, fastest first. */
  readonly levels: readonly Level[]
  /** L1 now, when there is one. */
  readonly l1?: { readonly entries: number; readonly bytes: number; readonly maxEntries: number; readonly maxBytes: number }
  /** Each shared tier: its circuit, and what it holds in the namespaces seen, where it could be counted. */
  readonly shared: readonly { readonly level: SharedLevel; readonly circuit: CircuitState; readonly usage?: { readonly entries: number; readonly bytes?: number } }[]
  readonly bus: 'none' | 'listening' | 'deaf'
}

const counter = (name: string, help: string, samples: Sample[]): ScalarFamily => ({ type: 'counter', name, help, samples })
const gauge = (name: string, help: string, samples: Sample[]): ScalarFamily => ({ type: 'gauge', name, help, samples })

/** One sample per series and per value of each extra label, in order. */
function perSeries(all: readonly NamespaceSeries[], value: (s: NamespaceSeries) => number): Sample[] {
  return all.map((s) => ({ labels: s.labels, value: value(s) }))
}

function perSeriesAnd<T extends string>(
  all: readonly NamespaceSeries[],
  label: string,
  values: readonly T[],
  value: (s: NamespaceSeries, v: T, i: number) => number,
): Sample[] {
  return all.flatMap((s) => values.map((v, i) => ({ labels: { ...s.labels, [label]: v }, value: value(s, v, i) })))
}

/** One sample per series, tier and value of a reason-like label: slots laid out `tier * values + value`. */
function perTierAnd(all: readonly NamespaceSeries[], levels: readonly Level[], label: string, values: readonly string[], counts: (s: NamespaceSeries) => Float64Array): Sample[] {
  return all.flatMap((s) =>
    levels.flatMap((tier) =>
      values.map((v, i) => ({ labels: { ...s.labels, tier, [label]: v }, value: counts(s)[LEVEL_INDEX[tier] * values.length + i] as number })),
    ),
  )
}

function histogramSample(labels: Labels, h: Histogram): HistogramSample {
  return { labels, counts: [...h.counts], sum: h.sum, count: h.count }
}

/**
 * The instruments as a {@link MetricsSnapshot}, names and labels as docs/metrics.md lists them. Every
 * series of a namespace seen is present, at zero where nothing happened; instruments off: no families.
 */
export function buildSnapshot(instruments: Instruments, state: StackState, now = Date.now()): MetricsSnapshot {
  if (!instruments.on) return { at: now, families: [] }
  const all = instruments.all()
  const { levels } = state
  const sharedLevels = state.shared.map(({ level }) => level)
  const costs = instruments.options === false ? {} : instruments.options.costs
  const every = instruments.sampleEvery
  const sampled = every === 1 ? 'each one timed' : `timed one in ${every} (metrics.sampleEvery)`
  const families: MetricFamily[] = [
    counter('tiercache_requests_total', 'Lookups of a key by get, getOrSet and getMany (one per key)', perSeriesAnd(all, 'operation', OPERATIONS, (s, _, i) => s.requests[i] as number)),
    counter(
      'tiercache_hits_total',
      'Lookups a tier answered with a fresh entry',
      perSeriesAnd(all, 'tier', levels, (s, tier) => s.hits[LEVEL_INDEX[tier]] as number),
    ),
    counter('tiercache_stale_hits_total', 'Stale entries served, by why', perTierAnd(all, levels, 'reason', STALE_REASONS, (s) => s.stale)),
    counter('tiercache_misses_total', 'Lookups a tier did not answer fresh, by why', perTierAnd(all, levels, 'reason', MISS_REASONS, (s) => s.misses)),
    counter('tiercache_writes_total', 'Entries written to a tier: set (a set or a factory result) or backfill', perTierAnd(all, levels, 'kind', WRITE_KINDS, (s) => s.writes)),
    counter('tiercache_deletes_total', 'Keys delete() found and removed', perSeries(all, (s) => s.deletes)),
    counter(
      'tiercache_invalidations_total',
      'Removals asked of this cache, by kind; namespace "*" when they reach every namespace',
      perSeriesAnd([...all, ...instruments.allNamespaces()], 'kind', INVALIDATION_KINDS, (s, _, i) => s.invalidations[i] as number),
    ),
    counter(
      'tiercache_evictions_total',
      'Entries a tier dropped on its own: size, count, expired',
      perTierAnd(all, levels.includes('l1') ? ['l1'] : [], 'reason', EVICTION_REASONS, (s) => s.evictions),
    ),
    counter('tiercache_coalesced_total', 'Lookups that joined an origin call already in flight', perSeries(all, (s) => s.coalesced)),
    counter(
      'tiercache_errors_total',
      'Shared tier operations that threw or timed out',
      sharedLevels.flatMap((tier) => [...(instruments.errors.get(tier) ?? [])].map(([operation, value]) => ({ labels: { tier, operation }, value }))),
    ),
    counter(
      'tiercache_circuit_changes_total',
      'Circuit transitions of a shared tier, by the state entered',
      sharedLevels.flatMap((tier) =>
        CIRCUIT_STATES.map((state, i) => ({ labels: { tier, state }, value: instruments.circuitChanges[LEVEL_INDEX[tier] * CIRCUIT_STATES.length + i] as number })),
      ),
    ),
    counter(
      'tiercache_bus_messages_total',
      'Bus messages sent and received',
      state.bus === 'none'
        ? []
        : [
            { labels: { direction: 'sent' }, value: instruments.busSent },
            { labels: { direction: 'received' }, value: instruments.busReceived },
          ],
    ),
    counter('tiercache_origin_calls_total', 'Factory calls, by outcome', perSeriesAnd(all, 'outcome', ORIGIN_OUTCOMES, (s, _, i) => s.origin[i] as number)),
    counter('tiercache_origin_calls_saved_total', 'getOrSet lookups answered without an origin call of their own', perSeries(all, (s) => s.saved)),
    counter(
      'tiercache_origin_cost_saved_total',
      'Origin calls saved times the configured cost of one call (metrics.costs)',
      all.flatMap((s) => {
        const cost = costs[s.namespace]
        return cost === undefined ? [] : [{ labels: { ...s.labels, unit: cost.unit }, value: s.saved * cost.perCall }]
      }),
    ),
    ...gauges(state),
    histogram('tiercache_tier_read_duration_seconds', `Reads of a tier, seconds: L1 one per key, ${sampled}; L2 and L3 one per call`, levels.map((tier) => histogramSample({ tier }, instruments.tierReads[LEVEL_INDEX[tier]] as Histogram))),
    histogram('tiercache_get_or_set_duration_seconds', `getOrSet calls from call to answer, seconds, ${sampled} per namespace`, all.map((s) => histogramSample(s.labels, s.getOrSetDuration))),
    histogram('tiercache_origin_duration_seconds', 'Factory calls, to their result, failure or hard timeout, seconds', all.map((s) => histogramSample(s.labels, s.originDuration))),
  ]
  return { at: now, families }
}

function gauges(state: StackState): ScalarFamily[] {
  const { l1, shared } = state
  const entries: Sample[] = l1 === undefined ? [] : [{ labels: { tier: 'l1' }, value: l1.entries }]
  const bytes: Sample[] = l1 === undefined ? [] : [{ labels: { tier: 'l1' }, value: l1.bytes }]
  for (const { level, usage } of shared) {
    if (usage === undefined) continue
    entries.push({ labels: { tier: level }, value: usage.entries })
    if (usage.bytes !== undefined) bytes.push({ labels: { tier: level }, value: usage.bytes })
  }
  return [
    gauge('tiercache_entries', "Entries a tier holds in this cache's namespaces (L1: all it holds)", entries),
    gauge('tiercache_bytes', 'Bytes of those entries, where the tier tells cheaply (L1, SQL)', bytes),
    gauge('tiercache_capacity_entries', "L1's maxEntries", l1 === undefined ? [] : [{ labels: { tier: 'l1' }, value: l1.maxEntries }]),
    gauge('tiercache_capacity_bytes', "L1's maxBytes", l1 === undefined ? [] : [{ labels: { tier: 'l1' }, value: l1.maxBytes }]),
    gauge(
      'tiercache_circuit_open',
      "1 while a shared tier's circuit is open or half-open, else 0",
      shared.map(({ level, circuit }) => ({ labels: { tier: level }, value: circuit === 'closed' ? 0 : 1 })),
    ),
    gauge('tiercache_bus_listening', '1 while the bus listens, 0 while deaf', state.bus === 'none' ? [] : [{ labels: {}, value: state.bus === 'listening' ? 1 : 0 }]),
  ]
}

function histogram(name: string, help: string, samples: HistogramSample[]): HistogramFamily {
  return { type: 'histogram', name, help, buckets: BUCKETS, samples }
}
