/**
 * The Space-Saving heavy-hitters sketch over a stream of (namespace, key) pairs, with the
 * Stream-Summary structure of its paper: counters grouped in buckets of equal count, the buckets in a
 * doubly linked list from the smallest count up, so that counting an item costs O(1) whatever the
 * capacity. Memory is `capacity` counters, never a count per key.
 *
 * Guarantees, after N items with capacity m (Metwally et al., Lemma 3 and Theorem 2):
 * - every monitored item has `count - error ≤ true count ≤ count`;
 * - every item seen more than N/m times is monitored;
 * - the counts sum to N (once m items are monitored), so the smallest count is at most N/m.
 *
 * @see A. Metwally, D. Agrawal, A. El Abbadi, "Efficient Computation of Frequent and Top-k Elements
 *   in Data Streams", ICDT 2005, LNCS 3363, pp. 398-412 (Space-Saving, §3; Stream-Summary, §3.1)
 */

import { InvalidOptionsError } from '../errors.js'

/** One monitored item. */
interface Counter {
  namespace: string
  key: string
  /** Upper bound of the item's count since the sketch started. */
  count: number
  /** How much of `count` may belong to the items it replaced: `count - error` is a lower bound. */
  error: number
  /** Lookups of the item that found no value, since it was last (re)monitored. */
  misses: number
  /** Ttl of its last write seen, ms; undefined when none was seen since it was monitored. */
  ttlMs: number | undefined
  bucket: Bucket
  prev: Counter | null
  next: Counter | null
}

/** The counters of one count value. */
interface Bucket {
  count: number
  first: Counter | null
  /** The bucket of the next smaller count. */
  lower: Bucket | null
  /** The bucket of the next larger count. */
  higher: Bucket | null
}

/** One item of {@link SpaceSaving.top}. */
export interface HeavyHitter {
  readonly namespace: string
  readonly key: string
  /** Upper bound of its lookups: `count - error ≤ true ≤ count`. */
  readonly count: number
  /** Overestimation bound of `count` (0: exact). */
  readonly error: number
  /** Lookups that found no value since it was last monitored (a lower bound of its misses). */
  readonly misses: number
  /** Ttl of its last write seen while monitored, ms; absent when none was seen. */
  readonly ttlMs?: number
}

