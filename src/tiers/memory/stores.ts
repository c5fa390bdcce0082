import { LRUCache } from 'lru-cache'
import type { Entry } from '../../core/entry.js'
import { AdaptiveTinyLfu } from '../eviction/index.js'

/** The orderings L1 offers (see `MemoryTierOptions.eviction`): LRU, and adaptive W-TinyLFU. */
export const L1_EVICTIONS = ['lru', 'tinylfu'] as const

/** How L1 orders its entries, and so which it evicts: see `MemoryTierOptions.eviction`. */
export type L1Eviction = (typeof L1_EVICTIONS)[number]

// Rough per-entry bookkeeping (entry object, list node and map slot, key index slot) so that many tiny
// values still count against maxBytes.
const ENTRY_OVERHEAD_BYTES = 160

/** The bytes an entry counts for against `maxBytes`: its encoded size, its key (UTF-16), bookkeeping. */
export function entryWeight(entry: Entry, storageKey: string): number {
  return entry.size + storageKey.length * 2 + ENTRY_OVERHEAD_BYTES
}

/**
 * Why a store let go of an entry: evicted past a bound (`count`, `size`), replaced by a `set` of its
 * key (or by a value too large to hold), or deleted (an explicit delete, an expiry, or a clear).
 */
export type DropCause = 'count' | 'size' | 'set' | 'delete'

/** Called synchronously for every entry a store lets go of, before the call that caused it returns. */
export type Dropped = (entry: Entry, storageKey: string, cause: DropCause) => void

/**
 * The entries of L1 under one ordering. `get` is a use (it may reorder); `peek` is not. Every entry
 * that leaves is reported to the store's {@link Dropped} callback, with its cause.
 */
export interface EntryStore {
  readonly size: number
  readonly bytes: number
  get(storageKey: string): Entry | undefined
  peek(storageKey: string): Entry | undefined
  /** Stores `entry`; false when it is not held afterwards (too large, or not admitted). */
  set(storageKey: string, entry: Entry): boolean
  delete(storageKey: string): boolean
  clear(): void
  keys(): IterableIterator<string>
  /** New bounds: entries beyond them are evicted (reported as `count` or `size`), the first to go first. */
  resize(maxEntries: number, maxBytes: number): void
}

/** The store of either policy. */
export function createStore(eviction: L1Eviction, maxEntries: number, maxBytes: number, dropped: Dropped): EntryStore {
  return eviction === 'tinylfu' ? new TinyLfuStore(maxEntries, maxBytes, dropped) : new LruStore(maxEntries, maxBytes, dropped)
}

/** Least recently used first out, by lru-cache: L1's ordering until issue 13. */
class LruStore implements EntryStore {
  private lru: LRUCache<string, Entry>

  constructor(
    maxEntries: number,
    maxBytes: number,
    private readonly dropped: Dropped,
  ) {
    this.lru = this.newLru(maxEntries, maxBytes)
  }

  get size(): number {
    return this.lru.size
  }

  get bytes(): number {
    return this.lru.calculatedSize
  }

  get(storageKey: string): Entry | undefined {
    return this.lru.get(storageKey)
  }

  peek(storageKey: string): Entry | undefined {
    return this.lru.peek(storageKey)
  }

  set(storageKey: string, entry: Entry): boolean {
    // The LRU disposes the entry it replaces before this returns.
    this.lru.set(storageKey, entry)
    return this.lru.has(storageKey)
  }

  delete(storageKey: string): boolean {
    return this.lru.delete(storageKey)
  }

  clear(): void {
    this.lru.clear()
  }

  keys(): IterableIterator<string> {
    return this.lru.keys()
  }

  /** The entries move to an LRU of the new bounds in their order of use: the least recently used go. */
  resize(maxEntries: number, maxBytes: number): void {
    const held = [...this.lru.rentries()] as [string, Entry][]
    // The old LRU is dropped, not cleared: clearing would report (unindex) entries that stay.
    this.lru = this.newLru(maxEntries, maxBytes)
    for (const [storageKey, entry] of held) {
      // One entry larger than the new maxBytes is not taken: an eviction for the bytes.
      if (!this.set(storageKey, entry)) this.dropped(entry, storageKey, 'size')
    }
  }

  private newLru(max: number, maxSize: number): LRUCache<string, Entry> {
    const lru: LRUCache<string, Entry> = new LRUCache<string, Entry>({
      max,
      maxSize,
      sizeCalculation: entryWeight,
      dispose: (entry, storageKey, reason) => {
        // lru-cache evicts for the count only when full; otherwise the bytes made it.
        if (reason === 'evict') this.dropped(entry, storageKey, lru.size >= max ? 'count' : 'size')
        else this.dropped(entry, storageKey, reason === 'delete' ? 'delete' : 'set')
      },
    })
    return lru
  }
}

