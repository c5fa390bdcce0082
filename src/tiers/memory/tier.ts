import type { Entry } from '../../core/entry.js'
import type { KeyPage, Tier, TierCapabilities } from '../tier.js'
import { type DropCause, type EntryStore, type L1Eviction, createStore } from './stores.js'

export { L1_EVICTIONS, type L1Eviction } from './stores.js'

/** Options of the in-process memory tier (L1). */
export interface MemoryTierOptions {
  /** Most entries held; the policy's first choice is evicted beyond it. @default 10_000 */
  readonly maxEntries?: number
  /** Most bytes held, counting each entry's encoded size plus key and bookkeeping. @default 67_108_864 (64 MiB) */
  readonly maxBytes?: number
  /** Called when the tier drops an entry on its own (not for removals asked of it, nor replacements). */
  readonly onEvict?: (entry: Entry, reason: EvictionReason) => void
  /**
   * The eviction policy: `'lru'`, least recently used out first; `'tinylfu'`, adaptive W-TinyLFU
   * (Einziger, Friedman and Manes, ACM TOS 2017; see src/tiers/eviction), frequency-aware and
   * scan-resistant, whose admission may refuse a new entry (reported as an eviction, and `put`
   * returns false). @default 'lru'
   */
  readonly eviction?: L1Eviction
}

/** Why L1 dropped an entry on its own: past `maxEntries`, past `maxBytes`, or past its grace. */
export type EvictionReason = 'count' | 'size' | 'expired'

/** Why a key is not in L1, when the tier remembers (see {@link MemoryTier.whyAbsent}). */
export type Departure = 'evicted' | 'expired' | 'invalidated'

/** What L1 remembers of an entry that left: why, when (epoch ms), and the tags it carried. */
export interface DepartureRecord {
  readonly why: Departure
  readonly at: number
  readonly tags: readonly string[]
}

/** Keys whose departure is remembered: enough to explain the misses that follow an eviction wave. */
const REMEMBERED_DEPARTURES = 1024

/**
 * In-process tier (L1), bounded by entry count and by bytes, ordered by LRU or adaptive W-TinyLFU
 * (see {@link MemoryTierOptions.eviction}), holding decoded values so that a hit costs no decoding.
 * Values are shared by reference: callers must not mutate what they get.
 *
 * Keeps a tag index (tag → keys) so that `deleteByTags` touches only tagged entries.
 */
export class MemoryTier implements Tier {
  readonly kind = 'memory'
  readonly capabilities: TierCapabilities = { shared: false, durable: false }
  /** The eviction policy in force. */
  readonly eviction: L1Eviction
  private readonly store: EntryStore
  private maxEntries: number
  private maxBytes: number
  private readonly keysByTag = new Map<string, Set<string>>()
  // namespace → key → the storage key the store holds. A hit then looks up a string whose hash is
  // already cached, instead of hashing a fresh `namespace:key` concatenation on every call.
  private readonly storageKeys = new Map<string, Map<string, string>>()
  private suspended = false
  // storage key → why it left, oldest first; only the last REMEMBERED_DEPARTURES are kept.
  private readonly departures = new Map<string, DepartureRecord>()
  // Set around our own deletes, so that `dropped` can tell an expiry or a wholesale clear from a removal.
  private deleting: 'expired' | 'cleared' | undefined
  private readonly onEvict: ((entry: Entry, reason: EvictionReason) => void) | undefined

  constructor(options: MemoryTierOptions = {}) {
    this.onEvict = options.onEvict
    this.maxEntries = options.maxEntries ?? 10_000
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024
    this.eviction = options.eviction ?? 'lru'
    this.store = createStore(this.eviction, this.maxEntries, this.maxBytes, (entry, storageKey, cause) => this.dropped(entry, storageKey, cause))
  }

  /** Most entries held now (see {@link resize}). */
  get bounds(): { readonly maxEntries: number; readonly maxBytes: number } {
    return { maxEntries: this.maxEntries, maxBytes: this.maxBytes }
  }

