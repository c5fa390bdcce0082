/**
 * `tiercache/keyv`: a Keyv 5 storage adapter over a tiercache {@link Cache}, so that Keyv, and
 * everything built on Keyv (cache-manager 7, cacheable), can use tiercache's tiers.
 *
 * @example
 * import Keyv from 'keyv'
 * import { KeyvTiercache } from 'tiercache/keyv'
 *
 * const keyv = new Keyv({ store: new KeyvTiercache({ l3: { sqlite: './.cache/app.db' } }), namespace: 'sessions' })
 * await keyv.set('user:42', { name: 'Ada' }, 60_000)
 *
 * @see https://github.com/jaredwray/keyv (the `KeyvStoreAdapter` contract)
 */
import { createHash } from 'node:crypto'
import { EventEmitter } from 'node:events'
import type { KeyvStoreAdapter, StoredData } from 'keyv'
import { Cache } from '../cache/cache.js'
import { MAX_DURATION_MS } from '../core/duration.js'
import type { TierErrorEvent } from '../cache/events.js'
import type { CacheOptions } from '../index.js'
import { CacheClosedError, InvalidDurationError, TierUnavailableError } from '../errors.js'
import { createCache } from '../index.js'

/**
 * The adapter's `opts`, which Keyv and Keyv's tools read and sometimes write (`store.opts`).
 * Nothing in it changes how the adapter behaves: configure the cache instead.
 */
export interface KeyvTiercacheOpts {
  /**
   * Keyv's switch for `keyv.iterator()`, which Keyv builds only for stores whose `opts.dialect` is on
   * its fixed list of backends (sqlite, postgres, mysql, mongo, redis, valkey, etcd). The kind of the
   * cache's L3, `'sqlite'` or `'postgres'`; `'sqlite'` too for a cache without L3 (or with a tier of
   * another kind), whose keys the adapter lists just as well, from L1. So it enables iteration; it
   * does not describe the backend: read `adapter.cache.health()` for that.
   */
  dialect: KeyvTiercacheDialect
  /** Whatever Keyv or its users set on `store.opts`; kept, and ignored. */
  [option: string]: unknown
}

/** The values of {@link KeyvTiercacheOpts.dialect}: names Keyv knows as iterable backends. */
export type KeyvTiercacheDialect = 'sqlite' | 'postgres'

/** {@link KeyvTiercacheOpts.dialect} for `cache`, from the kind of its L3. */
function dialectOf(cache: Cache): KeyvTiercacheDialect {
  const l3 = cache.health().find((tier) => tier.level === 'l3')
  return l3?.kind === 'postgres' ? 'postgres' : 'sqlite'
}

/** The ttl given to tiercache for a Keyv write without expiry: 100 years, tiercache's longest. */
export const KEYV_NO_EXPIRY_TTL_MS = MAX_DURATION_MS

// A Keyv namespace that is a valid tiercache namespace starting with a letter or digit is used as is;
// every other is encoded under a leading '_', which no verbatim name has, so the two never collide.
const VERBATIM_NAMESPACE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/

/**
 * The tiercache namespace that holds the entries of the Keyv namespace `namespace`.
 *
 * - A name of up to 128 characters from `[A-Za-z0-9._-]` that starts with a letter or digit (such as
 *   Keyv's default, `'keyv'`) is used as is.
 * - Any other name is encoded as `'_'` + base64url of its UTF-8 bytes, which is reversible and
 *   valid, when that fits in 128 characters (names of up to 95 UTF-8 bytes).
 * - Longer names, and names that are not well-formed UTF-16, become `'_.'` + base64url of a
 *   SHA-256 of the name: stable across processes, not reversible.
 *
 * The three forms never produce the same result for two different names (up to SHA-256
 * collisions). Use it to reach Keyv entries through tiercache's own API, CLI or server:
 * `cache.namespace(keyvNamespaceToTiercache('my app'))`.
 */
