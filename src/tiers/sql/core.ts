import { encodeValue, entryFromRecord } from '../../core/codec.js'
import type { Entry } from '../../core/entry.js'
import type { KeyPage, Tier, TierCapabilities, TierUsage } from '../tier.js'
import { PeriodicTask, deleteInBatches, prefixEnd } from './common.js'

/** A stored entry as the read statements return it, tags decoded. Times are epoch ms. */
export interface EntryRow {
  readonly value: Uint8Array
  readonly tags: readonly string[]
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
}

/** An {@link EntryRow} with its key, as `getMany` returns it. */
export interface KeyedEntryRow extends EntryRow {
  readonly key: string
}

/** A row to write: an entry's address, payload, tags (each once) and times. */
export interface EntryWrite extends EntryRow {
  readonly namespace: string
  readonly key: string
}

/**
 * The statements an SQL tier runs, one method each, over `tiercache_entries`; each dialect
 * implements them (`sqlite/statements.ts`, `postgres/statements.ts`), and {@link SqlTier} does
 * the rest. Counts are of entry rows. The `*Expired` deletes remove a row only while its
 * `stale_until` is past `now`, so that they never remove a fresh write that landed after the read.
 */
export interface SqlStatements {
  get(namespace: string, key: string): Promise<EntryRow | undefined>
  getMany(namespace: string, keys: readonly string[]): Promise<KeyedEntryRow[]>
  deleteExpired(namespace: string, key: string, now: number): Promise<unknown>
  deleteManyExpired(namespace: string, keys: readonly string[], now: number): Promise<unknown>
  /** Replaces value, times and tag set of the entry in one statement. */
  upsert(row: EntryWrite): Promise<unknown>
  /** Compare-and-set of the payload; resolves whether the row held `expected` and was rewritten. */
  rewrite(namespace: string, key: string, payload: Uint8Array, expected: Uint8Array): Promise<boolean>
  delete(namespace: string, key: string): Promise<number>
  /** In `namespace`, or in every namespace when it is undefined. */
  deleteByTags(tags: readonly string[], namespace: string | undefined): Promise<number>
  /** `namespace`, or every namespace when it is undefined. */
  clear(namespace: string | undefined): Promise<unknown>
  /** Namespaces in [start, end). */
  clearRange(start: string, end: string): Promise<unknown>
  namespacesInRange(start: string, end: string): Promise<string[]>
  /** Live keys (`stale_until` > now) of `namespace` after `after`, in key order, at most `limit`. */
  keys(namespace: string, after: string | undefined, now: number, limit: number): Promise<string[]>
  count(namespace: string | undefined): Promise<number>
  /** Rows of `namespaces` and the sum of their values' lengths in bytes. */
  usage(namespaces: readonly string[]): Promise<TierUsage>
  /** Deletes at most `limit` expired rows; resolves how many. */
  cleanupBatch(now: number, limit: number): Promise<number>
}

/** The cleanup options every SQL tier takes, resolved. */
export interface SqlTierOptions {
  readonly cleanupIntervalMs: number
  readonly cleanupBatchSize: number
}

/**
 * What the two SQL tiers share over their {@link SqlStatements}: reads that drop the expired rows
 * they meet (lazily, never failing the read), writes, removals, listing and the periodic expiry
 * cleanup. A dialect supplies the statements and how to release its connections.
 */
export abstract class SqlTier implements Tier {
  abstract readonly kind: string
  abstract readonly capabilities: TierCapabilities
  private readonly cleanup: PeriodicTask
  private closing: Promise<void> | undefined

