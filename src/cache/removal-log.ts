import type { Level } from '../core/level.js'
import type { EvictionReason } from '../tiers/memory.js'
import type { EngineEvents } from './events.js'

/**
 * A removal the {@link RemovalLog} remembers, with when it was applied here (`at`, epoch ms) and a
 * sequence number that orders records of the same millisecond:
 * - `key`, `tags`, `clear`, `scope`: a removal asked of this cache (`remote: false`), or heard from
 *   another instance on the bus (`remote: true`; `bySet`: that instance set the key);
 * - `evict`: L1 dropped the entry on its own (`count`, `size`, or `expired` past its grace);
 * - `deaf`: L1 was emptied because the bus may have missed messages;
 * - `repair`: a shared tier's recovery cleared whole namespaces (see `repair:widened`).
 */
export type LoggedRemoval = (
  | { readonly kind: 'key'; readonly namespace: string; readonly key: string; readonly remote: boolean; readonly bySet: boolean }
  | { readonly kind: 'tags'; readonly namespace: string | undefined; readonly tags: readonly string[]; readonly remote: boolean }
  | { readonly kind: 'clear'; readonly namespace: string | undefined; readonly remote: boolean }
  | { readonly kind: 'scope'; readonly prefix: string; readonly remote: boolean }
  | { readonly kind: 'evict'; readonly namespace: string; readonly key: string; readonly reason: EvictionReason }
  | { readonly kind: 'deaf'; readonly reason: string | undefined }
  | {
      readonly kind: 'repair'
      readonly level: Level
      readonly namespaces: readonly string[]
      readonly prefixes: readonly string[]
      readonly tags: readonly string[]
      readonly all: boolean
    }
) & { readonly at: number; readonly seq: number }

/** A record that touched a key: `tag`, the key's tag it matched; `certain` false when the key's tags are unknown. */
export interface Touch {
  readonly record: LoggedRemoval
  readonly tag?: string
  readonly certain: boolean
}

/**
 * How many records each ring keeps. Rings apart, so that a flood of one kind (evictions under memory
 * pressure, sets heard from a busy cluster) does not push out the rarer removals an operator asks about.
 */
export interface RemovalLogBounds {
  /** Key removals, here or heard from other instances (sets elsewhere excluded). @default 1024 */
  readonly deletes: number
  /** Key removals heard because another instance set the key. @default 1024 */
  readonly sets: number
  /** L1 evictions and expiries (as many as L1's own memory of departures). @default 1024 */
  readonly evictions: number
  /** Tag invalidations, clears, scope erasures, deaf spells and widened repairs. @default 256 */
  readonly wide: number
}

/** The default bounds: at most 3,328 records, each a small object referencing strings the engine already held. */
export const REMOVAL_LOG_BOUNDS: RemovalLogBounds = Object.freeze({ deletes: 1024, sets: 1024, evictions: 1024, wide: 256 })

/** A fixed-size ring: pushing past its capacity overwrites the oldest item. */
class Ring<T> {
  private readonly slots: (T | undefined)[]
  private next = 0

  constructor(private readonly capacity: number) {
    this.slots = new Array<T | undefined>(capacity)
  }

  push(item: T): void {
    if (this.capacity === 0) return
    this.slots[this.next] = item
    this.next = (this.next + 1) % this.capacity
  }

  *newestFirst(): Generator<T, void, undefined> {
    for (let i = 1; i <= this.capacity; i++) {
      const item = this.slots[(this.next - i + this.capacity) % this.capacity]
      if (item === undefined) return
      yield item
    }
  }
}

/**
 * The last removals that touched keys, for `cache.explain`: fed by the engine events (`removal`,
 * `entry:evict`, `bus:state`, `repair:widened`), kept in bounded rings ({@link RemovalLogBounds}),
 * asked by key. Costs one small record per removal or eviction, nothing on reads.
 */
export class RemovalLog {
  private readonly deletes: Ring<LoggedRemoval>
  private readonly sets: Ring<LoggedRemoval>
  private readonly evictions: Ring<LoggedRemoval>
  private readonly wide: Ring<LoggedRemoval>
  private seq = 0

