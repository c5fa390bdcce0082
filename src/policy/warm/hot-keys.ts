import type { Cache } from '../../cache/cache.js'
import type { HitEvent, MissEvent } from '../../cache/events.js'
import { SpaceSaving } from '../../metrics/space-saving.js'

/**
 * Where a job's `hot` option finds the busiest keys of a view's namespace. {@link HotKeys} counts a
 * cache's lookups; the server answers from the top-keys sketches of its routes.
 */
export interface HotKeySource {
  /** The `limit` busiest keys of `view`'s namespace (in its scope), busiest first. */
  hotKeys(view: Cache, limit: number): readonly string[]
}

/** Options of {@link trackHotKeys}. */
export interface HotKeysOptions {
  /**
   * Counters kept (a Space-Saving sketch: memory is this many keys, whatever the traffic): every key
   * looked up more than 1/capacity of all lookups is among them. @default 1000
   */
  readonly capacity?: number
}

/** Default of {@link HotKeysOptions.capacity}. */
export const DEFAULT_HOT_KEYS_CAPACITY = 1_000

/**
 * The busiest keys of a cache, counted from its L1 lookups (every `get` and `getOrSet` asks L1 first,
 * so each lookup is counted once) in one Space-Saving sketch over every namespace and scope. Keys
 * only, never values or factories: a job re-warms them through its own `source`. Stop it with
 * {@link stop}.
 *
 * @see A. Metwally, D. Agrawal, A. El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 *   in Data Streams", ICDT 2005 (the sketch, src/metrics/space-saving.ts)
 */
export class HotKeys implements HotKeySource {
  private readonly sketch: SpaceSaving
  private readonly onHit = (event: HitEvent) => {
    if (event.level === 'l1') this.sketch.count(event.namespace, event.key, true)
  }
  private readonly onMiss = (event: MissEvent) => {
    if (event.level === 'l1') this.sketch.count(event.namespace, event.key, false)
  }

  /** @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when capacity is not a positive integer */
  constructor(
    private readonly cache: Cache,
    options: HotKeysOptions = {},
  ) {
    this.sketch = new SpaceSaving(options.capacity ?? DEFAULT_HOT_KEYS_CAPACITY)
    cache.on('tier:hit', this.onHit)
    cache.on('tier:miss', this.onMiss)
  }

  /** Lookups counted so far. */
  get lookups(): number {
    return this.sketch.length
  }

  hotKeys(view: Cache, limit: number): readonly string[] {
    // The events name storage namespaces: the view's name behind its scope's prefix.
    const namespace = view.scope.prefix + view.name
    return this.sketch
      .top(this.sketch.capacity)
      .filter((hit) => hit.namespace === namespace)
      .slice(0, limit)
      .map((hit) => hit.key)
  }

  /** Stops counting (the counts are kept). */
  stop(): void {
    this.cache.off('tier:hit', this.onHit)
    this.cache.off('tier:miss', this.onMiss)
  }
}

/** Starts counting `cache`'s lookups; see {@link HotKeys}. @throws InvalidOptionsError for a bad capacity */
export function trackHotKeys(cache: Cache, options?: HotKeysOptions): HotKeys {
  return new HotKeys(cache, options)
}
