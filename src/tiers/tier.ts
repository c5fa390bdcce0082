import type { Entry } from '../core/entry.js'

/** What a tier is, so the stack can treat it right. */
export interface TierCapabilities {
  /** Entries are visible to every process using the same backend (Redis, SQL); false for memory. */
  readonly shared: boolean
  /** Entries survive a process restart once `set` has resolved. */
  readonly durable: boolean
  /**
   * Every call settles within the tier's own timeout (the Redis tier bounds each command), so the
   * stack need not time it again. @default false
   */
  readonly boundedCalls?: boolean
}

/** What a tier holds in some namespaces: entries (expired ones not yet removed may count), and the bytes of their stored values where the tier can tell cheaply. */
export interface TierUsage {
  readonly entries: number
  readonly bytes?: number
}

/** A page request of {@link Tier.keys}: a cursor and a size. */
export interface KeyPage {
  /** List keys strictly after this one in the tier's order; undefined starts at the first key. */
  readonly after?: string
  /** Most keys returned; a positive integer. */
  readonly limit: number
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
  /**
   * Stores the entry, replacing any under its address. Shared tiers store `entry.payload` as is, and
   * encode the value themselves when it is absent.
   */
  set(entry: Entry): Promise<void>
  /**
   * Replaces the stored payload of `entry`, as read from this tier, with `payload`, keeping every
   * other field and the expiry, only if the tier still holds that very entry (same payload): a
   * compare-and-set, so that a rewrite never undoes a newer write. Resolves whether it replaced it.
   * For re-encryption after a key rotation; a tier that stores no payloads (memory) resolves false.
   */
  rewrite(entry: Entry, payload: Uint8Array): Promise<boolean>
  /** Removes the entry; resolves true when one was there. */
  delete(namespace: string, key: string): Promise<boolean>
  /**
   * Removes every entry carrying at least one of `tags`, in `namespace` or, when it is undefined, in
   * every namespace. Resolves the number removed. Must not scan entries without the tags.
   */
  deleteByTags(tags: readonly string[], namespace?: string): Promise<number>
  /** Removes every entry of `namespace`, or every entry when it is undefined. */
  clear(namespace?: string): Promise<void>
  /**
   * Removes every entry of every namespace that starts with `prefix` (a scope's prefix, such as
   * `~acme~`: see cache/scope.ts), for erasure. `prefix` is non-empty; entries of namespaces that do
   * not start with it, including namespaces it is a proper prefix of only by accident, are untouched
   * (scope prefixes end with `~`, which namespaces cannot contain, so there are none). Entries
   * written while it runs may survive, as with {@link clear}.
   */
  clearPrefix(prefix: string): Promise<void>
  /**
   * The namespaces starting with `prefix` that hold entries, in ascending order (the tier's string
   * order, as for {@link keys}); may include namespaces whose entries have all expired but are not
   * yet removed. For export and erasure of a scope.
   */
  namespaces(prefix: string): Promise<string[]>
  /**
   * One page of the live keys (`staleUntil` > now, so entries within grace included) of `namespace`:
   * at most `page.limit` of them, in ascending order, starting strictly after `page.after`. A page
   * shorter than `limit` is the last.
   *
   * Cursor paging: pass the last key of a page as the next page's `after`. The order is the tier's
   * own total order on strings, which is what makes the cursor work (every key is either before or
   * after it): UTF-16 code units (JS `<`) in memory, bytes of the UTF-8 encoding (that is, code
   * points) in SQLite (BINARY collation) and PostgreSQL (`COLLATE "C"`). The two orders differ only
   * for characters past U+FFFF against U+E000..U+FFFF; callers must not compare keys of different
   * tiers by position. While a namespace is not written, its pages list each live key exactly once;
   * keys written or removed during the paging may or may not appear, and never twice.
   */
  keys(namespace: string, page: KeyPage): Promise<string[]>
  /** Number of entries stored (expired ones not yet removed may be counted). */
  count(namespace?: string): Promise<number>
  /**
   * Entries and bytes held in `namespaces`, in one query where the backend allows (the SQL tiers);
   * optional: without it, the engine counts each namespace with {@link count}.
   */
  usage?(namespaces: readonly string[]): Promise<TierUsage>
  /** Releases connections and timers. Idempotent. */
  close(): Promise<void>
}
