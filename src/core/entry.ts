import { ValueTooLargeError } from '../errors.js'
import { encodeValue } from './codec.js'

/**
 * A cached value with its lifetimes, as every tier stores it. All times are epoch milliseconds.
 *
 * - fresh while `now < freshUntil` (set by ttl): served as is;
 * - stale while `freshUntil <= now < staleUntil` (grace): served only where the caller allows it;
 * - gone from `staleUntil` on: tiers treat it as absent and remove it.
 */
export interface Entry<V = unknown> {
  readonly namespace: string
  readonly key: string
  readonly value: V
  /** Size of the encoded value in bytes. */
  readonly size: number
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
  /** Tags (surrogate keys) for group invalidation, deduplicated. */
  readonly tags: readonly string[]
  /**
   * The encoded value (msgpack). Present on entries read from or written to shared tiers, so that a
   * backfill does not encode again; the memory tier drops it.
   */
  readonly payload?: Uint8Array
  /**
   * How long the origin took to produce the value, ms (XFetch's δ, see `RefreshAhead.beta`). Kept in
   * L1 only: entries read from shared tiers have none.
   */
  readonly computeMs?: number
}

/** Where a value came from: a tier, or the origin (the factory). */
export type Source = 'l1' | 'l2' | 'l3' | 'origin' | 'fallback'

/** A value with how it was served. */
export interface Served<V> {
  readonly value: V
  /**
   * The tier that answered, `'origin'` when the factory produced the value, or `'fallback'` when the
   * factory failed, nothing stale existed, and the call's `fallback` answered (not cached).
   */
  readonly source: Source
  /** True when the value is past its ttl and served within grace (fail-safe or stale-while-revalidate). */
  readonly stale: boolean
  /** Milliseconds since the value was produced by the origin. */
  readonly ageMs: number
  /** When the value stops being fresh, epoch ms. */
  readonly freshUntil: number
}

/** True while `entry` is fresh at `now` (epoch ms): the one freshness test of the code base. */
export function isFresh(entry: Entry, now: number): boolean {
  return now < entry.freshUntil
}

/** True while `entry` is fresh or within grace at `now`: kept, and servable where stale is allowed. */
export function isAlive(entry: Entry, now: number): boolean {
  return now < entry.staleUntil
}

/** How `entry`, found at `source`, is served at `now`; `stale` as the read that found it judged it. */
export function servedFrom<V>(entry: Entry, source: Source, now: number, stale = !isFresh(entry, now)): Served<V> {
  return {
    value: entry.value as V,
    source,
    stale,
    ageMs: Math.max(0, now - entry.createdAt),
    freshUntil: entry.freshUntil,
  }
}

/** What {@link createEntry} needs besides the value. Durations in ms. */
export interface EntryPolicy {
  readonly ttlMs: number
  readonly graceMs: number
  readonly tags: readonly string[]
}

/**
 * A new entry created now, with its value encoded once for every tier.
 * @throws InvalidValueError when the value cannot be encoded; ValueTooLargeError when its encoding
 *   is larger than `maxValueBytes`
 */
export function createEntry<V>(namespace: string, key: string, value: V, policy: EntryPolicy, maxValueBytes: number, computeMs?: number): Entry<V> {
  const payload = encodeValue(value)
  if (payload.byteLength > maxValueBytes) {
    throw new ValueTooLargeError(`encoded value is ${payload.byteLength} bytes; the limit is ${maxValueBytes}`)
  }
  const now = Date.now()
  return {
    namespace,
    key,
    value,
    payload,
    size: payload.byteLength,
    createdAt: now,
    freshUntil: now + policy.ttlMs,
    staleUntil: now + policy.ttlMs + policy.graceMs,
    tags: policy.tags,
    ...(computeMs === undefined ? {} : { computeMs }),
  }
}
