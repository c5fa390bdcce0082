import type { Database } from 'better-sqlite3'
import { InvalidOptionsError } from '../../errors.js'
import type { VectorIndex } from './vector-index.js'
import { type VectorRecord, TopK, checkK, checkName, dot, fromBytes, toBytes, unitCopy } from './vectors.js'

/** Options of {@link sqliteVectorIndex}. */
export interface SqliteVectorIndexOptions {
  /** An open better-sqlite3 database (the SQLite tier's file, or one of its own); it stays the caller's to close. */
  readonly database: Database
  /** The table, created if absent. @default 'tiercache_ai_vectors' */
  readonly table?: string
}

/** A bare SQL identifier: the table name is spliced into statements, so nothing else is accepted. */
export const TABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/

/**
 * A persistent, exact {@link VectorIndex} in SQLite, for the SQL tier (L3): one row per record in
 * `tiercache_ai_vectors(partition TEXT, id TEXT, vector BLOB, created_at INTEGER, PRIMARY KEY
 * (partition, id))`, vectors as normalised little-endian float32, `created_at` in epoch ms.
 * `nearest` reads the partition's rows through the primary key and computes the dot products in
 * JS: the driver reads about 4 µs a row of 512 dimensions, so some 40 ms per 10k records (see bench/suites/ai-semantic.js),
 * fine up to tens of thousands of records per partition.
 *
 * Where an extension would plug in: with sqlite-vec loaded (`database.loadExtension(...)`), a
 * `vec0` virtual table with a `partition` partition-key column answers `WHERE embedding MATCH ?
 * AND partition = ? AND k = ?` without reading every row; this exact scan stays the reference it
 * is checked against.
 *
 * The table is created at once (synchronously). Calls run synchronously inside their promise, as
 * better-sqlite3 does.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a table name that is not a bare SQL identifier
 * @throws the driver's error when the table cannot be created
 */
export function sqliteVectorIndex(options: SqliteVectorIndexOptions): VectorIndex {
  const { database } = options
  const table = options.table ?? 'tiercache_ai_vectors'
  if (!TABLE_NAME.test(table)) throw new InvalidOptionsError('sqliteVectorIndex: table must be a bare SQL identifier')
  database.exec(`CREATE TABLE IF NOT EXISTS "${table}" (
    partition TEXT NOT NULL, id TEXT NOT NULL, vector BLOB NOT NULL, created_at INTEGER NOT NULL,
    PRIMARY KEY (partition, id))`)
  const statements = {
    upsert: database.prepare(`INSERT INTO "${table}" (partition, id, vector, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (partition, id) DO UPDATE SET vector = excluded.vector, created_at = excluded.created_at`),
    dimensions: database.prepare(`SELECT length(vector) / 4 AS n FROM "${table}" WHERE partition = ? LIMIT 1`).pluck(),
    scan: database.prepare(`SELECT id, vector FROM "${table}" WHERE partition = ?`).raw(),
    remove: database.prepare(`DELETE FROM "${table}" WHERE partition = ? AND id = ?`),
    clearOne: database.prepare(`DELETE FROM "${table}" WHERE partition = ?`),
    clearAll: database.prepare(`DELETE FROM "${table}"`),
    sizeOne: database.prepare(`SELECT count(*) FROM "${table}" WHERE partition = ?`).pluck(),
    sizeAll: database.prepare(`SELECT count(*) FROM "${table}"`).pluck(),
  }

  const dimensionsOf = (partition: string): number | undefined => {
    const n = statements.dimensions.get(partition) as number | undefined
    return typeof n === 'number' ? n : undefined
  }
  const insertAll = database.transaction((partition: string, records: readonly VectorRecord[]) => {
    checkName(partition, 'partition')
    let dimensions = dimensionsOf(partition)
    const now = Date.now()
    for (const record of records) {
      checkName(record.id, 'id')
      const vector = unitCopy(record.vector, dimensions)
      dimensions = vector.length
      statements.upsert.run(partition, record.id, toBytes(vector), now)
    }
  })

  return {
    async add(partition, record) {
      insertAll(partition, [record])
    },
    async addMany(partition, records) {
      insertAll(partition, records)
    },
    async nearest(partition, vector, k) {
      checkName(partition, 'partition')
      checkK(k)
      const dimensions = dimensionsOf(partition)
      if (dimensions === undefined) return []
      const query = unitCopy(vector, dimensions)
      const scratch = new Float32Array(dimensions)
      const top = new TopK(k)
      for (const row of statements.scan.iterate(partition) as IterableIterator<[string, Uint8Array]>) {
        const stored = fromBytes(row[1], scratch)
        if (stored !== undefined) top.offer(row[0], dot(query, stored))
      }
      return top.result()
    },
    async remove(partition, id) {
      statements.remove.run(partition, id)
    },
    async clear(partition) {
      if (partition === undefined) statements.clearAll.run()
      else statements.clearOne.run(partition)
    },
    async size(partition) {
      return Number(partition === undefined ? statements.sizeAll.get() : statements.sizeOne.get(partition))
    },
    async close() {},
  }
}
