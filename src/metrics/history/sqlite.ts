import type { Database, Statement, Transaction } from 'better-sqlite3'
import type { RollupRow } from './rollup.js'
import type { CounterSum, GaugeValue, HistoryStore, Window } from './store.js'

type InsertParams = [number, string, string, string, string, number | null, string, string, number]

// better-sqlite3 binds numbers as REAL: the step is cast, so that the division is an integer one.
const STEP = '(minute / CAST($step AS INTEGER)) * CAST($step AS INTEGER)'

const COUNTERS = `SELECT ${STEP} AS step, metric, labels, le, MIN(lower) AS lower, SUM(value) AS value
  FROM tiercache_metric_rollups
  WHERE kind = 'counter' AND minute >= $from AND minute < $to AND ($tenant IS NULL OR tenant = $tenant)
  GROUP BY step, metric, labels, le`

const PER_MINUTE = `SELECT minute, metric, labels, SUM(value) AS total, MAX(value) AS highest
  FROM tiercache_metric_rollups
  WHERE kind = 'gauge' AND minute >= $from AND minute < $to AND ($tenant IS NULL OR tenant = $tenant)
  GROUP BY minute, metric, labels`

const GAUGES = `SELECT ${STEP} AS step, metric, labels, AVG(total) AS total, AVG(highest) AS highest
  FROM (${PER_MINUTE}) GROUP BY step, metric, labels`

const LATEST_GAUGES = `SELECT minute AS step, metric, labels, total, highest FROM (${PER_MINUTE})
  WHERE minute = (SELECT MAX(minute) FROM tiercache_metric_rollups
    WHERE kind = 'gauge' AND minute >= $from AND minute < $to AND ($tenant IS NULL OR tenant = $tenant))`

// The functionally dependent tenant and kind are grouped too, as PostgreSQL requires of the same query.
const HOURS = `SELECT (minute / 3600000) * 3600000 AS minute, instance, metric, labels, le, MIN(lower) AS lower, tenant, kind,
    CASE WHEN kind = 'gauge' THEN AVG(value) ELSE SUM(value) END AS value
  FROM tiercache_metric_rollups WHERE minute >= ? AND minute < ?
  GROUP BY 1, instance, metric, labels, le, tenant, kind`

const INSTANCES = `SELECT COUNT(DISTINCT instance) AS n FROM tiercache_metric_rollups
  WHERE minute >= $from AND minute < $to AND ($tenant IS NULL OR tenant = $tenant)`

interface Bound {
  readonly from: number
  readonly to: number
  readonly step: number
  readonly tenant: string | null
}

/**
 * {@link HistoryStore} on `tiercache_metric_rollups` in the SQLite file the L3 tier uses (created by
 * its migrations, version 4), through statements prepared once. better-sqlite3 is synchronous: a
 * flush holds the event loop for its one transaction, about a millisecond for a few hundred rows.
 */
export class SqliteHistoryStore implements HistoryStore {
  private readonly insertStatement: Statement<InsertParams>
  private readonly pruneStatement: Statement<[number]>
  private readonly countersStatement: Statement<[Bound], CounterSum>
  private readonly gaugesStatement: Statement<[Bound], GaugeValue>
  private readonly latestStatement: Statement<[Omit<Bound, 'step'>], GaugeValue>
  private readonly instancesStatement: Statement<[Omit<Bound, 'step'>], { n: number }>
  private readonly writeAll: Transaction<(rows: readonly RollupRow[]) => void>
  private readonly compactAll: Transaction<(from: number, to: number) => number>

  /**
   * @param db - a migrated connection (see `openSqliteDatabase`)
   * @param ownsDb - close `db` on {@link close}
   */
  constructor(
    private readonly db: Database,
    private readonly ownsDb: boolean,
  ) {
    this.insertStatement = db.prepare(`INSERT INTO tiercache_metric_rollups (minute, instance, metric, labels, le, lower, tenant, kind, value)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (minute, instance, metric, labels, le) DO UPDATE
      SET value = CASE WHEN excluded.kind = 'gauge' THEN excluded.value ELSE value + excluded.value END`)
    this.pruneStatement = db.prepare('DELETE FROM tiercache_metric_rollups WHERE minute < ?')
    this.countersStatement = db.prepare(COUNTERS)
    this.gaugesStatement = db.prepare(GAUGES)
    this.latestStatement = db.prepare(LATEST_GAUGES)
    this.instancesStatement = db.prepare(INSTANCES)
    this.writeAll = db.transaction((rows: readonly RollupRow[]) => {
      for (const r of rows) this.insertStatement.run(r.minute, r.instance, r.metric, r.labels, r.le, r.lower, r.tenant, r.kind, r.value)
    })
    const count = db.prepare<[number, number], { n: number }>('SELECT COUNT(*) AS n FROM tiercache_metric_rollups WHERE minute >= ? AND minute < ?')
    const hours = db.prepare<[number, number], RollupRow>(HOURS)
    const remove = db.prepare<[number, number]>('DELETE FROM tiercache_metric_rollups WHERE minute >= ? AND minute < ?')
    this.compactAll = db.transaction((from: number, to: number) => {
      const before = count.get(from, to)?.n ?? 0
      const folded = hours.all(from, to)
      if (folded.length === before) return 0
      remove.run(from, to)
      this.writeAll(folded)
      return before - folded.length
    })
  }

  async write(rows: readonly RollupRow[]): Promise<void> {
    if (rows.length > 0) this.writeAll.immediate(rows)
  }

  async prune(before: number): Promise<number> {
    return this.pruneStatement.run(before).changes
  }

  async compact(from: number, to: number): Promise<number> {
    // IMMEDIATE takes the write lock before reading, so two processes never fold the same rows twice.
    return this.compactAll.immediate(from, to)
  }

  async counters(window: Window): Promise<CounterSum[]> {
    return this.countersStatement.all(bind(window))
  }

  async gauges(window: Window): Promise<GaugeValue[]> {
    return this.gaugesStatement.all(bind(window))
  }

  async latestGauges(window: Window): Promise<GaugeValue[]> {
    const { step: _step, ...bound } = bind(window)
    return this.latestStatement.all(bound)
  }

  async instances(window: Window): Promise<number> {
    const { step: _step, ...bound } = bind(window)
    return this.instancesStatement.get(bound)?.n ?? 0
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close()
  }
}

function bind(window: Window): Bound {
  return { from: window.from, to: window.to, step: window.stepMs, tenant: window.tenant ?? null }
}