  /**
   * Changes the bounds while the tier runs (seasonal capacity): a smaller tier evicts the entries its
   * policy would evict first (LRU: the least recently used), as evictions (`onEvict` with reason
   * `count` or `size`); the rest stay in their order. O(entries held); meant for rare changes. With
   * `'tinylfu'`, the frequency sketch starts afresh at the new bounds.
   * @throws RangeError for bounds that are not positive integers
   */
  resize(bounds: { readonly maxEntries: number; readonly maxBytes: number }): void {
    const { maxEntries, maxBytes } = bounds
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1 || !Number.isSafeInteger(maxBytes) || maxBytes < 1) throw new RangeError('L1 bounds must be positive integers')
    if (maxEntries === this.maxEntries && maxBytes === this.maxBytes) return
    this.maxEntries = maxEntries
    this.maxBytes = maxBytes
    this.store.resize(maxEntries, maxBytes)
  }

  /** What the store reports of every entry that leaves: unindexed, and remembered and reported as due. */
  private dropped(entry: Entry, storageKey: string, cause: DropCause): void {
    this.unindex(entry, storageKey)
    if (cause === 'count' || cause === 'size') {
      this.departed(storageKey, 'evicted', entry.tags)
      this.onEvict?.(entry, cause)
    } else if (cause === 'delete' && this.deleting === 'expired') {
      this.departed(storageKey, 'expired', entry.tags)
      this.onEvict?.(entry, 'expired')
    } else if (cause === 'delete' && this.deleting === undefined) {
      this.departed(storageKey, 'invalidated', entry.tags)
    }
  }

  /** The key this tier files `(namespace, key)` under; namespaces cannot contain ':'. */
  static storageKey(namespace: string, key: string): string {
    return namespace + ':' + key
  }

  /** Synchronous lookup by storage key, for the hot path. Expired entries are removed and missed. */
  peek(storageKey: string, now: number): Entry | undefined {
    const entry = this.store.get(storageKey)
    if (entry !== undefined && entry.staleUntil <= now) {
      this.expire(storageKey)
      return undefined
    }
    return entry
  }

  /**
   * Why `(namespace, key)` is not here, when it left recently enough to be remembered: evicted,
   * expired, or removed (invalidated); undefined when it never was, or left long ago.
   */
  whyAbsent(namespace: string, key: string): Departure | undefined {
    return this.departures.size === 0 ? undefined : this.departures.get(MemoryTier.storageKey(namespace, key))?.why
  }

  /** {@link whyAbsent} with when it left and the tags it carried; undefined while it is here. */
  departure(namespace: string, key: string): DepartureRecord | undefined {
    return this.departures.get(MemoryTier.storageKey(namespace, key))
  }

  /**
   * The entry under `(namespace, key)` as held, past its grace included, without touching it: its
   * place in the eviction order stays, and nothing expires. For inspection, not for serving.
   */
  inspect(namespace: string, key: string): Entry | undefined {
    return this.store.peek(MemoryTier.storageKey(namespace, key))
  }

  /** Synchronous lookup by address, for the hot path; see {@link peek}. */
  peekKey(namespace: string, key: string, now: number): Entry | undefined {
    const storageKey = this.storageKeys.get(namespace)?.get(key)
    if (storageKey !== undefined) return this.peek(storageKey, now)
    // TinyLFU counts misses (its admission and window follow every request); LRU has nothing to learn.
    if (this.eviction === 'tinylfu') this.store.get(MemoryTier.storageKey(namespace, key))
    return undefined
  }

  /**
   * Empties the tier and keeps it empty until {@link resume}: stores are dropped, so every lookup
   * misses. For an instance that may have missed invalidations (its bus connection dropped).
   */
  suspend(): void {
    this.suspended = true
    this.clearAll()
  }

  /** Empties the tier again, then lets it fill: the instance hears every invalidation again. */
  resume(): void {
    this.clearAll()
    this.suspended = false
  }

  /** True between {@link suspend} and {@link resume}. */
  get isSuspended(): boolean {
    return this.suspended
  }

  /**
   * Synchronous store; false when the entry was not stored (L1 suspended, larger than `maxBytes`
   * allows, or, with `'tinylfu'`, refused admission: reported to `onEvict` as an eviction).
   */
  put(entry: Entry): boolean {
    if (this.suspended) return false
    const stored: Entry = entry.payload === undefined ? entry : { ...entry, payload: undefined }
    const storageKey = MemoryTier.storageKey(entry.namespace, entry.key)
    if (this.departures.size > 0) this.departures.delete(storageKey)
    // The store reports the entry it replaces (unindexing it) before this returns.
    if (!this.store.set(storageKey, stored)) return false
    let keys = this.storageKeys.get(entry.namespace)
    if (keys === undefined) this.storageKeys.set(entry.namespace, (keys = new Map()))
    keys.set(entry.key, storageKey)
    if (stored.tags.length > 0) {
      for (const tag of stored.tags) {
        const tagKey = MemoryTier.storageKey(entry.namespace, tag)
        let keys = this.keysByTag.get(tagKey)
        if (keys === undefined) this.keysByTag.set(tagKey, (keys = new Set()))
        keys.add(storageKey)
      }
    }
    return true
  }

  /** Synchronous delete. */
  remove(namespace: string, key: string): boolean {
    return this.store.delete(MemoryTier.storageKey(namespace, key))
  }

  /** Synchronous delete by tags; see {@link Tier.deleteByTags}. */
  removeByTags(tags: readonly string[], namespace?: string): number {
    const namespaces = namespace === undefined ? this.namespacesWithTags(tags) : [namespace]
    let removed = 0
    for (const ns of namespaces) {
      for (const tag of tags) {
        const keys = this.keysByTag.get(MemoryTier.storageKey(ns, tag))
        if (keys === undefined) continue
        for (const storageKey of [...keys]) if (this.store.delete(storageKey)) removed++
      }
    }
    return removed
  }

  /** Synchronous clear. */
  removeAll(namespace?: string): void {
    if (namespace === undefined) {
      this.store.clear()
      return
    }
    const prefix = namespace + ':'
    for (const storageKey of [...this.store.keys()]) if (storageKey.startsWith(prefix)) this.store.delete(storageKey)
  }

  /** Entries held now. */
  get size(): number {
    return this.store.size
  }

  /** Bytes accounted now. */
  get bytes(): number {
    return this.store.bytes
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    return this.peek(MemoryTier.storageKey(namespace, key), Date.now())
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    const now = Date.now()
    return keys.map((key) => this.peek(MemoryTier.storageKey(namespace, key), now))
  }

  async set(entry: Entry): Promise<void> {
    this.put(entry)
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return this.remove(namespace, key)
  }

  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    return this.removeByTags(tags, namespace)
  }

  async clear(namespace?: string): Promise<void> {
    this.removeAll(namespace)
  }

  /** L1 keeps values, not payloads: nothing to rewrite. */
  async rewrite(): Promise<boolean> {
    return false
  }

  async clearPrefix(prefix: string): Promise<void> {
    this.removePrefix(prefix)
  }

  /** Synchronous {@link clearPrefix}, through the key index: touches only the scope's entries. */
  removePrefix(prefix: string): void {
    for (const [namespace, keys] of [...this.storageKeys]) {
      if (!namespace.startsWith(prefix)) continue
      for (const storageKey of [...keys.values()]) this.store.delete(storageKey)
    }
  }

  async namespaces(prefix: string): Promise<string[]> {
    const found: string[] = []
    for (const [namespace, keys] of this.storageKeys) if (keys.size > 0 && namespace.startsWith(prefix)) found.push(namespace)
    return found.sort()
  }

  /**
   * {@link Tier.keys} in UTF-16 code unit order (JS `<`). The store keeps no sorted index, so each page
   * filters and sorts the namespace's keys past the cursor: O(n log n) per page for n keys in the
   * namespace. That is fine for an L1 of thousands of entries; a stack lists from its last tier,
   * which is L1 only in a cache without shared tiers. Expired entries met are removed, as reads do.
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    const index = this.storageKeys.get(namespace)
    if (index === undefined) return []
    const { after, limit } = page
    const candidates: string[] = []
    for (const key of index.keys()) if (after === undefined || key > after) candidates.push(key)
    // Array.prototype.sort without a comparator orders strings by UTF-16 code units, as `<` does.
    candidates.sort()
    const now = Date.now()
    const live: string[] = []
    for (const key of candidates) {
      if (live.length >= limit) break
      const storageKey = index.get(key)
      if (storageKey === undefined) continue
      // peek, not get: listing must not count as a use of every key.
      const entry = this.store.peek(storageKey)
      if (entry === undefined) continue
      if (entry.staleUntil <= now) this.expire(storageKey)
      else live.push(key)
    }
    return live
  }

  async count(namespace?: string): Promise<number> {
    if (namespace === undefined) return this.store.size
    const prefix = namespace + ':'
    let n = 0
    for (const storageKey of this.store.keys()) if (storageKey.startsWith(prefix)) n++
    return n
  }

  async close(): Promise<void> {
    this.clearAll()
  }

  private expire(storageKey: string): void {
    this.deleting = 'expired'
    try {
      this.store.delete(storageKey)
    } finally {
      this.deleting = undefined
    }
  }

  /** Empties the tier without recording departures: every key is gone, for the same reason. */
  private clearAll(): void {
    this.deleting = 'cleared'
    try {
      this.store.clear()
    } finally {
      this.deleting = undefined
    }
    this.departures.clear()
  }

  private departed(storageKey: string, why: Departure, tags: readonly string[]): void {
    this.departures.delete(storageKey)
    this.departures.set(storageKey, { why, at: Date.now(), tags })
    if (this.departures.size > REMEMBERED_DEPARTURES) {
      const oldest = this.departures.keys().next().value
      if (oldest !== undefined) this.departures.delete(oldest)
    }
  }

  private unindex(entry: Entry, storageKey: string): void {
    const keys = this.storageKeys.get(entry.namespace)
    if (keys !== undefined && keys.delete(entry.key) && keys.size === 0) this.storageKeys.delete(entry.namespace)
    for (const tag of entry.tags) {
      const tagKey = MemoryTier.storageKey(entry.namespace, tag)
      const keys = this.keysByTag.get(tagKey)
      if (keys === undefined) continue
      keys.delete(storageKey)
      if (keys.size === 0) this.keysByTag.delete(tagKey)
    }
  }

  private namespacesWithTags(tags: readonly string[]): string[] {
    const wanted = new Set(tags)
    const namespaces = new Set<string>()
    for (const tagKey of this.keysByTag.keys()) {
      const colon = tagKey.indexOf(':')
      if (wanted.has(tagKey.slice(colon + 1))) namespaces.add(tagKey.slice(0, colon))
    }
    return [...namespaces]
  }
}
