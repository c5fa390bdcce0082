import type { Sql } from 'postgres'
import { InvalidOptionsError, TierUnavailableError, TiercacheError } from '../../errors.js'
import type { VectorIndex } from './vector-index.js'
import { type VectorRecord, TopK, checkK, checkName, dot, fromBytes, toBytes, unitCopy } from './vectors.js'

/** Options of {@link postgresVectorIndex}. */
export interface PostgresVectorIndexOptions {
  /** A postgres.js pool; it stays the caller's to end. */
  readonly sql: Sql
  /** The table, created if absent: a bare identifier, or `schema.table`. @default 'tiercache_ai_vectors' */
  readonly table?: string
  /** Rows fetched per round trip while scanning a partition (about 4 KiB each in transit at 512 dimensions: bytea travels as hex). @default 5000 */
  readonly scanBatch?: number
}

const QUALIFIED_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}(\.[A-Za-z_][A-Za-z0-9_]{0,62})?$/
/** Rows per INSERT of `addMany`: 4 parameters each, well under PostgreSQL's 65535. */
const INSERT_BATCH = 1000

/**
 * A persistent, exact {@link VectorIndex} in PostgreSQL, for the SQL tier (L3): one row per record
 * in `tiercache_ai_vectors(partition text, id text, vector bytea, created_at bigint, primary key
 * (partition, id))`, vectors as normalised little-endian float32, `created_at` in epoch ms. The
 * table is created on first use (`create table if not exists`). `nearest` streams the partition's
 * rows with a cursor (`scanBatch` rows a round trip) and computes the dot products in JS, so its
 * cost grows with the partition: every vector crosses the network (2 KiB at 512 dimensions).
 *
 * Where an extension would plug in: with pgvector, a `vector vector(<dimensions>)` column and
 * `order by vector <=> $1 limit $k` within `where partition = $2` (an HNSW index for approximate
 * search, or none for exact) moves the scan into the server; this index keeps the exact scan
 * without extensions, the reference an approximate one is checked against.
 * @throws InvalidOptionsError (`TC_INVALID_OPTIONS`) for a table name that is not an identifier or `schema.table`, or a bad scanBatch
 * @throws (from every method) TierUnavailableError (`TC_TIER_UNAVAILABLE`) when PostgreSQL fails, with the driver's error as `cause`
 */
export function postgresVectorIndex(options: PostgresVectorIndexOptions): VectorIndex {
  const { sql } = options
  const table = options.table ?? 'tiercache_ai_vectors'
  const scanBatch = options.scanBatch ?? 5000
  if (!QUALIFIED_NAME.test(table)) throw new InvalidOptionsError('postgresVectorIndex: table must be an identifier or schema.table')
  if (!Number.isInteger(scanBatch) || scanBatch < 1) throw new InvalidOptionsError('postgresVectorIndex: scanBatch must be a positive integer')
  const name = sql(table)

  let ready: Promise<void> | undefined
  const ensureTable = (): Promise<void> => {
    ready ??= (async () => {
      await sql`create table if not exists ${name} (
        partition text not null, id text not null, vector bytea not null, created_at bigint not null,
        primary key (partition, id))`
    })().catch((error: unknown) => {
      ready = undefined
      throw error
    })
    return ready
  }
  const run = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      await ensureTable()
      return await fn()
    } catch (error) {
      if (error instanceof TiercacheError) throw error
      throw new TierUnavailableError(`the PostgreSQL vector index failed to ${what}`, { cause: error })
    }
  }
  const dimensionsOf = async (partition: string, db: Sql = sql): Promise<number | undefined> => {
    const rows = await db<{ n: number }[]>`select length(vector) / 4 as n from ${name} where partition = ${partition} limit 1`
    return rows[0]?.n
  }

  const insertAll = async (partition: string, records: readonly VectorRecord[]): Promise<void> => {
    checkName(partition, 'partition')
    for (const record of records) checkName(record.id, 'id')
    if (records.length === 0) return
    await run('add vectors', () =>
      sql.begin(async (tx) => {
        let dimensions = await dimensionsOf(partition, tx as unknown as Sql)
        const now = Date.now()
        // The last of two records of one id wins, as it would one add at a time (and one INSERT may not touch a row twice).
        const unique = new Map<string, Buffer>()
        for (const record of records) {
          const vector = unitCopy(record.vector, dimensions)
          dimensions = vector.length
          unique.delete(record.id)
          unique.set(record.id, toBytes(vector))
        }
        const rows = [...unique].map(([id, vector]) => ({ partition, id, vector, created_at: now }))
        for (let i = 0; i < rows.length; i += INSERT_BATCH) {
          await tx`insert into ${name} ${sql(rows.slice(i, i + INSERT_BATCH), 'partition', 'id', 'vector', 'created_at')}
            on conflict (partition, id) do update set vector = excluded.vector, created_at = excluded.created_at`
        }
      }),
    )
  }

  return {
    add: (partition, record) => insertAll(partition, [record]),
    addMany: (partition, records) => insertAll(partition, records),
    async nearest(partition, vector, k) {
      checkName(partition, 'partition')
      checkK(k)
      return run('search', async () => {
        const dimensions = await dimensionsOf(partition)
        if (dimensions === undefined) return []
        const query = unitCopy(vector, dimensions)
        const scratch = new Float32Array(dimensions)
        const top = new TopK(k)
        await sql<{ id: string; vector: Uint8Array }[]>`select id, vector from ${name} where partition = ${partition}`.cursor(scanBatch, (rows) => {
          for (const row of rows) {
            const stored = fromBytes(row.vector, scratch)
            if (stored !== undefined) top.offer(row.id, dot(query, stored))
          }
        })
        return top.result()
      })
    },
    async remove(partition, id) {
      await run('remove a vector', () => sql`delete from ${name} where partition = ${partition} and id = ${id}`)
    },
    async clear(partition) {
      await run('clear', () => (partition === undefined ? sql`delete from ${name}` : sql`delete from ${name} where partition = ${partition}`))
    },
    async size(partition) {
      const rows = await run('count', () =>
        partition === undefined ? sql<{ n: string }[]>`select count(*) as n from ${name}` : sql<{ n: string }[]>`select count(*) as n from ${name} where partition = ${partition}`,
      )
      return Number(rows[0]?.n ?? 0)
    },
    async close() {},
  }
}
