import type { Database, Statement } from 'better-sqlite3'

// Lists (keys, tags) are bound as one JSON array and expanded with json_each, so that each statement
// is prepared once whatever the list length.

/** SQL text of every statement the SQLite tier runs, exported so tests can check their query plans. */
export const SQLITE_SQL = {
  get: `SELECT value, tags, created_at, fresh_until, stale_until FROM tiercache_entries
    WHERE namespace = ? AND key = ?`,
  getMany: `SELECT key, value, tags, created_at, fresh_until, stale_until FROM tiercache_entries
    WHERE namespace = ? AND key IN (SELECT value FROM json_each(?))`,
  // Replaces value, times and tags in one statement; the triggers swap the tag rows within it.
  upsert: `INSERT INTO tiercache_entries (namespace, key, value, tags, created_at, fresh_until, stale_until)
    VALUES (?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (namespace, key) DO UPDATE SET
      value = excluded.value, tags = excluded.tags, created_at = excluded.created_at,
      fresh_until = excluded.fresh_until, stale_until = excluded.stale_until`,
  delete: `DELETE FROM tiercache_entries WHERE namespace = ? AND key = ?`,
  // Compare-and-set on the payload: a rewrite must not undo a newer write.
  rewrite: `UPDATE tiercache_entries SET value = ? WHERE namespace = ? AND key = ? AND value = ?`,
  // The stale_until condition keeps a lazy delete from removing a fresh write that landed after the read.
  deleteExpired: `DELETE FROM tiercache_entries WHERE namespace = ? AND key = ? AND stale_until <= ?`,
  deleteManyExpired: `DELETE FROM tiercache_entries
    WHERE namespace = ? AND key IN (SELECT value FROM json_each(?)) AND stale_until <= ?`,
  deleteByTagsInNamespace: `DELETE FROM tiercache_entries WHERE rowid IN (
      SELECT e.rowid FROM tiercache_entry_tags t
      JOIN tiercache_entries e ON e.namespace = t.namespace AND e.key = t.key
      WHERE t.namespace = ? AND t.tag IN (SELECT value FROM json_each(?)))`,
  deleteByTagsEverywhere: `DELETE FROM tiercache_entries WHERE rowid IN (
      SELECT e.rowid FROM tiercache_entry_tags t
      JOIN tiercache_entries e ON e.namespace = t.namespace AND e.key = t.key
      WHERE t.tag IN (SELECT value FROM json_each(?)))`,
  clearNamespace: `DELETE FROM tiercache_entries WHERE namespace = ?`,
  clearAll: `DELETE FROM tiercache_entries`,
  // [prefix, end of prefix): a range scan of the primary key index, BINARY collation.
  clearRange: `DELETE FROM tiercache_entries WHERE namespace >= ? AND namespace < ?`,
  namespacesInRange: `SELECT DISTINCT namespace FROM tiercache_entries WHERE namespace >= ? AND namespace < ? ORDER BY namespace`,
  // A range scan of the primary key index (namespace, key): SQLite compares TEXT with the BINARY
  // collation, memcmp of the UTF-8 bytes, so the order is the bytes' (code points'). The first page
  // binds NULL as the cursor; `? IS NULL OR key > ?` would defeat the index, so the first page has
  // its own statement.
  keysFirst: `SELECT key FROM tiercache_entries
    WHERE namespace = ? AND stale_until > ? ORDER BY key LIMIT ?`,
  keysAfter: `SELECT key FROM tiercache_entries
    WHERE namespace = ? AND key > ? AND stale_until > ? ORDER BY key LIMIT ?`,
  countNamespace: `SELECT count(*) FROM tiercache_entries WHERE namespace = ?`,
  countAll: `SELECT count(*) FROM tiercache_entries`,
  cleanupBatch: `DELETE FROM tiercache_entries WHERE rowid IN (
      SELECT rowid FROM tiercache_entries WHERE stale_until <= ? LIMIT ?)`,
} as const

/** A row of `tiercache_entries` as the read statements return it. */
export interface EntryRow {
  readonly value: Buffer
  /** JSON array of strings. */
  readonly tags: string
  readonly created_at: number
  readonly fresh_until: number
  readonly stale_until: number
}

/** An {@link EntryRow} with its key, as `getMany` returns it. */
export interface KeyedEntryRow extends EntryRow {
  readonly key: string
}

/** The prepared statements of one open database. */
export interface SqliteStatements {
  readonly get: Statement<[string, string], EntryRow>
  readonly getMany: Statement<[string, string], KeyedEntryRow>
  readonly upsert: Statement<[string, string, Uint8Array, string, number, number, number]>
  readonly delete: Statement<[string, string]>
  readonly rewrite: Statement<[Uint8Array, string, string, Uint8Array]>
  readonly deleteExpired: Statement<[string, string, number]>
  readonly deleteManyExpired: Statement<[string, string, number]>
  readonly deleteByTagsInNamespace: Statement<[string, string]>
  readonly deleteByTagsEverywhere: Statement<[string]>
  readonly clearNamespace: Statement<[string]>
  readonly clearAll: Statement<[]>
  readonly clearRange: Statement<[string, string]>
  readonly namespacesInRange: Statement<[string, string], string>
  readonly keysFirst: Statement<[string, number, number], string>
  readonly keysAfter: Statement<[string, string, number, number], string>
  readonly countNamespace: Statement<[string], number>
  readonly countAll: Statement<[], number>
  readonly cleanupBatch: Statement<[number, number]>
}

/** Prepares every statement once, at open; the counts and key lists return bare values (pluck). */
export function prepareStatements(db: Database): SqliteStatements {
  return {
    get: db.prepare(SQLITE_SQL.get),
    getMany: db.prepare(SQLITE_SQL.getMany),
    upsert: db.prepare(SQLITE_SQL.upsert),
    delete: db.prepare(SQLITE_SQL.delete),
    rewrite: db.prepare(SQLITE_SQL.rewrite),
    deleteExpired: db.prepare(SQLITE_SQL.deleteExpired),
    deleteManyExpired: db.prepare(SQLITE_SQL.deleteManyExpired),
    deleteByTagsInNamespace: db.prepare(SQLITE_SQL.deleteByTagsInNamespace),
    deleteByTagsEverywhere: db.prepare(SQLITE_SQL.deleteByTagsEverywhere),
    clearNamespace: db.prepare(SQLITE_SQL.clearNamespace),
    clearAll: db.prepare(SQLITE_SQL.clearAll),
    clearRange: db.prepare(SQLITE_SQL.clearRange),
    namespacesInRange: db.prepare<[string, string], string>(SQLITE_SQL.namespacesInRange).pluck(),
    keysFirst: db.prepare<[string, number, number], string>(SQLITE_SQL.keysFirst).pluck(),
    keysAfter: db.prepare<[string, string, number, number], string>(SQLITE_SQL.keysAfter).pluck(),
    countNamespace: db.prepare<[string], number>(SQLITE_SQL.countNamespace).pluck(),
    countAll: db.prepare<[], number>(SQLITE_SQL.countAll).pluck(),
    cleanupBatch: db.prepare(SQLITE_SQL.cleanupBatch),
  }
}
