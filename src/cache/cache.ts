import { CacheClosedError, ForbiddenError, InvalidOptionsError, UnknownEventError } from '../errors.js'
import { type Entry, type Served, createEntry, servedFrom } from '../core/entry.js'
import { type Limits, assertKey, assertNamespace, normalizeTags } from '../core/validate.js'
import { GET_OPTIONS, GET_OR_SET_OPTIONS, type KnownOptions, SET_OPTIONS, callPolicy, checkOptions, knownOptions } from './call-policy.js'
import { type CacheCore, readServed } from './cache-core.js'
import type { CacheEventName, CacheEvents } from './events.js'
import { type Explanation, explainKey } from './explain.js'
import type { Factory } from './factory.js'
import type { EventTargets } from './policy-hook.js'
import { readThroughServed } from './get-or-set.js'
import { metricsOf, timedAnswer } from './instruments/report.js'
import { GET, GET_MANY, GET_OR_SET, type NamespaceSeries, bump } from './instruments/series.js'
import type { MetricsSnapshot } from './instruments/snapshot.js'
import { type ListOptions, listEntries, listKeys, listPageSize } from './listing.js'
import type { ReencryptReport } from './reencrypt.js'
import { PUBLIC_SCOPE, type Scope, type ScopeLevel, type SecurityContext, scopeFor } from './scope.js'
import { type CacheStats, statsOf, tierHealth } from './stats.js'
import { exportEntries, subjectPrefix } from './subjects.js'
import type { TierHealth } from './tier-stack.js'
import type { ExportedEntry, GetOptions, GetOrSetOptions, SetOptions, Subject } from './types.js'

export type { CacheCore } from './cache-core.js'
export type { ExportedEntry, GetOptions, GetOrSetOptions, SetOptions, Subject } from './types.js'

/**
 * A cache view on one namespace. Create one with `createCache`; `cache.namespace(name)` gives views
 * on other namespaces that share the same tiers, counters and events.
 *
 * Methods reject with coded errors (`TC_...`) on bad input. Tier failures never reach the caller,
 * except from {@link keys} and {@link entries}: a listing has no other tier to fall back to, so it
 * rejects with `TC_TIER_UNAVAILABLE` rather than pass a partial list off as the whole.
 */
export class Cache {
  /** The namespace of this view. */
  readonly name: string
  /** The security scope of this view: public unless made by {@link withContext}. */
  readonly scope: Scope
  /** Input limits in force (key and tag lengths, tags per entry, value bytes). */
  readonly limits: Limits
  /** The namespace the tiers store: {@link name} behind the scope's prefix (see scope.ts). */
  private readonly stored: string
  /** This view's series of the instruments, once first needed. */
  private series: NamespaceSeries | undefined

  /** @internal Use `createCache`. */
  constructor(
    private readonly core: CacheCore,
    name: string,
    scope: Scope = PUBLIC_SCOPE,
  ) {
    this.name = name
    this.scope = scope
    this.stored = scope.prefix + name
    this.limits = core.options.limits
  }

  /** True once {@link close} has been called on this cache or any of its views. */
  get closed(): boolean {
    return this.core.closed
  }

  /**
   * The fresh value under `key`, or undefined on a miss. Reads L1, then the shared tiers in order,
   * backfilling the faster tiers on a hit in a slower one.
   * @throws InvalidKeyError, InvalidOptionsError (an unknown option), CacheClosedError
   */
  get<V = unknown>(key: string, options?: GetOptions): Promise<V | undefined> {
    const hit = this.freshInL1(key, options, GET_OPTIONS, GET, Date.now())
    if (hit !== undefined) return Promise.resolve(hit.value as V)
    return this.read<V>([key], options, GET).then(([result]) => result?.value)
  }

  /** Like {@link get}, with how the value was served. */
  getWithInfo<V = unknown>(key: string, options?: GetOptions): Promise<Served<V> | undefined> {
    const hit = this.getWithInfoNow<V>(key, options)
    return hit === undefined ? this.read<V>([key], options, GET).then(([result]) => result) : Promise.resolve(hit)
  }

  /** @internal {@link getWithInfo}'s fresh L1 hit, counted, without a promise (the REST server's cached GET); else undefined, uncounted: call `getWithInfo`. */
  getWithInfoNow<V = unknown>(key: string, options?: GetOptions): Served<V> | undefined {
    const now = Date.now()
    const hit = this.freshInL1(key, options, GET_OPTIONS, GET, now)
    return hit === undefined ? undefined : servedFrom<V>(hit, 'l1', now, false)
  }

