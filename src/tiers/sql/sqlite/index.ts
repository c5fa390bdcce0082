import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { z } from 'zod'
import { encodeValue, entryFromRecord } from '../../../core/codec.js'
import type { Entry } from '../../../core/entry.js'
import { CorruptEntryError, TierUnavailableError } from '../../../errors.js'
import type { KeyPage, Tier, TierCapabilities } from '../../tier.js'
import { parseOptions } from '../../../core/options.js'
import { PeriodicTask, cleanupOptionsShape, deleteInBatches, prefixEnd } from '../common.js'
import { migrateSqlite } from './migrations.js'
import { type EntryRow, type SqliteStatements, prepareStatements } from './statements.js'

/** Options of the SQLite tier. */
export interface SqliteTierOptions {
  /**
   * Database file; missing parent folders are created. `':memory:'` gives a private in-memory
   * database (neither shared nor durable, for tests).
   */
  readonly path: string
  /** Period of the background deletion of expired rows, in ms; 0 disables it. @default 60_000 */
  readonly cleanupIntervalMs?: number
  /** Rows deleted per cleanup statement. @default 1000 */
  readonly cleanupBatchSize?: number
}

const optionsSchema = z.object({ path: z.string().min(1), ...cleanupOptionsShape })

/**
 * How long a statement waits for another connection's write lock before failing with SQLITE_BUSY,
 * in ms. better-sqlite3 is synchronous, so this is also the longest the event loop can stall on a
 * contended write.
 */
export const SQLITE_BUSY_TIMEOUT_MS = 5_000

/**
 * Durable tier (L3) on an embedded SQLite file, through better-sqlite3's synchronous API with
 * statements prepared once at open.
 *
 * The file is opened in WAL mode with `synchronous = NORMAL`: readers never block the writer, and a
 * write that has returned survives a crash of the process (an OS crash or power loss may lose the
 * last transactions). Several processes may share one file. Expired rows are dropped when read and
 * by a periodic cleanup; see {@link SqliteTier.cleanupExpired}.
 */
export class SqliteTier implements Tier {
  readonly kind = 'sqlite'
  /** Shared and durable, except for a `':memory:'` database, which is neither. */
  readonly capabilities: TierCapabilities
  private readonly statements: SqliteStatements
  private readonly cleanup: PeriodicTask
  private closing: Promise<void> | undefined

  /** Use {@link createSqliteTier}, which validates the options and opens the database. */
  constructor(
    private readonly db: Database.Database,
    private readonly options: Readonly<Required<SqliteTierOptions>>,
  ) {
    const onDisk = !db.memory
    this.capabilities = { shared: onDisk, durable: onDisk }
    this.statements = prepareStatements(db)
    this.cleanup = new PeriodicTask(options.cleanupIntervalMs, () => this.cleanupExpired())
    this.cleanup.start()
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    const row = this.statements.get.get(namespace, key)
    if (row === undefined) return undefined
    const now = Date.now()
    if (row.stale_until <= now) {
      this.dropExpired(() => this.statements.deleteExpired.run(namespace, key, now))
      return undefined
    }
    return toEntry(namespace, key, row)
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    if (keys.length === 0) return []
    const rows = this.statements.getMany.all(namespace, JSON.stringify(keys))
    const now = Date.now()
    const live = new Map<string, EntryRow>()
    let sawExpired = false
    for (const row of rows) {
      if (row.stale_until <= now) sawExpired = true
      else live.set(row.key, row)
    }
    if (sawExpired) this.dropExpired(() => this.statements.deleteManyExpired.run(namespace, JSON.stringify(keys), now))
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
    this.statements.upsert.run(
      entry.namespace,
      entry.key,
      entry.payload ?? encodeValue(entry.value),
      JSON.stringify(entry.tags),
      entry.createdAt,
      entry.freshUntil,
      entry.staleUntil,
    )
  }