export function keyvNamespaceToTiercache(namespace: string): string {
  if (VERBATIM_NAMESPACE.test(namespace)) return namespace
  if (namespace.isWellFormed()) {
    const encoded = '_' + Buffer.from(namespace, 'utf8').toString('base64url')
    if (encoded.length <= 128) return encoded
  }
  return '_.' + createHash('sha256').update(Buffer.from(namespace, 'utf16le')).digest('base64url')
}

/** Keyv ms (or undefined) to a tiercache ttl in ms. */
function tiercacheTtl(ttl: unknown): number {
  // Keyv turns ttl 0 into undefined: both mean "never expires".
  if (ttl === undefined || ttl === 0) return KEYV_NO_EXPIRY_TTL_MS
  if (typeof ttl !== 'number' || Number.isNaN(ttl) || ttl < 0) {
    throw new InvalidDurationError('ttl must be a non-negative number of milliseconds, or undefined for no expiry')
  }
  return Math.min(Math.ceil(ttl), KEYV_NO_EXPIRY_TTL_MS)
}

/**
 * A Keyv 5 storage adapter (`KeyvStoreAdapter`) over a tiercache {@link Cache}: Keyv's entries live
 * in the cache's tiers (L1 memory, then the shared and durable L3, SQLite or PostgreSQL).
 *
 * **Namespaces.** Keyv sets `store.namespace` to its own namespace (`'keyv'` unless configured).
 * Each Keyv namespace is a tiercache namespace (see {@link keyvNamespaceToTiercache}), so `clear()`
 * removes that namespace's entries only, in every tier. Keyv prefixes keys with `namespace + ':'`;
 * the adapter removes that prefix, so Keyv key `'foo'` in namespace `'keyv'` is tiercache key `'foo'`
 * in namespace `'keyv'`. Without a Keyv namespace (`namespace: undefined` or `''`), entries go into
 * the cache's own namespace (`cache.name`) under their keys as given. Give each Keyv instance its
 * own adapter: Keyv keeps a single `namespace` per store, so Keyv instances of different namespaces
 * sharing one adapter would share the namespace assigned last. Several adapters may share one Cache.
 *
 * **Expiry.** A Keyv ttl (ms) becomes the entry's tiercache ttl, rounded up to a whole ms and capped
 * at 100 years. No ttl (`undefined` or `0`: Keyv's "never expires"; Keyv applies its own default
 * `ttl` option before calling the store) becomes {@link KEYV_NO_EXPIRY_TTL_MS}, tiercache's
 * longest, and not the cache's default ttl, which would silently drop entries Keyv users expect to
 * keep. Entries are written with no grace: Keyv never asks for stale values.
 *
 * **Values.** Whatever Keyv hands over is stored as is: its serialized string by default, or the raw
 * `{ value, expires }` object when Keyv's `serialize` is unset (as cache-manager's own Keyv does).
 * Writing `undefined` deletes the key, which reads back as `undefined`, as Keyv expects.
 *
 * **Events.** An adapter that created its cache emits `error` with a `TierUnavailableError`
 * (`TC_TIER_UNAVAILABLE`, the tier's error as `cause`) when a tier fails; Keyv re-emits it. The call
 * itself still succeeds on the tiers that work. An adapter given a Cache does not; listen to
 * `cache.on('tier:error')` on that Cache instead.
 *
 * **Errors.** Methods reject only with tiercache's coded errors: `TC_INVALID_KEY` (over
 * `limits.maxKeyLength` once Keyv's prefix is removed, with NUL or a lone surrogate, or empty
 * without a Keyv namespace),
 * `TC_INVALID_VALUE`, `TC_VALUE_TOO_LARGE` (over `limits.maxValueBytes`), `TC_INVALID_DURATION`
 * (negative or non-numeric ttl) and `TC_CACHE_CLOSED` (after `disconnect()`, or when the cache was
 * closed). Keyv turns a failed `set`/`delete` into `false` and an `error` event.
 *
 * **Iteration.** `keyv.iterator()` works: see {@link iterator} and {@link KeyvTiercacheOpts.dialect}.
 *
 * Not provided: `setMany`, so that Keyv writes entry by entry through {@link set} (tiercache has no
 * batched write, and Keyv's own loop resolves `keyv.setMany` to one boolean per entry and runs its
 * set hooks, where a store's `setMany` would resolve nothing).
 */
