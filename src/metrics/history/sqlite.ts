import type { Database, Statement, Transaction } from 'better-sqlite3'
import type { RollupRow } from './rollup.js'
import type { CounterSum, GaugeValue, HistoryStore, Window } from './store.js'

type InsertParams = [number, number, string, string, string, string, string, number | null, string, string, number]

const IN_WINDOW = `span = $span AND minute >= $from AND minute < $to AND ($tenant IS NULL OR tenant = $tenant)`

const POINTS = `SELECT minute AS step, metric, point_labels AS labels, le, MIN(lower) AS lower, SUM(value) AS value
  FROM tiercache_metric_rollups WHERE kind = 'counter' AND ${IN_WINDOW}
  GROUP BY minute, metric, point_labels, le`

const TOTALS = `SELECT $from AS step, metric, labels, le, MIN(lower) AS lower, SUM(value) AS value
  FROM tiercache_metric_rollups WHERE kind = 'counter' AND ${IN_WINDOW}
  GROUP BY metric, labels, le`

const GAUGES = `SELECT minute AS step, metric, labels, SUM(value) AS total, MAX(value) AS highest
  FROM tiercache_metric_rollups WHERE kind = 'gauge' AND ${IN_WINDOW}
  GROUP BY minute, metric, labels`

// Each instance's newest minute of each gauge, then summed over the instances.
const LATEST_GAUGES = `SELECT $to AS step, metric, labels, SUM(value) AS total, MAX(value) AS highest FROM (
    SELECT metric, labels, value, ROW_NUMBER() OVER (PARTITION BY instance, metric, labels ORDER BY minute DESC) AS newest
    FROM tiercache_metric_rollups WHERE kind = 'gauge' AND ${IN_WINDOW}
  ) WHERE newest = 1 GROUP BY metric, labels`

const INSTANCES = `SELECT COUNT(DISTINCT instance) AS n FROM tiercache_metric_rollups WHERE ${IN_WINDOW}`

interface Bound {
  readonly span: number
  readonly from: number
  readonly to: number
  readonly tenant: string | null
}

/**
 * {@link HistoryStore} on `tiercache_metric_rollups` in the SQLite file the L3 tier uses (created by
 * its migrations, version 4), through statements prepared once. better-sqlite3 is synchronous: a
 * flush holds the event loop for its one transaction (see docs/stats-history.md for the figures).
 */
export class SqliteHistoryStore implements HistoryStore {
  private readonly insertStatement: Statement<InsertParams>
  private readonly pruneStatement: Statement<[number, number]>
  private readonly pointsStatement: Statement<[Bound], CounterSum>
  private readonly totalsStatement: Statement<[Bound], CounterSum>
  private readonly gaugesStatement: Statement<[Bound], GaugeValue>
  private readonly latestStatement: Statement<[Bound], GaugeValue>
  private readonly instancesStatement: Statement<[Bound], { n: number }>
  private readonly writeAll: Transaction<(rows: readonly RollupRow[]) => void>

  /**
   * @param db - a migrated connection (see `openSqliteDatabase`)
   * @param ownsDb - close `db` on {@link close}
   */
  constructor(
    private readonly db: Database,
    private readonly ownsDb: boolean,
  ) {
    this.insertStatement = db.prepare(`INSERT INTO tiercache_metric_rollups
        (span, minute, instance, metric, labels, point_labels, le, lower, tenant, kind, value)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (span, minute, instance, metric, labels, le) DO UPDATE
      SET value = CASE WHEN excluded.kind = 'gauge' THEN excluded.value ELSE value + excluded.value END`)
    this.pruneStatement = db.prepare('DELETE FROM tiercache_metric_rollups WHERE span = ? AND minute < ?')
    this.pointsStatement = db.prepare(POINTS)
    this.totalsStatement = db.prepare(TOTALS)
    this.gaugesStatement = db.prepare(GAUGES)
    this.latestStatement = db.prepare(LATEST_GAUGES)
    this.instancesStatement = db.prepare(INSTANCES)
    this.writeAll = db.transaction((rows: readonly RollupRow[]) => {
      for (const r of rows) {
        this.insertStatement.run(r.span, r.minute, r.instance, r.metric, r.labels, r.pointLabels, r.le, r.lower, r.tenant, r.kind, r.value)
      }
    })
  }

  async write(rows: readonly RollupRow[]): Promise<void> {
    if (rows.length > 0) this.writeAll.immediate(rows)
  }

  async prune(span: number, before: number): Promise<number> {
    return this.pruneStatement.run(span, before).changes
  }

  async points(window: Window): Promise<CounterSum[]> {
    return this.pointsStatement.all(bind(window))
  }

  async totals(window: Window): Promise<CounterSum[]> {
    return this.totalsStatement.all(bind(window))
  }

  async gauges(window: Window): Promise<GaugeValue[]> {
    return this.gaugesStatement.all(bind(window))
  }

  async latestGauges(since: number, until: number, tenant?: string): Promise<GaugeValue[]> {
    return this.latestStatement.all(bind({ stepMs: 60_000, from: since, to: until, ...(tenant === undefined ? {} : { tenant }) }))
  }

  async instances(window: Window): Promise<number> {
    return this.instancesStatement.get(bind(window))?.n ?? 0
  }

  async close(): Promise<void> {
    if (this.ownsDb && this.db.open) this.db.close()
  }
}

function bind(window: Window): Bound {
  return { span: window.stepMs, from: window.from, to: window.to, tenant: window.tenant ?? null }
}
