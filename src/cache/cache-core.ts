import { type Served, servedFrom } from '../core/entry.js'
import type { EngineEvents } from './events.js'
import type { Instruments } from './instruments/instruments.js'
import { GET_MANY, type NamespaceSeries, bump } from './instruments/series.js'
import { SharedUsage } from './instruments/usage.js'
import type { ResolvedCacheOptions } from './options.js'
import type { PolicyHook } from './policy-hook.js'
import { type CrossProcessLock, ReadThrough } from './read-through.js'
import { RefreshTrigger } from './refresh-ahead.js'
import { SeasonalCapacity } from './seasonal-capacity.js'
import { RemovalLog } from './removal-log.js'
import type { TierStack } from './tier-stack.js'

/** State shared by a cache and its namespace views. @internal */
export class CacheCore {
  readonly readThrough: ReadThrough
  /** What the shared tiers hold in the namespaces seen, for the gauges of `metrics()`. */
  readonly usage: SharedUsage
  /** The last removals that touched keys, for `explain`. */
  readonly removalLog: RemovalLog
  /** Starts refreshes ahead of expiry from `getOrSet` hits. */
  readonly refreshes: RefreshTrigger
  /** L1's bounds following the policy's seasons, when there are both. */
  readonly capacity: SeasonalCapacity | undefined
  closed = false

  constructor(
    readonly options: ResolvedCacheOptions,
    readonly stack: TierStack,
    readonly instruments: Instruments,
    readonly events: EngineEvents,
    readonly crossProcess?: CrossProcessLock,
    /** The clock of the shared tiers' counts (see usage.ts), epoch ms. @default Date.now */
    now?: () => number,
    /** The policy layer (`createCache({ policies })`): named ttl policies and event rules. */
    readonly policy?: PolicyHook,
  ) {
    this.readThrough = new ReadThrough(stack, instruments, events, options.limits, crossProcess)
    this.usage = new SharedUsage(stack.shared, () => [...instruments.seenStorage], now)
    this.removalLog = new RemovalLog(events)
    this.refreshes = new RefreshTrigger(this)
    const l1 = stack.l1
    this.capacity = l1 === undefined || policy === undefined || options.l1 === false ? undefined : new SeasonalCapacity(l1, policy, options.l1, now)
  }
}

/**
 * The read behind `get` (past the L1 fast path), `getMany`, `entries` and `exportSubject`, for keys
 * already validated (a listing's keys come from storage, where a cache with larger limits may have
 * written them): each key counted as a request of `operation` (an index of `OPERATIONS`: `getMany`
 * for the listings' reads too), fresh values served, stale ones only with `allowStale`.
 * `backfill: false` keeps hits in the shared tiers out of the faster ones.
 */
export async function readServed<V>(
  core: CacheCore,
  namespace: string,
  keys: readonly string[],
  allowStale: boolean,
  backfill: boolean,
  operation = GET_MANY,
  series: NamespaceSeries = core.instruments.seriesOf(namespace),
): Promise<(Served<V> | undefined)[]> {
  const { stack } = core
  bump(series.requests, operation, keys.length)
  const found = await stack.read(namespace, keys, backfill)
  const now = Date.now()
  return found.map((best) => {
    if (best === undefined) return undefined
    if (best.fresh) return servedFrom<V>(best.entry, best.source, now, false)
    if (!allowStale) return undefined
    stack.servedStale(best, 'requested')
    return servedFrom<V>(best.entry, best.source, now, true)
  })
}