  /** Values of `keys` in order, undefined where missing. Each shared tier is asked once. */
  async getMany<V = unknown>(keys: readonly string[], options?: GetOptions): Promise<(V | undefined)[]> {
    return (await this.getManyWithInfo<V>(keys, options)).map((result) => result?.value)
  }

  /** Like {@link getMany}, with how each value was served. */
  getManyWithInfo<V = unknown>(keys: readonly string[], options?: GetOptions): Promise<(Served<V> | undefined)[]> {
    return this.read<V>(keys, options, GET_MANY)
  }

  private async read<V>(keys: readonly string[], options: GetOptions | undefined, operation: number): Promise<(Served<V> | undefined)[]> {
    checkOptions(options, GET_OPTIONS)
    for (const key of keys) assertKey(key, this.limits.maxKeyLength)
    return readServed<V>(this.usable(), this.stored, keys, options?.allowStale === true, true, operation, this.seriesOfView())
  }

  /**
   * The live keys of this namespace, page by page from the last tier of the stack: L3 when the cache
   * has one (writes go through every tier, so it holds what L1 holds and more), else L1. Keys of
   * entries within grace are listed too; {@link entries} yields fresh values only.
   *
   * Order is the listing tier's own (UTF-8 bytes in SQLite and PostgreSQL, UTF-16 code units in
   * memory), and paging is by cursor: each page starts after the last key of the one before. So
   * while the namespace does not change, each key comes exactly once; keys written or removed while
   * the iteration runs may or may not come, but never twice. Entries whose L3 write failed (the tier
   * was down) are in L1 only and are not listed.
   *
   * @example
   * for await (const key of cache.namespace('sessions').keys({ pageSize: 1_000 })) console.log(key)
   * @param options - `pageSize`: keys per round trip to the tier, 1 to 10,000. @default 500
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) at once when `pageSize` is invalid, and
   *   CacheClosedError when the cache is closed. `next()` rejects with CacheClosedError once the cache
   *   is closed, and with TierUnavailableError (`TC_TIER_UNAVAILABLE`, `cause`: the tier's error) when
   *   the listing tier fails or its circuit is open: no other tier holds the whole namespace, and a
   *   partial list would pass for the truth. The iteration cannot go on after that; start a new one.
   */
  keys(options?: ListOptions): AsyncIterableIterator<string> {
    const pageSize = listPageSize(options)
    this.usable()
    return listKeys(() => this.usable().stack, this.stored, pageSize, options?.after)
  }

  /**
   * The fresh entries of this namespace as `[key, value]` pairs: the keys of {@link keys}, in the same
   * order and with the same options and errors, and their values read a page at a time as
   * {@link getMany} reads them (fresh only: L1, then the shared tiers, each asked once per page).
   * Keys whose entry went stale, expired or was removed between the listing and the read are skipped.
   *
   * Unlike `getMany`, these reads do not copy what they find in the shared tiers into L1, so iterating a
   * namespace larger than L1 does not evict L1's working set; they do count as requests and hits in
   * {@link stats}. Values read from L1 are shared by reference: do not mutate them.
   *
   * @example
   * for await (const [route, fares] of cache.entries<Fares>()) index.add(route, fares)
   * @param options - `pageSize`: keys listed and values read per batch, 1 to 10,000. @default 500
   * @throws see {@link keys}
   */
  entries<V = unknown>(options?: ListOptions): AsyncIterableIterator<[string, V]> {
    const pageSize = listPageSize(options)
    this.usable()
    return listEntries(() => this.usable().stack, this.stored, pageSize, (keys) => readServed<V>(this.usable(), this.stored, keys, false, false), options?.after)
  }

  /**
   * Stores `value` under `key` in every tier. Resolves once every tier holds it; the bus message that
   * makes other instances drop their old copy from L1 goes out right after, without the caller
   * waiting for it (see docs/deployment.md).
   * @throws InvalidKeyError, InvalidValueError (undefined or unserializable), ValueTooLargeError,
   *   InvalidDurationError, InvalidTagError, InvalidOptionsError (an unknown option), CacheClosedError
   */
  async set<V>(key: string, value: V, options?: SetOptions): Promise<void> {
    const { stack, options: defaults } = this.usable()
    assertKey(key, this.limits.maxKeyLength)
    checkOptions(options, SET_OPTIONS)
    await stack.set(createEntry(this.stored, key, value, callPolicy(options, defaults, this.scope, this.core.policy), this.limits.maxValueBytes))
  }

