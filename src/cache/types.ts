import type { Duration } from '../core/duration.js'

// The shapes of the facade's arguments and answers (see cache.ts for the methods).

/** Options of {@link Cache.set}. Unset fields take the cache's defaults. */
export interface SetOptions {
  /** How long the value is fresh. @default the cache's `ttl` */
  readonly ttl?: Duration
  /** How long past its ttl the value is kept and may be served stale. @default the cache's `grace` */
  readonly grace?: Duration
  /** Tags (surrogate keys) for {@link Cache.invalidateTags}. @default [] */
  readonly tags?: readonly string[]
}

/** Options of {@link Cache.getOrSet}. */
export interface GetOrSetOptions extends SetOptions {
  /**
   * For views of the `anon` role: the fields of the value that anonymous callers may see (top-level
   * names or dotted paths). The factory's result is cut down to them (see `project`) before it is
   * cached and returned, so a public entry never holds more. Ignored for other roles.
   * @default none: the value as the factory returns it
   */
  readonly publicFields?: readonly string[]
  /**
   * Soft timeout: when a stale value exists and the factory takes longer, the stale value is
   * returned and the factory completes in the background. `0` is stale-while-revalidate.
   * @default the cache's `timeout` (none)
   */
  readonly timeout?: Duration
  /**
   * Hard timeout: when the factory takes longer, its signal is aborted and the call returns the stale
   * value if one exists, else rejects with FactoryTimeoutError. @default the cache's `hardTimeout` (none)
   */
  readonly hardTimeout?: Duration
}

/** Whose entries {@link Cache.erase} and {@link Cache.exportSubject} reach: a tenant, or a user of it. */
export interface Subject {
  readonly tenantId: string
  readonly userId?: string
}

/** One entry of {@link Cache.exportSubject}. Times in epoch ms. */
export interface ExportedEntry {
  readonly scope: 'tenant' | 'user'
  /**
   * For a user entry: which user, as the 22-character hash the tiers store (user ids are not
   * stored), so that a tenant's export tells its users' entries apart.
   */
  readonly user?: string
  /** The namespace as the subject's views name it. */
  readonly namespace: string
  readonly key: string
  readonly value: unknown
  readonly createdAt: number
  readonly freshUntil: number
  /** True when past its ttl, kept within grace. */
  readonly stale: boolean
}

/** Options of {@link Cache.get}. */
export interface GetOptions {
  /** Also return a stale value (within grace). @default false */
  readonly allowStale?: boolean
}