export class KeyvTiercache extends EventEmitter implements KeyvStoreAdapter {
  /** Kept for Keyv, which reads and writes `store.opts`; see {@link KeyvTiercacheOpts}. */
  opts: KeyvTiercacheOpts
  /** The cache this adapter reads and writes: the one given, or the one it created. */
  readonly cache: Cache
  private readonly ownsCache: boolean
  private keyvNamespace: string | undefined
  private view: Cache
  private prefix: string | undefined
  private disconnected = false
  private readonly onTierError = (event: TierErrorEvent): void => {
    if (this.listenerCount('error') === 0) return
    const error = new TierUnavailableError(`${event.level} (${event.kind}) tier failed during ${event.operation}`, {
      cause: event.error,
    })
    this.emit('error', error)
  }

  /**
   * @param cacheOrOptions - a {@link Cache} to use (left open by {@link disconnect}), or the options
   *   of a cache to create with `createCache` (closed by {@link disconnect}). @default `{}`: an L1 and
   *   an SQLite L3 at `./.tiercache/cache.db`
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when options are invalid
   */
  constructor(cacheOrOptions: Cache | CacheOptions = {}) {
    super()
    if (cacheOrOptions instanceof Cache) {
      this.cache = cacheOrOptions
      this.ownsCache = false
    } else {
      this.cache = createCache(cacheOrOptions)
      this.ownsCache = true
      this.cache.on('tier:error', this.onTierError)
    }
    this.view = this.cache
    this.opts = { dialect: dialectOf(this.cache) }
  }

  /**
   * The Keyv namespace, set by Keyv from its `namespace` option (`'keyv'` by default). Setting it
   * selects the tiercache namespace that later calls use; `undefined` or `''` select the cache's own.
   */
  get namespace(): string | undefined {
    return this.keyvNamespace
  }

  set namespace(namespace: string | undefined) {
    this.keyvNamespace = namespace
    if (namespace === undefined || namespace === '') {
      this.view = this.cache
      this.prefix = undefined
    } else {
      this.view = this.cache.namespace(keyvNamespaceToTiercache(namespace))
      this.prefix = namespace + ':'
    }
  }

  /**
   * The stored value (what Keyv wrote) under `key`, or undefined when missing or expired.
   * @throws InvalidKeyError, CacheClosedError
   */
  async get<Value>(key: string): Promise<StoredData<Value> | undefined> {
    return this.current().get<StoredData<Value>>(this.key(key))
  }

  /**
   * The stored values under `keys`, in order, undefined where missing. Each tier is asked once.
   * @throws InvalidKeyError (for the whole batch), CacheClosedError
   */
  async getMany<Value>(keys: string[]): Promise<StoredData<Value | undefined>[]> {
    const view = this.current()
    const values = await view.getMany<StoredData<Value | undefined>>(keys.map((key) => this.key(key)))
    // Cache.getMany may leave holes for misses; Keyv walks the result with `for...in`, which skips
    // holes, so every slot must be present.
    return Array.from(values)
  }

  /**
   * Stores `value` under `key` in every tier for `ttl` ms (undefined or 0: no expiry). Writing
   * `undefined` deletes the key instead. Resolves true.
   * @throws InvalidKeyError, InvalidValueError, ValueTooLargeError, InvalidDurationError, CacheClosedError
   */
  async set(key: string, value: unknown, ttl?: number): Promise<boolean> {
    const view = this.current()
    const tiercacheKey = this.key(key)
    if (value === undefined) {
      await view.delete(tiercacheKey)
      return true
    }
    await view.set(tiercacheKey, value, { ttl: tiercacheTtl(ttl), grace: 0 })
    return true
  }

  /**
   * Removes `key` from every tier. Resolves true when some tier held it.
   * @throws InvalidKeyError, CacheClosedError
   */
  async delete(key: string): Promise<boolean> {
    return this.current().delete(this.key(key))
  }