  /**
   * Read-through: the fresh value under `key`, else the factory's result, cached. The factory runs at
   * most once per key at a time in this process (single flight); concurrent callers share its result.
   * With grace, a stale value is served when the factory throws (fail-safe) or passes `timeout`.
   * A factory result of `undefined`, or one the factory `skip()`ped, is returned but not cached.
   *
   * @throws InvalidKeyError and the errors of {@link set} for bad input or an unstorable result;
   *   InvalidOptionsError (`TC_INVALID_OPTIONS`) when `factory` is not a function;
   *   FactoryError (`cause` = the factory's error) or FactoryTimeoutError when no stale value can be
   *   served; CacheClosedError
   */
  getOrSet<V>(key: string, factory: Factory<V>, options?: GetOrSetOptions<V>): Promise<V> {
    const series = this.series ?? this.seriesOfView()
    const started = --series.untilTimed > 0 || !series.timedNow() ? -1 : performance.now() // one call in metrics.sampleEvery
    // One clock read serves the freshness test and the refresh test (Date.now is not free: ~40 ns on these machines).
    const now = Date.now()
    const hit = typeof factory === 'function' ? this.freshInL1(key, options, GET_OR_SET_OPTIONS, GET_OR_SET, now) : undefined
    if (hit !== undefined) {
      series.saved++
      if (options !== undefined && (options.refresh !== undefined || options.policy !== undefined)) {
        this.core.refreshes.onHit(this.stored, this.scope, key, hit, factory, options, series, now)
      }
      if (started >= 0) series.getOrSetDuration.observe((performance.now() - started) / 1000)
      return Promise.resolve(hit.value as V)
    }
    const answer = this.served(key, factory, options, series).then((result) => result.value)
    return started < 0 ? answer : timedAnswer(series, started, answer)
  }

  /** Like {@link getOrSet}, with how the value was served. */
  getOrSetWithInfo<V>(key: string, factory: Factory<V>, options?: GetOrSetOptions<V>): Promise<Served<V>> {
    const series = this.seriesOfView()
    if (--series.untilTimed > 0 || !series.timedNow()) return this.served(key, factory, options, series)
    return timedAnswer(series, performance.now(), this.served(key, factory, options, series))
  }

  private async served<V>(key: string, factory: Factory<V>, options: GetOrSetOptions<V> | undefined, series: NamespaceSeries): Promise<Served<V>> {
    return readThroughServed(this.usable(), this.stored, this.scope, key, factory, options, series)
  }

  /** Removes `key` from every tier. Resolves true when some tier held it. @throws InvalidKeyError */
  async delete(key: string): Promise<boolean> {
    const { stack, instruments } = this.usable()
    assertKey(key, this.limits.maxKeyLength)
    instruments.invalidated('key', this.stored)
    const held = await stack.delete(this.stored, key)
    if (held) this.seriesOfView().deletes++
    return held
  }

  /**
   * Removes every entry that carries one of `tags` from every tier: in this namespace, or in every
   * namespace with `allNamespaces`. Factories that started before this call do not store their
   * results afterwards.
   * @throws InvalidTagError
   */
  async invalidateTags(tags: readonly string[], options?: { readonly allNamespaces?: boolean }): Promise<void> {
    const { stack } = this.usable()
    const normalized = normalizeTags(tags, this.limits)
    if (options?.allNamespaces === true && this.scope !== PUBLIC_SCOPE) {
      throw new InvalidOptionsError('allNamespaces reaches every scope: only a cache used without a context may use it')
    }
    const namespace = options?.allNamespaces === true ? undefined : this.stored
    if (normalized.length > 0) this.core.instruments.invalidated('tags', namespace)
    await stack.deleteByTags(normalized, namespace)
  }

  /**
   * Fires `event` of the policy layer's invalidation rules (`createCache({ policies })`, see
   * docs/rules.md): removes the tags its rule names, with `params` filled in, and clears the
   * namespaces it names, all in this view's scope, from every tier and every instance's L1. The tags
   * are removed in the rule's `in` namespaces, else in every namespace (a public view) or in this
   * view's namespace (a tenant's or a user's view). Resolves with what was invalidated.
   * @example await cache.emit('flight.updated', { id: 'BA117' })
   * @throws UnknownEventError (`TC_UNKNOWN_EVENT`) when no rule declares `event` (or the cache has no
   *   policy layer); InvalidOptionsError (`TC_INVALID_OPTIONS`) when a parameter the rule needs is missing
   */
  async emit(event: string, params: Readonly<Record<string, string | number>> = {}): Promise<EventTargets> {
    const { policy } = this.usable()
    if (policy === undefined) throw new UnknownEventError(`no rule for event "${String(event)}": this cache has no policy layer (createCache({ policies }))`)
    const targets = policy.targets(event, params)
    const { tags, tagsIn } = targets
    const tagRemovals =
      tags.length === 0
        ? []
        : tagsIn !== undefined
          ? tagsIn.map((name) => this.namespace(name).invalidateTags(tags))
          : [this.invalidateTags(tags, { allNamespaces: this.scope === PUBLIC_SCOPE })]
    await Promise.all([...tagRemovals, ...targets.namespaces.map((name) => this.namespace(name).clear())])
    return targets
  }