  async delete(namespace: string, key: string): Promise<boolean> {
    return this.statements.delete.run(namespace, key).changes > 0
  }

  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    if (tags.length === 0) return 0
    const tagList = JSON.stringify(tags)
    // `changes` counts rows of tiercache_entries only (not the trigger's tag rows): each entry once.
    const result =
      namespace === undefined
        ? this.statements.deleteByTagsEverywhere.run(tagList)
        : this.statements.deleteByTagsInNamespace.run(namespace, tagList)
    return result.changes
  }

  async clear(namespace?: string): Promise<void> {
    if (namespace === undefined) this.statements.clearAll.run()
    else this.statements.clearNamespace.run(namespace)
  }

  async rewrite(entry: Entry, payload: Uint8Array): Promise<boolean> {
    if (entry.payload === undefined) return false
    return this.statements.rewrite.run(payload, entry.namespace, entry.key, entry.payload).changes > 0
  }

  async clearPrefix(prefix: string): Promise<void> {
    this.statements.clearRange.run(prefix, prefixEnd(prefix))
  }

  async namespaces(prefix: string): Promise<string[]> {
    return this.statements.namespacesInRange.all(prefix, prefixEnd(prefix))
  }

  /**
   * {@link Tier.keys} in the order of the keys' UTF-8 bytes (SQLite's BINARY collation), by a range
   * scan of the primary key index. Expired rows are skipped, not removed: the cleanup does that.
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    const now = Date.now()
    return page.after === undefined
      ? this.statements.keysFirst.all(namespace, now, page.limit)
      : this.statements.keysAfter.all(namespace, page.after, now, page.limit)
  }

  async count(namespace?: string): Promise<number> {
    const count = namespace === undefined ? this.statements.countAll.get() : this.statements.countNamespace.get(namespace)
    return count ?? 0
  }

  /**
   * Deletes every row whose `staleUntil` has passed, `cleanupBatchSize` rows per statement, yielding
   * to the event loop between statements so that other writers get the lock. Runs periodically on
   * its own; callable at any time.
   * @returns the number of entries removed
   */
  async cleanupExpired(): Promise<number> {
    const now = Date.now()
    return deleteInBatches(
      (batchSize) => (this.db.open ? this.statements.cleanupBatch.run(now, batchSize).changes : 0),
      this.options.cleanupBatchSize,
      () => this.closing !== undefined,
    )
  }

  /** Stops the cleanup (waiting for a run in progress) and closes the database. Idempotent. */
  async close(): Promise<void> {
    this.closing ??= this.cleanup.stop().then(() => {
      this.db.close()
    })
    return this.closing
  }

  // A lazy delete is an optimisation: if it fails (say the write lock stays busy), the read still
  // answers its miss and the periodic cleanup removes the row later.
  private dropExpired(deleteRows: () => unknown): void {
    try {
      deleteRows()
    } catch {
      // see above
    }
  }
}

function toEntry(namespace: string, key: string, row: EntryRow): Entry {
  return entryFromRecord({
    namespace,
    key,
    payload: row.value,
    createdAt: row.created_at,
    freshUntil: row.fresh_until,
    staleUntil: row.stale_until,
    tags: parseTags(row.tags),
  })
}

/** @throws CorruptEntryError when the stored tag list is not a JSON array of strings */
function parseTags(stored: string): readonly string[] {
  if (stored === '[]') return []
  let tags: unknown
  try {
    tags = JSON.parse(stored)
  } catch (cause) {
    throw new CorruptEntryError('stored tag list cannot be decoded', { cause })
  }
  if (!Array.isArray(tags) || !tags.every((tag) => typeof tag === 'string')) {
    throw new CorruptEntryError('stored tag list is not a list of strings')
  }
  return tags as string[]
}

/**
 * Opens (creating if needed) the SQLite database at `options.path`, sets WAL mode,
 * `synchronous = NORMAL` and a busy timeout of {@link SQLITE_BUSY_TIMEOUT_MS}, migrates the schema
 * and starts the periodic cleanup.
 *
 * @throws InvalidOptionsError when the options are invalid
 * @throws TierUnavailableError when the file cannot be created or opened
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export function createSqliteTier(options: SqliteTierOptions): SqliteTier {
  const parsed = parseOptions(optionsSchema, options, 'SQLite tier')
  return new SqliteTier(openSqliteDatabase(parsed.path), parsed)
}

/**
 * Opens a connection of its own to the tier's database at `path` (creating the file and its missing
 * parent folders if needed), as the tier does: WAL mode, `synchronous = NORMAL`, a busy timeout of
 * {@link SQLITE_BUSY_TIMEOUT_MS}, and the schema migrated to the latest version (a no-op when another
 * connection or process has done it). For components that keep their own tables in the same file,
 * such as the API keys and the audit log; the caller closes the connection.
 *
 * @param path - database file, or `':memory:'` for a private in-memory database
 * @throws TierUnavailableError when the file cannot be created or opened
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export function openSqliteDatabase(path: string): Database.Database {
  const db = openDatabase(path)
  try {
    migrateSqlite(db)
  } catch (error) {
    db.close()
    throw error
  }
  return db
}

function openDatabase(path: string): Database.Database {
  let db: Database.Database | undefined
  try {
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true })
    db = new Database(path, { timeout: SQLITE_BUSY_TIMEOUT_MS })
    // WAL persists in the file; setting it again is a no-op. In-memory databases stay in 'memory'.
    db.pragma('journal_mode = WAL')
    db.pragma('synchronous = NORMAL')
    return db
  } catch (cause) {
    db?.close()
    throw new TierUnavailableError('cannot open the SQLite database', { cause })
  }
}