function byName(a: { namespace: string; key: string }, b: { namespace: string; key: string }): number {
  return a.namespace < b.namespace ? -1 : a.namespace > b.namespace ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

/** A Space-Saving sketch of `capacity` counters (see the module's comment for its guarantees). */
export class SpaceSaving {
  private readonly byNamespace = new Map<string, Map<string, Counter>>()
  /** The bucket of the smallest count (where replacements come from) and of the largest. */
  private lowest: Bucket | null = null
  private highest: Bucket | null = null
  private size = 0
  private total = 0
  /**
   * Ttls of the last `capacity` writes of keys not monitored, by namespace and key joined with NUL,
   * oldest first: a key is usually written before it is first read, and monitored only from then.
   */
  private readonly recentTtls = new Map<string, number | undefined>()

  /**
   * @param capacity - counters kept, at least 1: items more frequent than total/capacity are always among them
   * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) when capacity is not a positive integer
   */
  constructor(readonly capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new InvalidOptionsError(`capacity must be a positive integer, not ${capacity}`)
  }

  /** Items counted so far: N. */
  get length(): number {
    return this.total
  }

  /** Counts one lookup of `key` in `namespace`; `found: false` counts it as a miss too. */
  count(namespace: string, key: string, found = true): void {
    this.total++
    const counter = this.byNamespace.get(namespace)?.get(key)
    if (counter !== undefined) {
      if (!found) counter.misses++
      this.increment(counter)
      return
    }
    let added: Counter
    if (this.size < this.capacity) {
      this.size++
      added = this.attachNew(namespace, key)
    } else {
      // Replace an item of the smallest count: the newcomer inherits that count as its error.
      const lowest = this.lowest
      const victim = lowest?.first
      if (lowest == null || victim == null) return
      this.forget(victim)
      victim.namespace = namespace
      victim.key = key
      victim.error = lowest.count
      victim.misses = 0
      victim.ttlMs = undefined
      this.increment(victim)
      added = victim
    }
    if (!found) added.misses = 1
    if (this.recentTtls.size > 0) {
      const written = `${namespace}\u0000${key}`
      if (this.recentTtls.has(written)) {
        added.ttlMs = this.recentTtls.get(written)
        this.recentTtls.delete(written)
      }
    }
    let keys = this.byNamespace.get(namespace)
    if (keys === undefined) {
      keys = new Map()
      this.byNamespace.set(namespace, keys)
    }
    keys.set(key, added)
  }

  /**
   * Notes the ttl a write gave `key` (ms; undefined: the cache's default): on its counter when it is
   * monitored, else among the last `capacity` writes, for when it is first looked up. Never counts
   * it (writes are not lookups).
   */
  wrote(namespace: string, key: string, ttlMs: number | undefined): void {
    const counter = this.byNamespace.get(namespace)?.get(key)
    if (counter !== undefined) {
      counter.ttlMs = ttlMs
      return
    }
    const written = `${namespace}\u0000${key}`
    this.recentTtls.delete(written)
    this.recentTtls.set(written, ttlMs)
    if (this.recentTtls.size > this.capacity) this.recentTtls.delete(this.recentTtls.keys().next().value as string)
  }

  /** The `n` items of the largest counts, largest first; ties by namespace, then key (code unit order). */
  top(n: number): HeavyHitter[] {
    const items: HeavyHitter[] = []
    for (let bucket = this.highest; bucket !== null && items.length < n; bucket = bucket.lower) {
      const tied: Counter[] = []
      for (let c = bucket.first; c !== null; c = c.next) tied.push(c)
      tied.sort(byName)
      for (const c of tied.slice(0, n - items.length)) {
        items.push({ namespace: c.namespace, key: c.key, count: c.count, error: c.error, misses: c.misses, ...(c.ttlMs === undefined ? {} : { ttlMs: c.ttlMs }) })
      }
    }
    return items
  }

  /** The estimate of one item, or undefined when it is not monitored (its true count is then at most {@link minimum}). */
  estimate(namespace: string, key: string): { readonly count: number; readonly error: number } | undefined {
    const c = this.byNamespace.get(namespace)?.get(key)
    return c === undefined ? undefined : { count: c.count, error: c.error }
  }

  /** The smallest monitored count once the sketch is full, else 0: a bound on every unmonitored item's count. */
  get minimum(): number {
    return this.size < this.capacity ? 0 : (this.lowest?.count ?? 0)
  }

  private attachNew(namespace: string, key: string): Counter {
    let bucket = this.lowest
    if (bucket === null || bucket.count !== 1) {
      bucket = { count: 1, first: null, lower: null, higher: this.lowest }
      if (this.lowest !== null) this.lowest.lower = bucket
      else this.highest = bucket
      this.lowest = bucket
    }
    const counter: Counter = { namespace, key, count: 1, error: 0, misses: 0, ttlMs: undefined, bucket, prev: null, next: bucket.first }
    if (bucket.first !== null) bucket.first.prev = counter
    bucket.first = counter
    return counter
  }

  /** Moves `counter` to the bucket of the next count, making it when missing (Stream-Summary's Increment-Counter). */
  private increment(counter: Counter): void {
    const from = counter.bucket
    const count = from.count + 1
    let to = from.higher
    // Alone in its bucket, with no bucket of the next count: the bucket moves up with it, in place
    // (the usual case of a hot key), rather than a new one made and this one dropped.
    if (from.first === counter && counter.next === null && (to === null || to.count !== count)) {
      from.count = count
      counter.count = count
      return
    }
    if (to === null || to.count !== count) {
      to = { count, first: null, lower: from, higher: from.higher }
      if (from.higher !== null) from.higher.lower = to
      else this.highest = to
      from.higher = to
    }
    this.detach(counter)
    counter.count = count
    counter.bucket = to
    counter.prev = null
    counter.next = to.first
    if (to.first !== null) to.first.prev = counter
    to.first = counter
  }

  /** Unlinks `counter` from its bucket, and the bucket from the list when it empties. */
  private detach(counter: Counter): void {
    const bucket = counter.bucket
    if (counter.prev !== null) counter.prev.next = counter.next
    else bucket.first = counter.next
    if (counter.next !== null) counter.next.prev = counter.prev
    if (bucket.first !== null) return
    if (bucket.lower !== null) bucket.lower.higher = bucket.higher
    else this.lowest = bucket.higher
    if (bucket.higher !== null) bucket.higher.lower = bucket.lower
    else this.highest = bucket.lower
  }

  private forget(counter: Counter): void {
    const keys = this.byNamespace.get(counter.namespace)
    if (keys === undefined) return
    keys.delete(counter.key)
    if (keys.size === 0) this.byNamespace.delete(counter.namespace)
  }
}