  constructor(
    events: EngineEvents,
    bounds: RemovalLogBounds = REMOVAL_LOG_BOUNDS,
    private readonly now: () => number = Date.now,
  ) {
    this.deletes = new Ring(bounds.deletes)
    this.sets = new Ring(bounds.sets)
    this.evictions = new Ring(bounds.evictions)
    this.wide = new Ring(bounds.wide)
    // Records are built field by field: spreading event payloads of varied shapes cost microseconds a removal.
    events.on('removal', ({ removal, remote, bySet }) => {
      const at = this.now()
      const seq = this.seq++
      switch (removal.kind) {
        case 'key':
          if (bySet === true) this.sets.push({ kind: 'key', namespace: removal.namespace, key: removal.key, remote, bySet: true, at, seq })
          else this.deletes.push({ kind: 'key', namespace: removal.namespace, key: removal.key, remote, bySet: false, at, seq })
          return
        case 'tags':
          return this.wide.push({ kind: 'tags', namespace: removal.namespace, tags: removal.tags, remote, at, seq })
        case 'clear':
          return this.wide.push({ kind: 'clear', namespace: removal.namespace, remote, at, seq })
        case 'scope':
          return this.wide.push({ kind: 'scope', prefix: removal.prefix, remote, at, seq })
      }
    })
    events.on('entry:evict', ({ namespace, key, reason }) => this.evictions.push({ kind: 'evict', namespace, key, reason, at: this.now(), seq: this.seq++ }))
    events.on('bus:state', ({ listening, reason }) => {
      if (!listening) this.wide.push({ kind: 'deaf', reason, at: this.now(), seq: this.seq++ })
    })
    events.on('repair:widened', ({ level, namespaces, prefixes, tags, all }) =>
      this.wide.push({ kind: 'repair', level, namespaces, prefixes, tags, all, at: this.now(), seq: this.seq++ }),
    )
  }

  /**
   * The records that touched `(namespace, key)` (a storage namespace), newest first, at most `limit`.
   * A tag invalidation touched it when it carried one of `tags`; with `tags` undefined (no tier
   * holds the entry, and L1 does not remember it), every tag invalidation of its namespace may have:
   * those come with `certain: false`.
   */
  touching(namespace: string, key: string, tags: ReadonlySet<string> | undefined, limit: number): Touch[] {
    const found: Touch[] = []
    for (const ring of [this.deletes, this.sets, this.evictions, this.wide]) {
      for (const record of ring.newestFirst()) {
        const touch = touches(record, namespace, key, tags)
        if (touch !== undefined) found.push(touch)
      }
    }
    return found.sort((a, b) => b.record.seq - a.record.seq).slice(0, limit)
  }
}

function touches(record: LoggedRemoval, namespace: string, key: string, tags: ReadonlySet<string> | undefined): Touch | undefined {
  switch (record.kind) {
    case 'key':
    case 'evict':
      return record.namespace === namespace && record.key === key ? { record, certain: true } : undefined
    case 'tags':
      return record.namespace === undefined || record.namespace === namespace ? byTag(record, record.tags, tags) : undefined
    case 'clear':
      return record.namespace === undefined || record.namespace === namespace ? { record, certain: true } : undefined
    case 'scope':
      return namespace.startsWith(record.prefix) ? { record, certain: true } : undefined
    case 'deaf':
      return { record, certain: true }
    case 'repair':
      if (record.all || record.namespaces.includes(namespace) || record.prefixes.some((prefix) => namespace.startsWith(prefix))) return { record, certain: true }
      return record.tags.length === 0 ? undefined : byTag(record, record.tags, tags)
  }
}

function byTag(record: LoggedRemoval, removed: readonly string[], carried: ReadonlySet<string> | undefined): Touch | undefined {
  if (carried === undefined) return { record, certain: false }
  const tag = removed.find((candidate) => carried.has(candidate))
  return tag === undefined ? undefined : { record, tag, certain: true }
}