  constructor(
    private readonly statements: SqlStatements,
    private readonly cleanupOptions: SqlTierOptions,
  ) {
    this.cleanup = new PeriodicTask(cleanupOptions.cleanupIntervalMs, () => this.cleanupExpired())
    this.cleanup.start()
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    const row = await this.statements.get(namespace, key)
    if (row === undefined) return undefined
    const now = Date.now()
    if (row.staleUntil <= now) {
      dropExpired(() => this.statements.deleteExpired(namespace, key, now))
      return undefined
    }
    return toEntry(namespace, key, row)
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    if (keys.length === 0) return []
    const rows = await this.statements.getMany(namespace, keys)
    const now = Date.now()
    const live = new Map<string, EntryRow>()
    let sawExpired = false
    for (const row of rows) {
      if (row.staleUntil <= now) sawExpired = true
      else live.set(row.key, row)
    }
    if (sawExpired) dropExpired(() => this.statements.deleteManyExpired(namespace, keys, now))
    return keys.map((key) => {
      const row = live.get(key)
      return row === undefined ? undefined : toEntry(namespace, key, row)
    })
  }

  /**
   * Upserts the entry: value, times and tag set are replaced in one statement.
   * @throws InvalidValueError when `entry.payload` is missing and the value cannot be encoded
   */
  async set(entry: Entry): Promise<void> {
    await this.statements.upsert({
      namespace: entry.namespace,
      key: entry.key,
      value: entry.payload ?? encodeValue(entry.value),
      tags: entry.tags.length > 1 ? [...new Set(entry.tags)] : entry.tags,
      createdAt: entry.createdAt,
      freshUntil: entry.freshUntil,
      staleUntil: entry.staleUntil,
    })
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return (await this.statements.delete(namespace, key)) > 0
  }

  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    if (tags.length === 0) return 0
    return this.statements.deleteByTags(tags, namespace)
  }

  async clear(namespace?: string): Promise<void> {
    await this.statements.clear(namespace)
  }

  async rewrite(entry: Entry, payload: Uint8Array): Promise<boolean> {
    if (entry.payload === undefined) return false
    return this.statements.rewrite(entry.namespace, entry.key, payload, entry.payload)
  }

  async clearPrefix(prefix: string): Promise<void> {
    await this.statements.clearRange(prefix, prefixEnd(prefix))
  }

  async namespaces(prefix: string): Promise<string[]> {
    return this.statements.namespacesInRange(prefix, prefixEnd(prefix))
  }

  /**
   * {@link Tier.keys} in the order of the keys' UTF-8 bytes (SQLite's BINARY collation,
   * PostgreSQL's "C"), by a range scan of the primary key index. Expired rows are skipped, not
   * removed: the cleanup does that.
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    return this.statements.keys(namespace, page.after, Date.now(), page.limit)
  }

  async count(namespace?: string): Promise<number> {
    return this.statements.count(namespace)
  }

  /** {@link Tier.usage}: one aggregate over the primary key index, bytes of the stored values. */
  async usage(namespaces: readonly string[]): Promise<TierUsage> {
    return namespaces.length === 0 ? { entries: 0, bytes: 0 } : this.statements.usage(namespaces)
  }

  /**
   * Deletes every row whose `staleUntil` has passed, `cleanupBatchSize` rows per statement (each its
   * own short transaction), yielding to the event loop between statements so that other work gets
   * its turn. Runs periodically on its own; callable at any time, from any number of processes.
   * @returns the number of entries removed
   */
  async cleanupExpired(): Promise<number> {
    const now = Date.now()
    return deleteInBatches(
      (limit) => this.statements.cleanupBatch(now, limit),
      this.cleanupOptions.cleanupBatchSize,
      () => this.closing !== undefined,
    )
  }

  /** Stops the cleanup (waiting for a run in progress), then releases the connections. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= this.cleanup.stop().then(() => this.release())
    return this.closing
  }

  /** Releases the dialect's connections, once. */
  protected abstract release(): Promise<void>
}

// A lazy delete is an optimisation: the read has answered its miss already, and should the delete
// fail (the write lock stays busy, the server went away) the periodic cleanup removes the row later.
function dropExpired(deleteRows: () => Promise<unknown>): void {
  deleteRows().catch(() => undefined)
}

function toEntry(namespace: string, key: string, row: EntryRow): Entry {
  return entryFromRecord({
    namespace,
    key,
    payload: row.value,
    createdAt: row.createdAt,
    freshUntil: row.freshUntil,
    staleUntil: row.staleUntil,
    tags: row.tags,
  })
}
