import type { Entry } from '../cache/entry.js'

/** What a tier is, so the stack can treat it right. */
export interface TierCapabilities {
  /** Entries are visible to every process using the same backend (Redis, SQL); false for memory. */
  readonly shared: boolean
  /** Entries survive a process restart once `set` has resolved. */
  readonly durable: boolean
}

/**
 * The contract every tier implements (memory, Redis, SQLite, PostgreSQL), and that
 * `test/tiers/conformance.ts` checks against the real backend.
 *
 * Entries are addressed by `(namespace, key)`. `get` and `getMany` never return an entry whose
 * `staleUntil` has passed; such entries are removed lazily and by the tier's own cleanup. Errors are
 * thrown as they come: the stack, not the tier, decides what a failure means for the caller.
 */
export interface Tier {
  /** Backend name for health, metrics and logs: `'memory'`, `'sqlite'`, `'postgres'`, `'redis'`. */
  readonly kind: string
  readonly capabilities: TierCapabilities
  /** The live entry under `(namespace, key)`, or undefined. Shared tiers include `payload`. */
  get(namespace: string, key: string): Promise<Entry | undefined>
  /** Entries for `keys`, in the same order, undefined where missing. */
  getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]>
  /** Stores the entry, replacing any under its address. Shared tiers require `entry.payload`. */
  set(entry: Entry): Promise<void>
  /** Removes the entry; resolves true when one was there. */
  delete(namespace: string, key: string): Promise<boolean>
  /**
   * Removes every entry carrying at least one of `tags`, in `namespace` or, when it is undefined, in
   * every namespace. Resolves the number removed. Must not scan entries without the tags.
   */
  deleteByTags(tags: readonly string[], namespace?: string): Promise<number>
  /** Removes every entry of `namespace`, or every entry when it is undefined. */
  clear(namespace?: string): Promise<void>
  /** Number of entries stored (expired ones not yet removed may be counted). */
  count(namespace?: string): Promise<number>
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>
}