/**
 * Adaptive W-TinyLFU ({@link AdaptiveTinyLfu}, issue 13): the entries in a Map, their order and
 * admission by the policy, weighted by {@link entryWeight} and bounded by count and by bytes.
 */
class TinyLfuStore implements EntryStore {
  private readonly entries = new Map<string, Entry>()
  private policy: AdaptiveTinyLfu<string>
  // The key the last look-up missed, until the next look-up or store.
  private lastMiss: string | undefined
  private maxBytes: number

  constructor(
    maxEntries: number,
    maxBytes: number,
    private readonly dropped: Dropped,
  ) {
    this.maxBytes = maxBytes
    this.policy = this.newPolicy(maxEntries, maxBytes)
  }

  get size(): number {
    return this.entries.size
  }

  get bytes(): number {
    return this.policy.weight
  }

  get(storageKey: string): Entry | undefined {
    const entry = this.entries.get(storageKey)
    // Misses count too: they are requests, which admission and the window follow. The stack looks a
    // missed key up again before it stores it: that second look-up is not a request.
    if (entry !== undefined || storageKey !== this.lastMiss) this.policy.access(storageKey)
    this.lastMiss = entry === undefined ? storageKey : undefined
    return entry
  }

  peek(storageKey: string): Entry | undefined {
    return this.entries.get(storageKey)
  }

  set(storageKey: string, entry: Entry): boolean {
    this.lastMiss = undefined
    const weight = entryWeight(entry, storageKey)
    const replaced = this.entries.get(storageKey)
    if (weight > this.maxBytes) {
      // As lru-cache does: a value too large for the tier is not held, and takes the old one with it.
      if (replaced !== undefined) this.remove(storageKey, replaced, 'set')
      return false
    }
    this.entries.set(storageKey, entry)
    if (replaced !== undefined) this.dropped(replaced, storageKey, 'set')
    // The policy may evict others, or refuse this one (see onEvict in newPolicy), before returning.
    return this.policy.record(storageKey, weight)
  }

  delete(storageKey: string): boolean {
    const entry = this.entries.get(storageKey)
    if (entry === undefined) return false
    this.remove(storageKey, entry, 'delete')
    return true
  }

  clear(): void {
    // A snapshot first: the callback may look at the tier while entries go.
    const held = [...this.entries]
    this.entries.clear()
    // The sketch's history stays: a clear removes entries, not what is known of the workload.
    this.policy.clear()
    for (const [storageKey, entry] of held) this.dropped(entry, storageKey, 'delete')
  }

  keys(): IterableIterator<string> {
    return this.entries.keys()
  }

  /**
   * Evicts in the policy's eviction order until the new bounds hold (an entry alone larger than the
   * new maxBytes first), then rebuilds the policy at the new bounds with the survivors in the same
   * order. The new policy's sketch starts empty: it relearns the workload's frequencies. O(entries).
   */
  resize(maxEntries: number, maxBytes: number): void {
    const order = [...this.policy.keysInEvictionOrder()]
    this.maxBytes = maxBytes
    this.policy = this.newPolicy(maxEntries, maxBytes)
    let count = order.length
    let bytes = 0
    const survivors: [string, number][] = []
    for (const storageKey of order) {
      const entry = this.entries.get(storageKey)
      if (entry === undefined) continue
      const weight = entryWeight(entry, storageKey)
      if (weight > maxBytes) {
        count--
        this.remove(storageKey, entry, 'size')
      } else {
        bytes += weight
        survivors.push([storageKey, weight])
      }
    }
    let first = 0
    for (; first < survivors.length && (count > maxEntries || bytes > maxBytes); first++) {
      const [storageKey, weight] = survivors[first] as [string, number]
      const entry = this.entries.get(storageKey)
      if (entry === undefined) continue
      const cause = count > maxEntries ? 'count' : 'size'
      count--
      bytes -= weight
      this.remove(storageKey, entry, cause)
    }
    for (let i = first; i < survivors.length; i++) {
      const [storageKey, weight] = survivors[i] as [string, number]
      if (this.entries.has(storageKey)) this.policy.record(storageKey, weight)
    }
  }

  private remove(storageKey: string, entry: Entry, cause: DropCause): void {
    this.entries.delete(storageKey)
    this.policy.delete(storageKey)
    this.dropped(entry, storageKey, cause)
  }

  private newPolicy(maxEntries: number, maxBytes: number): AdaptiveTinyLfu<string> {
    return new AdaptiveTinyLfu<string>({
      maxEntries,
      maxWeight: maxBytes,
      // Every key the policy drops, the just-recorded one included when it is refused admission. A
      // refused admission is an eviction like any other, with the bound that was exceeded when the
      // candidate was dropped: 'count' while more than maxEntries were held, else 'size'.
      onEvict: (storageKey, cause) => {
        const entry = this.entries.get(storageKey)
        if (entry === undefined) return
        this.entries.delete(storageKey)
        this.dropped(entry, storageKey, cause)
      },
    })
  }
}
