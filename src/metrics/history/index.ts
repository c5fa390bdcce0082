/**
 * The stats history: per-minute rollups of a cache's instruments in the SQL tier's database, so
 * that ranges of up to 30 days answer for every instance sharing that database, across restarts.
 * See docs/stats-history.md.
 */
import { randomBytes } from 'node:crypto'
import { z } from 'zod'
import type { MetricsSnapshot } from '../../cache/instruments/snapshot.js'
import { toMs } from '../../core/duration.js'
import { parseOptions } from '../../core/options.js'
import { type StorageLocation, parseStorageLocation } from '../../security/credentials/location.js'
import { connectPostgresStorage, openSqliteStorage } from '../../security/credentials/storage.js'
import { type HistoryQuery, type HistoryReport, queryHistory } from './query.js'
import { Recorder } from './recorder.js'
import type { HistoryStore } from './store.js'

export type { GaugeSeries, HistoryFigures, NamespaceFigures, SeriesValue, TierFigures } from './figures.js'
export type { HistoryPoint, HistoryQuery, HistoryReport, HistoryTotals } from './query.js'
export { type Quantiles, histogramQuantile } from './quantile.js'
export { HISTORY_RANGES, type HistoryRange } from './ranges.js'
export type { CounterSum, GaugeValue, HistoryStore, Window } from './store.js'

/** Options of {@link openMetricsHistory} and {@link createMetricsHistory}. */
export interface MetricsHistoryOptions {
  /**
   * Where snapshots come from, usually `() => cache.metrics()`: counters are read as monotonic since
   * the source began (a decrease is taken for a restart of it). Without a source the history only
   * reads, as a CLI or a dashboard process would.
   */
  readonly source?: () => Promise<MetricsSnapshot>
  /**
   * This process's id in the rows it writes, 1 to 128 characters. Every instance sharing the
   * database needs its own; one restarted with the same id adds to its own rows (two that drew the
   * same id would still add up, only their gauges would mix). @default 12 random hex digits
   */
  readonly instance?: string
  /** How long rows are kept; older minutes are deleted at most once an hour. @default '30d' */
  readonly retention?: number | string
  /** Flush at every minute boundary on a timer that does not keep the process alive. @default true */
  readonly timer?: boolean
  /**
   * Told of each failure to snapshot, write or prune (TC_TIER_UNAVAILABLE with the database's error
   * as `cause`, or the source's error); it must not throw (what it throws is ignored). @default ignore
   */
  readonly onError?: (error: Error) => void
  /** Clock, epoch ms: decides the minute a flush is stored in, and a query's default end. @default Date.now */
  readonly now?: () => number
  /** Pool size, PostgreSQL only. @default 2 */
  readonly maxConnections?: number
}

/** A history opened on a database: records a source's minutes, and reads ranges of every instance. */
export interface MetricsHistory {
  /** The instance id this history writes under. */
  readonly instance: string
  /**
   * Snapshots the source and writes what changed since the last written flush, now rather than at
   * the next minute. Never rejects: failures go to `onError`.
   * @returns rows written (0 without a source, after a failure, or once closed)
   */
  flush(): Promise<number>
  /**
   * Totals and a series over a range, summed over every instance that shares the database.
   * @throws InvalidOptionsError when the query is malformed
   * @throws TierUnavailableError when the database fails
   */
  query(query: HistoryQuery): Promise<HistoryReport>
  /** Stops the timer, writes a last flush, then closes the history's own connection. Idempotent. */
  close(): Promise<void>
}

const optionsSchema = z
  .object({
    source: z.custom<() => Promise<MetricsSnapshot>>((value) => typeof value === 'function', 'must be a function').optional(),
    instance: z.string().min(1).max(128).optional(),
    retention: z
      .union([z.number(), z.string()])
      .transform((input, ctx) => {
        try {
          return toMs(input, 'retention')
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message })
          return z.NEVER
        }
      })
      .refine((ms) => ms >= 60_000, 'must be at least a minute')
      .optional(),
    timer: z.boolean().optional(),
    onError: z.custom<(error: Error) => void>((value) => typeof value === 'function', 'must be a function').optional(),
    now: z.custom<() => number>((value) => typeof value === 'function', 'must be a function').optional(),
    maxConnections: z.number().int().min(1).max(100).optional(),
  })
  .strict()

/** The default retention: 30 days, the longest range. */
export const DEFAULT_HISTORY_RETENTION_MS = 30 * 24 * 3_600_000

/**
 * Opens the stats history in the database at `location`, the same value as the cache's `l3` option
 * (`{ sqlite: path }` or `{ postgres: url }`), on a connection of its own; the table is created by
 * the tier's migrations, run here if no one has yet. With a `source`, it flushes every minute.
 *
 * @example
 * const history = await openMetricsHistory({ sqlite: './.tiercache/cache.db' }, { source: () => cache.metrics() })
 * const { totals } = await history.query({ range: '24h' })
 * @throws InvalidOptionsError when `location` or an option is malformed
 * @throws TierUnavailableError when the database cannot be opened or reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function openMetricsHistory(location: StorageLocation, options: MetricsHistoryOptions = {}): Promise<MetricsHistory> {
  const parsed = parseStorageLocation(location, 'stats history storage')
  const { maxConnections = 2 } = parseOptions(optionsSchema, options, 'stats history')
  if ('sqlite' in parsed) {
    const [db, { SqliteHistoryStore }] = await Promise.all([openSqliteStorage(parsed.sqlite), import('./sqlite.js')])
    return createMetricsHistory(new SqliteHistoryStore(db, true), options)
  }
  const [client, { PostgresHistoryStore }] = await Promise.all([
    connectPostgresStorage(parsed.postgres, 'tiercache-history', maxConnections),
    import('./postgres.js'),
  ])
  return createMetricsHistory(new PostgresHistoryStore(client, true), options)
}

/**
 * The {@link MetricsHistory} over `store`, which it owns (closes on close).
 * @throws InvalidOptionsError when an option is malformed
 */
export function createMetricsHistory(store: HistoryStore, options: MetricsHistoryOptions = {}): MetricsHistory {
  const { source, instance = randomBytes(6).toString('hex'), retention = DEFAULT_HISTORY_RETENTION_MS, timer = true, onError, now = Date.now } = parseOptions(
    optionsSchema,
    options,
    'stats history',
  )
  const report = (error: Error): void => {
    try {
      onError?.(error)
    } catch {
      // onError must not throw; if it does, recording still must not.
    }
  }
  const recorder = source === undefined ? undefined : new Recorder(store, { source, instance, retentionMs: retention, timer, now, report })
  let closing: Promise<void> | undefined
  return {
    instance,
    flush: () => recorder?.flush() ?? Promise.resolve(0),
    query: (query) => queryHistory(store, query, now),
    close() {
      closing ??= (recorder?.close() ?? Promise.resolve()).then(() => store.close())
      return closing
    },
  }
}