  /**
   * Removes `keys` from every tier, concurrently. Resolves true when at least one of them was held.
   * @throws InvalidKeyError (the valid keys are still removed), CacheClosedError
   */
  async deleteMany(keys: string[]): Promise<boolean> {
    const view = this.current()
    const tiercacheKeys = keys.map((key) => this.key(key))
    const removed = await Promise.all(tiercacheKeys.map((key) => view.delete(key)))
    return removed.includes(true)
  }

  /**
   * Removes every entry of the current Keyv namespace (its tiercache namespace) from every tier;
   * other namespaces are untouched. Without a Keyv namespace, clears the cache's own namespace.
   * @throws CacheClosedError
   */
  async clear(): Promise<void> {
    await this.current().clear()
  }

  /**
   * True when a live value is stored under `key`. Keyv calls this instead of reading the value, so
   * it does not check the `expires` inside Keyv's envelope: an entry lives until its tiercache
   * expiry, a few ms after Keyv's own.
   * @throws InvalidKeyError, CacheClosedError
   */
  async has(key: string): Promise<boolean> {
    return (await this.get(key)) !== undefined
  }

  /**
   * {@link has} for many keys, in order; each tier is asked once.
   * @throws InvalidKeyError, CacheClosedError
   */
  async hasMany(keys: string[]): Promise<boolean[]> {
    return (await this.getMany(keys)).map((value) => value !== undefined)
  }

  /**
   * The entries of a Keyv namespace, as Keyv's `keyv.iterator()` wants them: `[key, stored value]`
   * pairs, the key with Keyv's `namespace:` prefix (Keyv checks it, then removes it) and the value as
   * Keyv stored it (Keyv deserializes it and checks its `expires`). Keyv passes its namespace, which
   * is `store.namespace`; without one (`undefined` or `''`), the cache's own namespace is listed, with
   * keys as stored.
   *
   * Built on {@link Cache.entries}: pages of 500 keys from the cache's last tier (L3, or L1 without
   * one), each page's values read in one batch; only live entries, in the tier's key order (UTF-8
   * bytes in SQLite and PostgreSQL). Entries written or removed during the iteration may or may not
   * appear, but none twice.
   *
   * @throws CacheClosedError (from the first `next()`) after {@link disconnect}; TierUnavailableError
   *   (`TC_TIER_UNAVAILABLE`, the tier's error as `cause`) when the listing tier fails or its circuit is
   *   open: unlike the other methods, iteration has no other tier to answer from
   */
  async *iterator<Value>(namespace?: string): AsyncGenerator<[string, Awaited<Value>], void> {
    this.current()
    if (namespace === undefined || namespace === '') {
      yield* this.cache.entries<Awaited<Value>>()
      return
    }
    const prefix = namespace + ':'
    for await (const [key, value] of this.cache.namespace(keyvNamespaceToTiercache(namespace)).entries<Awaited<Value>>()) {
      // The inverse of `key()`, which keeps a key equal to the prefix (Keyv's empty key) whole.
      yield [key === prefix ? key : prefix + key, value]
    }
  }

  /**
   * Detaches the adapter; later calls reject with CacheClosedError. Closes the cache when the
   * adapter created it; a Cache passed to the constructor stays open. Idempotent.
   */
  async disconnect(): Promise<void> {
    if (this.disconnected) return
    this.disconnected = true
    if (this.ownsCache) {
      this.cache.off('tier:error', this.onTierError)
      await this.cache.close()
    }
  }

  /** The namespace view for the next call. @throws CacheClosedError after {@link disconnect} */
  private current(): Cache {
    if (this.disconnected) throw new CacheClosedError('the Keyv store was disconnected')
    return this.view
  }

  /** Keyv's key without the `namespace:` prefix Keyv adds, unless that would leave it empty. */
  private key(key: string): string {
    const prefix = this.prefix
    if (prefix !== undefined && typeof key === 'string' && key.length > prefix.length && key.startsWith(prefix)) {
      return key.slice(prefix.length)
    }
    return key
  }
}
