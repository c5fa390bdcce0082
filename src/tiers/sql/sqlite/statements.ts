import type { Database, Statement } from 'better-sqlite3'
import { CorruptEntryError } from '../../../errors.js'
import type { EntryRow, SqlStatements } from '../core.js'

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
  usage: `SELECT count(*) AS entries, coalesce(sum(length(value)), 0) AS bytes FROM tiercache_entries
    WHERE namespace IN (SELECT value FROM json_each(?))`,
  cleanupBatch: `DELETE FROM tiercache_entries WHERE rowid IN (
      SELECT rowid FROM tiercache_entries WHERE stale_until <= ? LIMIT ?)`,
} as const

/** A row of `tiercache_entries` as the read statements return it. */
interface SqliteEntryRow {
  readonly value: Buffer
  /** JSON array of strings. */
  readonly tags: string
  readonly created_at: number
  readonly fresh_until: number
  readonly stale_until: number
}

interface SqliteKeyedEntryRow extends SqliteEntryRow {
  readonly key: string
}

/** The prepared statements of one open database. */
interface Prepared {
  readonly get: Statement<[string, string], SqliteEntryRow>
  readonly getMany: Statement<[string, string], SqliteKeyedEntryRow>
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
  readonly usage: Statement<[string], { entries: number; bytes: number }>
  readonly cleanupBatch: Statement<[number, number]>
}

/** Prepares every statement once, at open; the counts and key lists return bare values (pluck). */
function prepare(db: Database): Prepared {
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
    usage: db.prepare(SQLITE_SQL.usage),
    cleanupBatch: db.prepare(SQLITE_SQL.cleanupBatch),
  }
}

/**
 * The SQL tier's statements on one open SQLite database, prepared once. better-sqlite3 is
 * synchronous: each call has run when its promise is returned, and a failure is its rejection.
 */
export function sqliteStatements(db: Database): SqlStatements {
  const s = prepare(db)
  return {
    get: async (namespace, key) => {
      const row = s.get.get(namespace, key)
      return row === undefined ? undefined : toRow(row)
    },
    getMany: async (namespace, keys) => s.getMany.all(namespace, JSON.stringify(keys)).map((row) => ({ key: row.key, ...toRow(row) })),
    deleteExpired: async (namespace, key, now) => s.deleteExpired.run(namespace, key, now),
    deleteManyExpired: async (namespace, keys, now) => s.deleteManyExpired.run(namespace, JSON.stringify(keys), now),
    upsert: async (row) =>
      s.upsert.run(row.namespace, row.key, row.value, JSON.stringify(row.tags), row.createdAt, row.freshUntil, row.staleUntil),
    rewrite: async (namespace, key, payload, expected) => s.rewrite.run(payload, namespace, key, expected).changes > 0,
    delete: async (namespace, key) => s.delete.run(namespace, key).changes,
    // `changes` counts rows of tiercache_entries only (not the trigger's tag rows): each entry once.
    deleteByTags: async (tags, namespace) =>
      namespace === undefined
        ? s.deleteByTagsEverywhere.run(JSON.stringify(tags)).changes
        : s.deleteByTagsInNamespace.run(namespace, JSON.stringify(tags)).changes,
    clear: async (namespace) => (namespace === undefined ? s.clearAll.run() : s.clearNamespace.run(namespace)),
    clearRange: async (start, end) => s.clearRange.run(start, end),
    namespacesInRange: async (start, end) => s.namespacesInRange.all(start, end),
    keys: async (namespace, after, now, limit) =>
      after === undefined ? s.keysFirst.all(namespace, now, limit) : s.keysAfter.all(namespace, after, now, limit),
    count: async (namespace) => (namespace === undefined ? s.countAll.get() : s.countNamespace.get(namespace)) ?? 0,
    usage: async (namespaces) => s.usage.get(JSON.stringify(namespaces)) ?? { entries: 0, bytes: 0 },
    // The database may be closed by the time a cleanup run gets its turn.
    cleanupBatch: async (now, limit) => (db.open ? s.cleanupBatch.run(now, limit).changes : 0),
  }
}

function toRow(row: SqliteEntryRow): EntryRow {
  return {
    value: row.value,
    tags: parseTags(row.tags),
    createdAt: row.created_at,
    freshUntil: row.fresh_until,
    staleUntil: row.stale_until,
  }
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
