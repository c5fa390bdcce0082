import type { Level } from '../core/level.js'
import type { Instruments } from './instruments/instruments.js'
import { LEVEL_INDEX, MISS_REASONS } from './instruments/series.js'
import type { TierHealth, TierStack } from './tier-stack.js'

/** A tier's figures in {@link CacheStats}. Ratios are fractions of all requests. */
export interface TierStats {
  readonly kind: string
  readonly hits: number
  readonly misses: number
  readonly hitRatio: number
  readonly writes: number
  readonly errors: number
  /**
   * Entries the tier holds in the namespace (and scope) of the view asked, expired ones not yet
   * removed included; absent when the tier could not be counted. Never the tier's total: an L2 or L3
   * is shared with other namespaces, tenants and applications.
   */
  readonly entries?: number
}

/**
 * A snapshot of a cache's counters since it was created: the totals, over every namespace, of the
 * instruments `metrics()` reports per namespace.
 */
export interface CacheStats {
  readonly requests: number
  /** Requests answered fresh by some tier. */
  readonly hits: number
  readonly hitRatio: number
  readonly tiers: Partial<Record<Level, TierStats>>
  /**
   * Factory calls: `calls` started, `errors` that threw, `timeouts` given up at their `hardTimeout`
   * (a soft timeout serves a stale value and lets the call go on: it ends as a success or an error).
   */
  readonly origin: { readonly calls: number; readonly errors: number; readonly timeouts: number }
  /** Answers served from a stale entry (`allowStale`, fail-safe, soft and hard timeouts). */
  readonly staleServed: number
  /** Requests that joined a factory call already in flight (single flight). */
  readonly coalesced: number
}

/** A tier present in the stack, as the snapshot needs it. */
export interface TierPresence {
  readonly level: Level
  readonly kind: string
  /** Entries held, when the tier could be counted. */
  readonly entries: number | undefined
}

const sum = (values: Float64Array, from = 0, to = values.length): number => values.subarray(from, to).reduce((a, b) => a + b, 0)

/** The snapshot of the instruments' totals for the tiers present, fastest first. */
export function statsSnapshot(instruments: Instruments, tiers: readonly TierPresence[]): CacheStats {
  const total = instruments.totals()
  const requests = sum(total.requests)
  const ratio = (n: number) => (requests === 0 ? 0 : n / requests)
  const perTier: Partial<Record<Level, TierStats>> = {}
  let hits = 0
  for (const { level, kind, entries } of tiers) {
    const i = LEVEL_INDEX[level]
    const tierHits = total.hits[i] as number
    hits += tierHits
    perTier[level] = {
      kind,
      hits: tierHits,
      misses: sum(total.misses, i * MISS_REASONS.length, (i + 1) * MISS_REASONS.length),
      hitRatio: ratio(tierHits),
      writes: sum(total.writes, i * 2, i * 2 + 2),
      errors: instruments.errorsOf(level),
      ...(entries === undefined ? {} : { entries }),
    }
  }
  return {
    requests,
    hits,
    hitRatio: ratio(hits),
    tiers: perTier,
    origin: { calls: total.originStarted, errors: total.origin[1] as number, timeouts: total.origin[2] as number },
    staleServed: sum(total.stale),
    coalesced: total.coalesced,
  }
}

/** The stats of `core`, with the entries each tier holds in storage namespace `namespace`. */
export async function statsOf(core: { readonly stack: TierStack; readonly instruments: Instruments }, namespace: string): Promise<CacheStats> {
  const counts = await countEntries(core.stack, namespace)
  return statsSnapshot(
    core.instruments,
    tierHealth(core.stack).map(({ level, kind }) => ({ level, kind, entries: counts[level] })),
  )
}

/** Entries held per level of `stack` (in `namespace`, or all); a level whose tier fails is left out. */
export async function countEntries(stack: TierStack, namespace?: string): Promise<Partial<Record<Level, number>>> {
  const counts: Partial<Record<Level, number>> = {}
  if (stack.l1) counts.l1 = await stack.l1.count(namespace)
  await Promise.all(
    stack.shared.map(async (shared) => {
      const n = await shared.call('count', (tier) => tier.count(namespace))
      if (typeof n === 'number') counts[shared.level] = n
    }),
  )
  return counts
}

/** Each tier's kind and circuit state, L1 first, for `/health` and the dashboard. */
export function tierHealth(stack: TierStack): TierHealth[] {
  const l1: TierHealth[] = stack.l1 ? [{ level: 'l1', kind: stack.l1.kind, circuit: 'closed', shared: false, durable: false }] : []
  return [
    ...l1,
    ...stack.shared.map(({ level, tier, breaker }) => ({
      level,
      kind: tier.kind,
      circuit: breaker.state,
      shared: tier.capabilities.shared,
      durable: tier.capabilities.durable,
    })),
  ]
}