  /** Removes every entry of this namespace from every tier. */
  async clear(): Promise<void> {
    const { stack, instruments } = this.usable()
    instruments.invalidated('clear', this.stored)
    await stack.clear(this.stored)
  }

  /** A view on `name` in this view's scope, sharing tiers, counters and events. @throws InvalidNamespaceError */
  namespace(name: string): Cache {
    assertNamespace(name)
    return new Cache(this.core, name, this.scope)
  }

  /**
   * A view on this namespace in the scope of a security context: entries of the public scope, of
   * the context's tenant, or of its user (see scope.ts for how the scope becomes part of every
   * storage key). Views of different scopes never see each other's entries. Entries of a tenant or
   * a user are encrypted in the shared tiers; user entries stay out of L1 unless
   * `security.tiers` lets them in; ttl and grace are multiplied by `security.ttlMultiplier[role]`.
   *
   * @example
   * const cart = cache.namespace('carts').withContext({ role: 'authenticated', tenantId: 'acme', userId: 'u42' })
   * const config = cache.withContext({ role: 'authenticated', tenantId: 'acme', userId: 'u42' }, { scope: 'tenant' })
   * @param options - `scope`: the level, one the context reaches. @default the narrowest it has
   * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a malformed context or a scope it does not reach
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a non-public scope when the cache has shared
   *   tiers and no key ring (see `security.encryption`)
   */
  withContext(context: SecurityContext, options?: { readonly scope?: ScopeLevel }): Cache {
    const scope = scopeFor(context, options?.scope)
    if (scope.level !== 'public' && !this.core.stack.storesScoped) {
      throw new InvalidOptionsError(
        'entries of tenants and users are encrypted in shared tiers, and this cache has no key ring: set TIERCACHE_KEYS, or security.encryption',
      )
    }
    return new Cache(this.core, this.name, scope)
  }

  /**
   * Erases a subject (GDPR art. 17): every entry of the tenant (its users' included) or, with
   * `userId`, of the user, in every namespace, from every tier and, through the bus, from every
   * instance's L1. Entries of every other subject are untouched. A tier that is down misses nothing:
   * it replays the erasure before serving again. Entries written while it runs may survive, as with
   * {@link clear}.
   *
   * A view made by {@link withContext} may erase only within its own scope: its tenant or one of its
   * users from a tenant view, itself from a user view.
   * @throws InvalidContextError (`TC_INVALID_CONTEXT`) for a malformed subject
   * @throws ForbiddenError (`TC_FORBIDDEN`) for a subject outside this view's scope
   */
  async erase(subject: Subject): Promise<void> {
    const prefix = subjectPrefix(this.scope, subject)
    const { stack, instruments } = this.usable()
    instruments.invalidated('scope', undefined, prefix)
    await stack.erase(prefix)
  }

  /**
   * Exports a subject (GDPR art. 20): every stored entry of the tenant (its users' included) or of
   * the user, in every namespace, stale ones within grace included, namespace by namespace and key by
   * key in the listing tier's order. Reads do not fill L1. Scope checks as {@link erase}; errors of
   * listing as {@link keys}.
   * @param options - `pageSize`: keys per round trip, 1 to 10,000. @default 500
   */
  async *exportSubject(subject: Subject, options?: ListOptions): AsyncGenerator<ExportedEntry, void, undefined> {
    const prefix = subjectPrefix(this.scope, subject)
    const pageSize = listPageSize(options)
    yield* exportEntries(() => this.usable().stack, prefix, pageSize, (namespace, keys) => readServed(this.usable(), namespace, keys, true, false))
  }

