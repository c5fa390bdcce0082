import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type Sql } from 'postgres'
import { z } from 'zod'
import { encodeValue, entryFromRecord } from '../../../core/codec.js'
import type { Entry } from '../../../core/entry.js'
import type { KeyPage, Tier, TierCapabilities } from '../../tier.js'
import { parseOptions } from '../../../core/options.js'
import { PeriodicTask, cleanupOptionsShape, deleteInBatches, prefixEnd } from '../common.js'
import { migratePostgres } from '../../../sql/postgres/migrate.js'
import { type PostgresQueries, prepareQueries } from './queries.js'

export { POSTGRES_MIGRATIONS_FOLDER } from '../../../sql/postgres/migrate.js'

/** Options of the PostgreSQL tier. */
export interface PostgresTierOptions {
  /** Connection URL, `postgres://user:password@host:port/database?...`. Never logged or echoed. */
  readonly url: string
  /** Period of the background deletion of expired rows, in ms; 0 disables it. @default 60_000 */
  readonly cleanupIntervalMs?: number
  /** Rows deleted per cleanup statement. @default 1000 */
  readonly cleanupBatchSize?: number
  /** Most connections in the pool. @default 10 */
  readonly maxConnections?: number
}

const optionsSchema = z.object({
  url: z.string().regex(/^postgres(?:ql)?:\/\//, 'must be a postgres:// or postgresql:// URL'),
  ...cleanupOptionsShape,
  maxConnections: z.number().int().min(1).max(1000).default(10),
})

/** A row as the read statements return it. */
interface EntryRow {
  readonly value: Uint8Array
  readonly tags: string[]
  readonly createdAt: number
  readonly freshUntil: number
  readonly staleUntil: number
}

/**
 * Durable, shared tier (L3) on PostgreSQL, through a postgres.js pool and statements prepared once
 * (see `queries.ts`). Entries live in `tiercache_entries`, tags in a GIN-indexed `text[]` column.
 * A write resolves once committed. Expired rows are dropped when read and by a periodic cleanup;
 * see {@link PostgresTier.cleanupExpired}.
 */
export class PostgresTier implements Tier {
  readonly kind = 'postgres'
  readonly capabilities: TierCapabilities = { shared: true, durable: true }
  private readonly queries: PostgresQueries
  private readonly cleanup: PeriodicTask
  private closing: Promise<void> | undefined

  /**
   * Use {@link createPostgresTier}, which validates the options and migrates the schema first.
   * @param client - the pool this tier owns and ends on {@link close}
   */
  constructor(
    private readonly client: Sql,
    private readonly options: Readonly<Required<PostgresTierOptions>>,
  ) {
    this.queries = prepareQueries(drizzle({ client }))
    this.cleanup = new PeriodicTask(options.cleanupIntervalMs, () => this.cleanupExpired())
    this.cleanup.start()
  }

  async get(namespace: string, key: string): Promise<Entry | undefined> {
    const [row] = await this.queries.get.execute({ namespace, key })
    if (row === undefined) return undefined
    const now = Date.now()
    if (row.staleUntil <= now) {
      this.dropExpired(this.queries.deleteExpired.execute({ namespace, key, now }))
      return undefined
    }
    return toEntry(namespace, key, row)
  }

  async getMany(namespace: string, keys: readonly string[]): Promise<(Entry | undefined)[]> {
    if (keys.length === 0) return []
    const rows = await this.queries.getMany.execute({ namespace, keys })
    const now = Date.now()
    const live = new Map<string, EntryRow>()
    let sawExpired = false
    for (const row of rows) {
      if (row.staleUntil <= now) sawExpired = true
      else live.set(row.key, row)
    }
    if (sawExpired) this.dropExpired(this.queries.deleteManyExpired.execute({ namespace, keys, now }))
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
    await this.queries.upsert.execute({
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
    const result = await this.queries.delete.execute({ namespace, key })
    return result.count > 0
  }

  async deleteByTags(tags: readonly string[], namespace?: string): Promise<number> {
    if (tags.length === 0) return 0
    const result =
      namespace === undefined
        ? await this.queries.deleteByTagsEverywhere.execute({ tags })
        : await this.queries.deleteByTagsInNamespace.execute({ namespace, tags })
    return result.count
  }

  async clear(namespace?: string): Promise<void> {
    if (namespace === undefined) await this.queries.clearAll.execute()
    else await this.queries.clearNamespace.execute({ namespace })
  }

  async rewrite(entry: Entry, payload: Uint8Array): Promise<boolean> {
    if (entry.payload === undefined) return false
    const rows = await this.queries.rewrite.execute({
      namespace: entry.namespace,
      key: entry.key,
      payload: Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength),
      expected: Buffer.from(entry.payload.buffer, entry.payload.byteOffset, entry.payload.byteLength),
    })
    return rows.length > 0
  }

  async clearPrefix(prefix: string): Promise<void> {
    await this.queries.clearRange.execute({ start: prefix, end: prefixEnd(prefix) })
  }

  async namespaces(prefix: string): Promise<string[]> {
    const rows = await this.queries.namespacesInRange.execute({ start: prefix, end: prefixEnd(prefix) })
    return rows.map((row) => row.namespace)
  }

  /**
   * {@link Tier.keys} in byte order (the columns' "C" collation: code point order under UTF-8), by a
   * range scan of the primary key index. Expired rows are skipped, not removed: the cleanup does that.
   */
  async keys(namespace: string, page: KeyPage): Promise<string[]> {
    const now = Date.now()
    const rows =
      page.after === undefined
        ? await this.queries.keysFirst.execute({ namespace, now, limit: page.limit })
        : await this.queries.keysAfter.execute({ namespace, after: page.after, now, limit: page.limit })
    return rows.map((row) => row.key)
  }

  async count(namespace?: string): Promise<number> {
    const [row] =
      namespace === undefined
        ? await this.queries.countAll.execute()
        : await this.queries.countNamespace.execute({ namespace })
    return row?.count ?? 0
  }

  /**
   * Deletes every row whose `staleUntil` has passed, `cleanupBatchSize` rows per statement (each its
   * own short transaction), yielding between statements. Runs periodically on its own; callable at
   * any time, from any number of processes.
   * @returns the number of entries removed
   */
  async cleanupExpired(): Promise<number> {
    const now = Date.now()
    return deleteInBatches(
      async (limit) => (await this.queries.cleanupBatch.execute({ now, limit })).count,
      this.options.cleanupBatchSize,
      () => this.closing !== undefined,
    )
  }

  /**
   * Stops the cleanup (waiting for a run in progress), then ends the pool, letting queries in flight
   * finish (up to 5 s). Idempotent.
   */
  async close(): Promise<void> {
    this.closing ??= this.cleanup.stop().then(() => this.client.end({ timeout: 5 }))
    return this.closing
  }

  // A lazy delete is an optimisation: the read has answered its miss already, and should the delete
  // fail the periodic cleanup removes the row. Never leave its rejection unhandled.
  private dropExpired(deletion: Promise<unknown>): void {
    deletion.catch(() => undefined)
  }
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

/**
 * Validates the options, applies pending schema migrations (serialized across processes by an
 * advisory lock), opens the pool and starts the periodic cleanup.
 *
 * @throws InvalidOptionsError when the options are invalid
 * @throws TierUnavailableError when PostgreSQL cannot be reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function createPostgresTier(options: PostgresTierOptions): Promise<PostgresTier> {
  const parsed = parseOptions(optionsSchema, options, 'PostgreSQL tier')
  await migratePostgres(parsed.url)
  const client = postgres(parsed.url, {
    max: parsed.maxConnections,
    onnotice: () => {},
    connection: { application_name: 'tiercache' },
  })
  return new PostgresTier(client, parsed)
}
