import type { Duration } from '../core/duration.js'
import type { CallContext, RefreshAhead } from './policy-hook.js'

// The shapes of the facade's arguments and answers (see cache.ts for the methods).

/** Options of {@link Cache.set}. Unset fields take the cache's defaults. */
export interface SetOptions {
  /** How long the value is fresh. @default the cache's `ttl` */
  readonly ttl?: Duration
  /** How long past its ttl the value is kept and may be served stale. @default the cache's `grace` */
  readonly grace?: Duration
  /** Tags (surrogate keys) for {@link Cache.invalidateTags}. @default [] */
  readonly tags?: readonly string[]
  /**
   * A ttl policy of the cache's policy layer (`createCache({ policies })`, see docs/policies.md): the
   * ttl and grace it computes for this call from the view's role and {@link context}. A `ttl` or
   * `grace` given beside it wins; `security.ttlMultiplier` is not applied on top (the policy's role
   * multipliers take its place), `security.retention` still is.
   * @throws UnknownPolicyError (`TC_UNKNOWN_POLICY`) when the layer declares no such policy
   * @default none: the cache's ttl and grace
   */
  readonly policy?: string
  /** What the policy's multipliers read (`freshness`, `volatility`, `marketTier`, ...). Ignored without {@link policy}. */
  readonly context?: CallContext
}

/** Options of {@link Cache.getOrSet}; `V` is the factory's value type. */
export interface GetOrSetOptions<V = unknown> extends SetOptions {
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
  /**
   * Refresh before expiry: a fresh entry due for it (a `threshold` fraction of its ttl passed, or
   * XFetch with its `beta` says so) is refreshed in the background, at most once at a time across
   * processes, while this call answers with the current value at once. `false` turns off the
   * policy's. @default the policy's `refresh`, else none
   */
  readonly refresh?: RefreshAhead | false
  /**
   * Called when the factory fails (or passes `hardTimeout`) and no stale value exists: its value is
   * answered with `source: 'fallback'` and not cached. If it throws too, the call rejects with the
   * factory's error. @default none
   */
  readonly fallback?: (error: unknown) => V | Promise<V>
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
