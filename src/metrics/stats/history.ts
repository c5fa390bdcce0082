/**
 * The stats history as the server uses it: recorded every minute from the cache's instruments by the
 * history's recorder (src/metrics/history), and read back by range as metric families
 * (history-window.ts), on one connection of its own to the SQL tier's database.
 */
import { type StorageLocation, parseStorageLocation } from '../../security/credentials/location.js'
import { connectPostgresStorage, openSqliteStorage } from '../../security/credentials/storage.js'
import { type MetricsHistory, type MetricsHistoryOptions, createMetricsHistory } from '../history/index.js'
import type { HistoryStore } from '../history/store.js'
import type { HistoryWindow } from './build.js'
import { type WindowQuery, readWindow } from './history-window.js'

/** A stats history that records and reads: what `buildServer({ stats: { history } })` takes. */
export interface StatsHistory {
  /** The instance id this process writes its rows under. */
  readonly instance: string
  /**
   * The families' increase over a range and per step, every instance sharing the database summed.
   * @throws TierUnavailableError when the database fails
   */
  window(query: WindowQuery): Promise<HistoryWindow>
  /** Records now rather than at the next minute; never rejects (failures go to `onError`). */
  flush(): Promise<number>
  /** Stops recording, writes a last flush and closes the connection. Idempotent. */
  close(): Promise<void>
}

/** Options of {@link openStatsHistory}: those of the history (`instance`, `retention`, `onError`, ...). */
export type StatsHistoryOptions = MetricsHistoryOptions

/**
 * Opens the stats history in the database at `location` (the cache's `l3` value: `{ sqlite: path }`
 * or `{ postgres: url }`), recording `options.source` (usually `() => cache.metrics()`) every minute.
 *
 * @example
 * const history = await openStatsHistory({ sqlite: './.tiercache/cache.db' }, { source: () => cache.metrics() })
 * const app = await buildServer({ cache, credentials, stats: { history } })
 * @throws InvalidOptionsError when `location` or an option is malformed
 * @throws TierUnavailableError when the database cannot be opened or reached
 * @throws MigrationFailedError when the schema cannot be brought up to date
 */
export async function openStatsHistory(location: StorageLocation, options: StatsHistoryOptions = {}): Promise<StatsHistory> {
  const parsed = parseStorageLocation(location, 'stats history storage')
  let store: HistoryStore
  if ('sqlite' in parsed) {
    const [db, { SqliteHistoryStore }] = await Promise.all([openSqliteStorage(parsed.sqlite), import('../history/sqlite.js')])
    store = new SqliteHistoryStore(db, true)
  } else {
    const [client, { PostgresHistoryStore }] = await Promise.all([
      connectPostgresStorage(parsed.postgres, 'tiercache-history', options.maxConnections ?? 2),
      import('../history/postgres.js'),
    ])
    store = new PostgresHistoryStore(client, true)
  }
  try {
    return statsHistoryOver(store, createMetricsHistory(store, options), options.now)
  } catch (error) {
    await store.close()
    throw error
  }
}

/** A {@link StatsHistory} reading `store`, recording through `history` (which owns the store). */
export function statsHistoryOver(store: HistoryStore, history: MetricsHistory, now: () => number = Date.now): StatsHistory {
  return {
    instance: history.instance,
    window: (query) => readWindow(store, { now: now(), ...query }),
    flush: () => history.flush(),
    close: () => history.close(),
  }
}
