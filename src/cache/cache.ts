/* eslint-disable max-lines -- to be split along its seams (issue 8, item 5) */
import type { EventEmitter } from 'node:events'
import { CacheClosedError, ForbiddenError, InvalidContextError, InvalidOptionsError } from '../errors.js'
import type { Counters } from './counters.js'
import { type CacheStats, statsSnapshot } from './stats.js'
import { type Duration, positiveTtl, toMs } from '../core/duration.js'
import { type Entry, type Served, createEntry, servedFrom } from '../core/entry.js'
import type { CacheEvents } from './events.js'
import type { Factory } from './factory.js'
import { assertFields, project } from './projection.js'
import { type ListOptions, keyPages, listEntries, listKeys, listPageSize } from './listing.js'
import type { ResolvedCacheOptions } from './options.js'
import { type CallPolicy, type CrossProcessLock, ReadThrough } from './read-through.js'
import { PUBLIC_SCOPE, type Scope, type ScopeLevel, type SecurityContext, levelOf, namespaceOf, scopeFor, userHashOf } from './scope.js'
import type { ReencryptReport } from './reencrypt.js'
import { type Found, type TierHealth, type TierStack, fresher } from './tier-stack.js'
import { type Limits, assertKey, assertNamespace, normalizeTags } from '../core/validate.js'

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

/** State shared by a cache and its namespace views. @internal */
export class CacheCore {
  readonly readThrough: ReadThrough
  closed = false

