import type { Level } from '../core/level.js'
import type { Counters } from './counters.js'
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

/** A snapshot of a cache's counters since it was created. */
export interface CacheStats {
  readonly requests: number
  /** Requests answered fresh by some tier. */
  readonly hits: number
  readonly hitRatio: number
  readonly tiers: Partial<Record<Level, TierStats>>
  readonly origin: { readonly calls: number; readonly errors: number; readonly timeouts: number }
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

/** The snapshot of `counters` for the tiers present, fastest first. */
export function statsSnapshot(counters: Counters, tiers: readonly TierPresence[]): CacheStats {
  const ratio = (n: number) => (counters.requests === 0 ? 0 : n / counters.requests)
  const perTier: Partial<Record<Level, TierStats>> = {}
  let hits = 0
  for (const { level, kind, entries } of tiers) {
    const c = counters.tiers[level]
    hits += c.hits
    perTier[level] = {
      kind,
      hits: c.hits,
      misses: c.misses,
      hitRatio: ratio(c.hits),
      writes: c.writes,
      errors: c.errors,
      ...(entries === undefined ? {} : { entries }),
    }
  }
  return {
    requests: counters.requests,
    hits,
    hitRatio: ratio(hits),
    tiers: perTier,
    origin: { calls: counters.originCalls, errors: counters.originErrors, timeouts: counters.originTimeouts },
    staleServed: counters.staleServed,
    coalesced: counters.coalesced,
  }
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
