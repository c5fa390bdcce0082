import { type Served, servedFrom } from '../core/entry.js'
import type { Counters } from './counters.js'
import type { EngineEvents } from './events.js'
import type { ResolvedCacheOptions } from './options.js'
import { type CrossProcessLock, ReadThrough } from './read-through.js'
import { RemovalLog } from './removal-log.js'
import type { TierStack } from './tier-stack.js'

/** State shared by a cache and its namespace views. @internal */
export class CacheCore {
  readonly readThrough: ReadThrough
  /** The last removals that touched keys, for `explain`. */
  readonly removalLog: RemovalLog
  closed = false

  constructor(
    readonly options: ResolvedCacheOptions,
    readonly stack: TierStack,
    readonly counters: Counters,
    readonly events: EngineEvents,
    readonly crossProcess?: CrossProcessLock,
  ) {
    this.readThrough = new ReadThrough(stack, counters, events, options.limits, crossProcess)
    this.removalLog = new RemovalLog(events)
  }
}

/**
 * The read behind `getMany`, `entries` and `exportSubject`, for keys already validated (a listing's
 * keys come from storage, where a cache with larger limits may have written them): each key counted
 * as a request, fresh values served, stale ones only with `allowStale`. `backfill: false` keeps
 * hits in the shared tiers out of the faster ones.
 */
export async function readServed<V>(
  core: CacheCore,
  namespace: string,
  keys: readonly string[],
  allowStale: boolean,
  backfill: boolean,
): Promise<(Served<V> | undefined)[]> {
  const { stack, counters } = core
  counters.requests += keys.length
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