  constructor(
    readonly options: ResolvedCacheOptions,
    readonly stack: TierStack,
    readonly counters: Counters,
    readonly events: EventEmitter<CacheEvents>,
    readonly crossProcess?: CrossProcessLock,
  ) {
    this.readThrough = new ReadThrough(stack, counters, events, options.limits, crossProcess)
  }
}

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
   * backfilling the faster tiers on a lower hit.
   * @throws InvalidKeyError, CacheClosedError
   */
  get<V = unknown>(key: string, options?: GetOptions): Promise<V | undefined> {
    const hit = this.freshInL1(key)
    if (hit !== undefined) return Promise.resolve(hit.value as V)
    return this.getWithInfo<V>(key, options).then((result) => result?.value)
  }

  /** Like {@link get}, with how the value was served. */
  async getWithInfo<V = unknown>(key: string, options?: GetOptions): Promise<Served<V> | undefined> {
    const [result] = await this.getManyWithInfo<V>([key], options)
    return result
  }

  /** Values of `keys` in order, undefined where missing. Each shared tier is asked once. */
  async getMany<V = unknown>(keys: readonly string[], options?: GetOptions): Promise<(V | undefined)[]> {
    return (await this.getManyWithInfo<V>(keys, options)).map((result) => result?.value)
  }

  /** Like {@link getMany}, with how each value was served. */
  async getManyWithInfo<V = unknown>(keys: readonly string[], options?: GetOptions): Promise<(Served<V> | undefined)[]> {
    this.open()
    for (const key of keys) assertKey(key, this.core.options.limits.maxKeyLength)
    return this.readMany<V>(this.stored, keys, options?.allowStale === true, true)
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
   *   CacheClosedError when the cache is closed. While iterating, `next()` rejects with
   *   CacheClosedError once the cache is closed, and with TierUnavailableError
   *   (`TC_TIER_UNAVAILABLE`, the tier's error as `cause`) when the listing tier fails or its circuit
   *   is open. Tier failures never fail reads and writes, which other tiers can answer; no other tier
   *   holds the whole namespace, and an empty or partial list would pass for the truth, so a listing
   *   throws. The iteration cannot go on after that error; start a new one.
   */
  keys(options?: ListOptions): AsyncIterableIterator<string> {
    const pageSize = listPageSize(options)
    this.open()
    return listKeys(() => this.open().stack, this.stored, pageSize, options?.after)
  }

  /**
   * The fresh entries of this namespace as `[key, value]` pairs: the keys of {@link keys}, in the same
   * order and with the same options and errors, and their values read a page at a time as
   * {@link getMany} reads them (fresh only: L1, then the shared tiers, each asked once per page).
   * Keys whose entry went stale, expired or was removed between the listing and the read are skipped.
   *
   * Unlike `getMany`, these reads do not copy what they find in lower tiers into L1, so iterating a
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
    this.open()
    return listEntries(() => this.open().stack, this.stored, pageSize, (keys) => this.readMany<V>(this.stored, keys, false, false), options?.after)
  }

  /**
   * Stores `value` under `key` in every tier. Resolves once every tier holds it; the bus message that
   * makes other instances drop their old copy from L1 goes out right after, without the caller
   * waiting for it (see docs/deployment.md).
   * @throws InvalidKeyError, InvalidValueError (undefined or unserializable), ValueTooLargeError,
   *   InvalidDurationError, InvalidTagError, CacheClosedError
   */
  async set<V>(key: string, value: V, options?: SetOptions): Promise<void> {
    const { stack } = this.open()
    assertKey(key, this.core.options.limits.maxKeyLength)
    await stack.set(createEntry(this.stored, key, value, this.policy(options), this.limits.maxValueBytes))
  }

  /**
   * Read-through: the fresh value under `key`, else the factory's result, cached. The factory runs at
   * most once per key at a time in this process (single flight); concurrent callers share its result.
   * With grace, a stale value is served when the factory throws (fail-safe) or passes `timeout`.
   * A factory result of `undefined`, or one the factory `skip()`ped, is returned but not cached.
   *
   * @throws InvalidKeyError and the errors of {@link set} for bad input or an unstorable result;
   *   FactoryError (`cause` = the factory's error) or FactoryTimeoutError when no stale value can be
   *   served; CacheClosedError
   */
  getOrSet<V>(key: string, factory: Factory<V>, options?: GetOrSetOptions): Promise<V> {
    const hit = this.freshInL1(key)
    if (hit !== undefined) return Promise.resolve(hit.value as V)
    return this.getOrSetWithInfo(key, factory, options).then((result) => result.value)
  }

  /** Like {@link getOrSet}, with how the value was served. */
  async getOrSetWithInfo<V>(key: string, factory: Factory<V>, options?: GetOrSetOptions): Promise<Served<V>> {
    const { counters, readThrough } = this.open()
    assertKey(key, this.limits.maxKeyLength)
    const policy = this.policy(options)
    const fields = options?.publicFields
    if (fields !== undefined && this.scope.role === 'anon') {
      assertFields(fields) // before the factory runs
      const full = factory
      factory = async (ctx) => {
        const value = await full(ctx)
        return (value === undefined ? undefined : project(value, fields)) as V
      }
    }
    counters.requests++
    return readThrough.run(this.stored, key, factory, policy)
  }

  /** Removes `key` from every tier. Resolves true when some tier held it. @throws InvalidKeyError */
  async delete(key: string): Promise<boolean> {
    const { stack } = this.open()
    assertKey(key, this.core.options.limits.maxKeyLength)
    return stack.delete(this.stored, key)
  }

  /**
   * Removes every entry that carries one of `tags` from every tier: in this namespace, or in every
   * namespace with `allNamespaces`. Factories that started before this call do not store their
   * results afterwards.
   * @throws InvalidTagError
   */
  async invalidateTags(tags: readonly string[], options?: { readonly allNamespaces?: boolean }): Promise<void> {
    const { stack, options: cacheOptions } = this.open()
    const normalized = normalizeTags(tags, cacheOptions.limits)
    if (options?.allNamespaces === true && this.scope !== PUBLIC_SCOPE) {
      throw new InvalidOptionsError('allNamespaces reaches every scope: only a cache used without a context may use it')
    }
    await stack.deleteByTags(normalized, options?.allNamespaces === true ? undefined : this.stored)
  }

  /** Removes every entry of this namespace from every tier. */
  async clear(): Promise<void> {
    await this.open().stack.clear(this.stored)
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
    const prefix = this.subjectPrefix(subject)
    await this.open().stack.erase(prefix)
  }

  /**
   * Exports a subject (GDPR art. 20): every stored entry of the tenant (its users' included) or of
   * the user, in every namespace, stale ones within grace included, namespace by namespace and key by
   * key in the listing tier's order. Reads do not fill L1. Scope checks as {@link erase}; errors of
   * listing as {@link keys}.
   * @param options - `pageSize`: keys per round trip, 1 to 10,000. @default 500
   */
  async *exportSubject(subject: Subject, options?: ListOptions): AsyncGenerator<ExportedEntry, void, undefined> {
    const prefix = this.subjectPrefix(subject)
    const pageSize = listPageSize(options)
    const stackOf = () => this.open().stack
    for (const namespace of await stackOf().namespaces(prefix)) {
      const user = levelOf(namespace) === 'user' ? userHashOf(namespace) : undefined
      for await (const page of keyPages(stackOf, namespace, pageSize)) {
        const served = await this.readMany(namespace, page, true, false)
        for (const [index, key] of page.entries()) {
          const result = served[index]
          if (result === undefined) continue
          yield {
            ...(user === undefined ? { scope: 'tenant' as const } : { scope: 'user' as const, user }),
            namespace: namespaceOf(namespace),
            key,
            value: result.value,
            createdAt: Date.now() - result.ageMs,
            freshUntil: result.freshUntil,
            stale: result.stale,
          }
        }
      }
    }
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
    return this.open().stack.reencrypt()
  }

  /** The storage prefix of a subject this view may erase or export. */
  private subjectPrefix(subject: Subject): string {
    if (typeof subject !== 'object' || subject === null || subject.tenantId === undefined) {
      throw new InvalidContextError('a subject is { tenantId, userId? }')
    }
    const scope = scopeFor({ role: 'service', tenantId: subject.tenantId, userId: subject.userId })
    const own = this.scope
    if (own !== PUBLIC_SCOPE && (own.tenantId !== scope.tenantId || (own.level === 'user' && own.userId !== scope.userId))) {
      throw new ForbiddenError('a scoped view may erase or export only within its own scope')
    }
    return scope.prefix
  }

  /**
   * Counters since creation (process-wide, shared by every view), with the entries each tier holds
   * in this view's namespace, in its scope: not the tier's total, since a shared tier's table or
   * keyspace also holds other namespaces, tenants and applications.
   */
  async stats(): Promise<CacheStats> {
    const { stack, counters } = this.open()
    const counts = await stack.counts(this.stored)
    return statsSnapshot(
      counters,
      stack.health().map(({ level, kind }) => ({ level, kind, entries: counts[level] })),
    )
  }

  /**
   * The bus's state: `'none'` without Redis; `'listening'`; `'deaf'` while this instance may have missed
   * invalidations (its L1 is cleared and bypassed until the bus listens again).
   */
  get busState(): 'none' | 'listening' | 'deaf' {
    return this.core.stack.busState
  }

  /** Each tier's kind and circuit state. */
  health(): TierHealth[] {
    return this.core.stack.health()
  }

  /** Subscribes to a cache event (tier errors, circuit changes, factory errors, corrupt entries). */
  on<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.core.events.on(event, listener as never)
    return this
  }

  /** Removes a listener added with {@link on}. */
  off<E extends keyof CacheEvents>(event: E, listener: (...args: CacheEvents[E]) => void): this {
    this.core.events.off(event, listener as never)
    return this
  }

  /** Closes every tier, the bus and the lock, and aborts running factories. Closes all views of the cache. Idempotent. */
  async close(): Promise<void> {
    if (this.core.closed) return
    this.core.closed = true
    this.core.readThrough.abortAll(new CacheClosedError('cache closed'))
    await Promise.all([this.core.stack.close(), this.core.crossProcess?.lock.close()])
  }

  /**
   * The read behind {@link getManyWithInfo} and {@link entries}, for keys already validated (a listing's
   * keys come from storage, where a cache with larger limits may have written them). `backfill: false`
   * keeps lower hits out of the upper tiers.
   */
  private async readMany<V>(
    namespace: string,
    keys: readonly string[],
    allowStale: boolean,
    backfill: boolean,
  ): Promise<(Served<V> | undefined)[]> {
    const { stack, counters } = this.open()
    counters.requests += keys.length
    const since = stack.invalidations.begin()
    try {
      const now = Date.now()
      const results: (Served<V> | undefined)[] = keys.map(() => undefined)
      const staleInL1: (Found | undefined)[] = keys.map(() => undefined)
      const missing: number[] = []
      keys.forEach((key, index) => {
        const entry = stack.l1?.peekKey(namespace, key, now)
        if (entry !== undefined && now < entry.freshUntil) {
          counters.tiers.l1.hits++
          results[index] = servedFrom(entry, 'l1', now)
          return
        }
        if (stack.l1) counters.tiers.l1.misses++
        if (entry !== undefined) staleInL1[index] = { entry, source: 'l1' }
        missing.push(index)
      })
      if (missing.length === 0) return results
      const found =
        missing.length === 1 && backfill
          ? [await stack.lookup(namespace, keys[missing[0] as number] as string, since, now)]
          : await stack.lookupMany(namespace, missing.map((index) => keys[index] as string), since, now, { backfill })
      missing.forEach((index, j) => {
        const best = fresher(staleInL1[index], found[j])
        if (best === undefined) return
        const isFresh = now < best.entry.freshUntil
        if (isFresh || allowStale) {
          if (!isFresh) counters.staleServed++
          results[index] = servedFrom(best.entry, best.source, now)
        }
      })
      return results
    } finally {
      stack.invalidations.end()
    }
  }

  /** The fresh L1 entry, counted as a request and a hit; the hot path, kept free of allocation. */
  private freshInL1(key: string): Entry | undefined {
    const core = this.core
    const l1 = core.stack.l1
    if (l1 === undefined || core.closed || typeof key !== 'string') return undefined
    // A key in L1 was validated when it was stored, so a hit needs no validation.
    const now = Date.now()
    const entry = l1.peekKey(this.stored, key, now)
    if (entry === undefined || now >= entry.freshUntil) return undefined
    core.counters.requests++
    core.counters.tiers.l1.hits++
    return entry
  }

  private open(): CacheCore {
    if (this.core.closed) throw new CacheClosedError('cache is closed')
    return this.core
  }

  private policy(options: GetOrSetOptions | undefined): CallPolicy {
    const defaults = this.core.options
    const role = this.scope.role
    const factor = role === undefined ? 1 : defaults.security.ttlMultiplier[role]
    const retention = defaults.security.retention[this.scope.level]
    if (options === undefined && factor === 1 && retention === undefined) {
      return { ttlMs: defaults.ttl, graceMs: defaults.grace, tags: [], timeoutMs: defaults.timeout, hardTimeoutMs: defaults.hardTimeout }
    }
    let ttlMs = Math.max(1, Math.round(factor * (options?.ttl === undefined ? defaults.ttl : positiveTtl(options.ttl))))
    let graceMs = Math.round(factor * (options?.grace === undefined ? defaults.grace : toMs(options.grace, 'grace')))
    if (retention !== undefined) {
      // The scope's retention bounds how long anything of it is kept: ttl first, then grace.
      ttlMs = Math.min(ttlMs, retention)
      graceMs = Math.min(graceMs, retention - ttlMs)
    }
    return {
      ttlMs,
      graceMs,
      tags: normalizeTags(options?.tags, defaults.limits),
      timeoutMs: options?.timeout === undefined ? defaults.timeout : toMs(options.timeout, 'timeout'),
      hardTimeoutMs: options?.hardTimeout === undefined ? defaults.hardTimeout : toMs(options.hardTimeout, 'hardTimeout'),
    }
  }
}
