import type { Level } from '../../core/level.js'
import type { EvictionReason } from '../../tiers/memory.js'
import type { MissReason } from '../events.js'
import type { Labels } from './snapshot.js'

// The label values every family is made of, in the order their series are laid out and exposed.
// Counters are slots of flat arrays, indexed `tier * reasons + reason`, so that bumping one costs an
// index, not a map lookup or a label string.

export const LEVELS: readonly Level[] = ['l1', 'l2', 'l3']
export const LEVEL_INDEX: Readonly<Record<Level, number>> = { l1: 0, l2: 1, l3: 2 }

export const OPERATIONS = ['get', 'getOrSet', 'getMany'] as const
export type RequestOperation = (typeof OPERATIONS)[number]
export const GET = 0
export const GET_OR_SET = 1
export const GET_MANY = 2

export const MISS_REASONS: readonly MissReason[] = ['absent', 'expired', 'invalidated', 'evicted', 'unavailable', 'suspended', 'unreadable', 'bypassed']
export const MISS_INDEX = Object.fromEntries(MISS_REASONS.map((reason, i) => [reason, i])) as Readonly<Record<MissReason, number>>

export type StaleReason = 'requested' | 'factory-error' | 'timeout'
export const STALE_REASONS: readonly StaleReason[] = ['requested', 'factory-error', 'timeout']
export const STALE_INDEX: Readonly<Record<StaleReason, number>> = { requested: 0, 'factory-error': 1, timeout: 2 }

export const WRITE_KINDS = ['set', 'backfill'] as const

export const EVICTION_REASONS: readonly EvictionReason[] = ['size', 'count', 'expired']
export const EVICTION_INDEX: Readonly<Record<EvictionReason, number>> = { size: 0, count: 1, expired: 2 }

export type InvalidationKind = 'key' | 'tags' | 'clear' | 'scope'
export const INVALIDATION_KINDS: readonly InvalidationKind[] = ['key', 'tags', 'clear', 'scope']
export const INVALIDATION_INDEX: Readonly<Record<InvalidationKind, number>> = { key: 0, tags: 1, clear: 2, scope: 3 }

export type OriginOutcome = 'ok' | 'error' | 'timeout'
export const ORIGIN_OUTCOMES: readonly OriginOutcome[] = ['ok', 'error', 'timeout']
export const ORIGIN_INDEX: Readonly<Record<OriginOutcome, number>> = { ok: 0, error: 1, timeout: 2 }

/** Adds `by` to slot `i` of `counts`. */
export function bump(counts: Float64Array, i: number, by = 1): void {
  counts[i] = (counts[i] as number) + by
}

/** The length of a sampling countdown: `every`, or, when nothing is timed, as long as a small integer allows. */
export function countdown(every: number): number {
  return every === 0 ? 2 ** 30 : every
}

/** Upper bounds of every histogram's buckets, seconds (docs/metrics.md). */
export const BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

/** Observations of durations, per bucket of {@link BUCKETS} (not cumulative), and above the last. */
export class Histogram {
  readonly counts = new Float64Array(BUCKETS.length + 1)
  sum = 0
  count = 0

  observe(seconds: number): void {
    let i = 0
    while (i < BUCKETS.length && seconds > (BUCKETS[i] as number)) i++
    bump(this.counts, i)
    this.sum += seconds
    this.count++
  }

  /** Adds `other`'s observations to this one. */
  add(other: Histogram): void {
    other.counts.forEach((n, i) => bump(this.counts, i, n))
    this.sum += other.sum
    this.count += other.count
  }
}


/**
 * The counters and histograms of one namespace (and tenant): everything labelled by namespace. One
 * object per label set, shared by every storage namespace that maps to it; the engine keeps a
 * reference where it can (a cache view keeps its own), so the hot path bumps fields and looks nothing up.
 */
export class NamespaceSeries {
  /** Lookups by operation: {@link GET}, {@link GET_OR_SET}, {@link GET_MANY}. */
  readonly requests = new Float64Array(OPERATIONS.length)
  /** Per level. */
  readonly hits = new Float64Array(LEVELS.length)
  /** Per level × stale reason. */
  readonly stale = new Float64Array(LEVELS.length * STALE_REASONS.length)
  /** Per level × miss reason. */
  readonly misses = new Float64Array(LEVELS.length * MISS_REASONS.length)
  /** Per level × (set, backfill). */
  readonly writes = new Float64Array(LEVELS.length * 2)
  /** L1's, per eviction reason. */
  readonly evictions = new Float64Array(EVICTION_REASONS.length)
  /** Removals asked, per kind. */
  readonly invalidations = new Float64Array(INVALIDATION_KINDS.length)
  /** Origin calls ended, per outcome. */
  readonly origin = new Float64Array(ORIGIN_OUTCOMES.length)
  /** Origin calls started (some may not have ended yet). */
  originStarted = 0
  deletes = 0
  coalesced = 0
  /** getOrSet lookups answered without an origin call of their own. */
  saved = 0
  readonly getOrSetDuration = new Histogram()
  readonly originDuration = new Histogram()
  /**
   * Counts down to the next timed getOrSet: `--untilTimed > 0` is the whole test on the hot path;
   * once it fails, {@link timedNow} starts the countdown again and tells whether to time.
   */
  untilTimed = 1

  constructor(
    /** The namespace label: a logical namespace, `_other` or `*`. */
    readonly namespace: string,
    /** `{ namespace }`, or `{ namespace, tenant }` when tenants are labelled (`tenant: ''` for the public scope). */
    readonly labels: Labels,
    /** Time one getOrSet in this many; 0: none. */
    readonly sampleEvery: number,
  ) {}

  /** The countdown ran out: starts it again; true when this call is to be timed (never when nothing is). */
  timedNow(): boolean {
    this.untilTimed = countdown(this.sampleEvery)
    return this.sampleEvery !== 0
  }

  /** Adds every counter of `other` to this one (for totals across namespaces). */
  add(other: NamespaceSeries): void {
    for (const field of ['requests', 'hits', 'stale', 'misses', 'writes', 'evictions', 'invalidations', 'origin'] as const) {
      const into = this[field]
      other[field].forEach((n, i) => bump(into, i, n))
    }
    this.originStarted += other.originStarted
    this.deletes += other.deletes
    this.coalesced += other.coalesced
    this.saved += other.saved
    this.getOrSetDuration.add(other.getOrSetDuration)
    this.originDuration.add(other.originDuration)
  }
}