  /**
   * After a key rotation: seals again, with the key ring's current key, every non-public entry of
   * the shared tiers sealed with an older key, so that the old key can later be retired. Entries
   * written meanwhile are left as written (each rewrite is a compare-and-set). Safe to run while the
   * cache serves, and to run again. Only on a cache used without a context.
   * @returns counts: `examined`, `rewritten`, `unreadable` (under a key the ring lacks), `corrupt`
   * @throws ForbiddenError (`TC_FORBIDDEN`) on a view made by {@link withContext}
   * @throws TierUnavailableError (`TC_TIER_UNAVAILABLE`) when a shared tier fails meanwhile
   */
  async reencrypt(): Promise<ReencryptReport> {
    if (this.scope !== PUBLIC_SCOPE) throw new ForbiddenError('re-encryption spans every tenant: only a cache used without a context may run it')
    return this.usable().stack.reencrypt()
  }

  /**
   * Counters since creation (process-wide, shared by every view), with the entries each tier holds
   * in this view's namespace, in its scope: not the tier's total, since a shared tier's table or
   * keyspace also holds other namespaces, tenants and applications.
   */
  async stats(): Promise<CacheStats> {
    return statsOf(this.usable(), this.stored)
  }

  /**
   * Every instrument of the cache (shared by every view, of every namespace and scope) as a
   * {@link MetricsSnapshot}: counters, gauges and latency histograms per namespace, tier and
   * operation, named as docs/metrics.md lists them. The shared tiers' entry counts are taken at most
   * once per 10 s. With `metrics: false`, no families.
   * @throws CacheClosedError
   */
  async metrics(): Promise<MetricsSnapshot> {
    return metricsOf(this.usable())
  }

  /**
   * Why `key` is or is not served: what each tier holds of it (freshness, ttl and grace left, age,
   * tags, size; for L1, why it left), and the last removals that touched it, from a bounded log
   * (see docs/explain.md). An inspection: counts nothing, backfills nothing, never fails for a tier.
   * @throws InvalidKeyError, CacheClosedError
   */
  async explain(key: string): Promise<Explanation> {
    assertKey(key, this.limits.maxKeyLength)
    return explainKey(this.usable(), this.name, this.scope.level, this.stored, key)
  }

  /** The bus: `'none'` without Redis; `'listening'`; `'deaf'` while it may have missed messages (L1 is then bypassed). */
  get busState(): 'none' | 'listening' | 'deaf' {
    return this.core.stack.busState
  }

  /** Each tier's kind and circuit state. */
  health(): TierHealth[] {
    return tierHealth(this.core.stack)
  }

  /**
   * Subscribes to a cache event ({@link CacheEvents}: hits, misses with their reason, writes, stale
   * answers, evictions, removals, failures), shared by every view. Listeners run synchronously inside
   * the call that emits; an event without listeners costs one property read.
   */
  on<E extends CacheEventName>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.core.events.on(event, listener)
    return this
  }

  /** Removes a listener added with {@link on}. */
  off<E extends CacheEventName>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.core.events.off(event, listener)
    return this
  }

  /**
   * Closes every tier, the bus and the lock, and aborts running factories. Closes all views of the
   * cache. A factory that ends afterwards answers its caller, and its result is not stored. Idempotent.
   */
  async close(): Promise<void> {
    if (this.core.closed) return
    this.core.closed = true
    this.core.capacity?.stop()
    this.core.readThrough.abortAll(new CacheClosedError('cache closed'))
    await Promise.all([this.core.stack.close(), this.core.crossProcess?.lock.close()])
  }

  /**
   * The fresh L1 entry of `key`, counted as a request and a hit, when the call needs no more checks
   * (cache open, options all known). The hot path: no allocation.
   */
  /** A fresh L1 entry at `now` (epoch ms), counted as a request of `operation`; undefined otherwise, uncounted. */
  private freshInL1(key: string, options: object | undefined, kind: KnownOptions, operation: number, now: number): Entry | undefined {
    const core = this.core
    if (core.closed || typeof key !== 'string' || (options !== undefined && !knownOptions(options, kind))) return undefined
    const series = this.series ?? this.seriesOfView()
    // A key in L1 was validated when it was stored, so a hit needs no validation.
    const entry = core.stack.freshInL1(this.stored, key, series, now)
    if (entry !== undefined) bump(series.requests, operation)
    return entry
  }

  /** This view's series: its namespace's, found once (series never change for a namespace). */
  private seriesOfView(): NamespaceSeries {
    return (this.series ??= this.core.instruments.seriesOf(this.stored))
  }

  /** The core, unless the cache is closed. @throws CacheClosedError */
  private usable(): CacheCore {
    if (this.core.closed) throw new CacheClosedError('cache is closed')
    return this.core
  }
}
