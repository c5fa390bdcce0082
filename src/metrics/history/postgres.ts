import { type SQL, and, eq, lt, sql } from 'drizzle-orm'
import { type PostgresJsDatabase, drizzle } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { metricRollups } from '../../sql/postgres/schema.js'
import type { RollupRow } from './rollup.js'
import type { CounterSum, GaugeValue, HistoryStore, Window } from './store.js'

// 11 parameters a row: 1,000 rows stay far below PostgreSQL's 65,535 parameters per statement.
const ROWS_PER_STATEMENT = 1_000

type Raw = Record<string, unknown>

/**
 * {@link HistoryStore} on `tiercache_metric_rollups` in PostgreSQL (migration 0004), through drizzle
 * on a postgres.js pool. postgres.js reads `bigint` results as strings; they are converted here.
 */
export class PostgresHistoryStore implements HistoryStore {
  private readonly db: PostgresJsDatabase

  /**
   * @param client - a pool on a migrated database (see `migratePostgres`)
   * @param ownsClient - end `client` on {@link close}
   */
  constructor(
    private readonly client: Sql,
    private readonly ownsClient: boolean,
  ) {
    this.db = drizzle({ client })
  }

  async write(rows: readonly RollupRow[]): Promise<void> {
    if (rows.length === 0) return
    // Rows in key order, so that two writers of the same rows (an instance id reused at once) take
    // their row locks in the same order and cannot deadlock.
    const sorted = [...rows].sort(byKey)
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < sorted.length; i += ROWS_PER_STATEMENT) {
        await tx
          .insert(metricRollups)
          .values(sorted.slice(i, i + ROWS_PER_STATEMENT))
          .onConflictDoUpdate({
            target: [metricRollups.span, metricRollups.minute, metricRollups.instance, metricRollups.metric, metricRollups.labels, metricRollups.le],
            set: { value: sql`case when excluded.kind = 'gauge' then excluded.value else ${metricRollups.value} + excluded.value end` },
          })
      }
    })
  }

  async prune(span: number, before: number): Promise<number> {
    const result = await this.db.delete(metricRollups).where(and(eq(metricRollups.span, span), lt(metricRollups.minute, before)))
    return result.count
  }

  async points(window: Window): Promise<CounterSum[]> {
    const rows = await this.db.execute<Raw>(sql`
      select minute as step, metric, point_labels as labels, le, min(lower) as lower, sum(value) as value
      from tiercache_metric_rollups where kind = 'counter' and ${within(window)}
      group by minute, metric, point_labels, le`)
    return rows.map(counterOf)
  }

  async totals(window: Window): Promise<CounterSum[]> {
    const rows = await this.db.execute<Raw>(sql`
      select ${window.from}::bigint as step, metric, labels, le, min(lower) as lower, sum(value) as value
      from tiercache_metric_rollups where kind = 'counter' and ${within(window)}
      group by metric, labels, le`)
    return rows.map(counterOf)
  }

  async gauges(window: Window): Promise<GaugeValue[]> {
    const rows = await this.db.execute<Raw>(sql`
      select minute as step, metric, labels, sum(value) as total, max(value) as highest
      from tiercache_metric_rollups where kind = 'gauge' and ${within(window)}
      group by minute, metric, labels`)
    return rows.map(gaugeOf)
  }

  async latestGauges(since: number, until: number, tenant?: string): Promise<GaugeValue[]> {
    const window = { stepMs: 60_000, from: since, to: until, ...(tenant === undefined ? {} : { tenant }) }
    // Each instance's newest minute of each gauge, then summed over the instances.
    const rows = await this.db.execute<Raw>(sql`
      select ${until}::bigint as step, metric, labels, sum(value) as total, max(value) as highest from (
        select distinct on (instance, metric, labels) metric, labels, value
        from tiercache_metric_rollups where kind = 'gauge' and ${within(window)}
        order by instance, metric, labels, minute desc
      ) as newest group by metric, labels`)
    return rows.map(gaugeOf)
  }

  async instances(window: Window): Promise<number> {
    const rows = await this.db.execute<Raw>(sql`select count(distinct instance) as n from tiercache_metric_rollups where ${within(window)}`)
    return Number(rows[0]?.n ?? 0)
  }

  async close(): Promise<void> {
    if (this.ownsClient) await this.client.end({ timeout: 5 })
  }
}

function byKey(a: RollupRow, b: RollupRow): number {
  return a.span - b.span || a.minute - b.minute || compare(a.instance, b.instance) || compare(a.metric, b.metric) || compare(a.labels, b.labels) || compare(a.le, b.le)
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

function within(window: Window): SQL {
  const tenant = window.tenant === undefined ? sql`` : sql` and tenant = ${window.tenant}`
  return sql`span = ${window.stepMs} and minute >= ${window.from} and minute < ${window.to}${tenant}`
}

function counterOf(row: Raw): CounterSum {
  return {
    step: Number(row.step),
    metric: String(row.metric),
    labels: String(row.labels),
    le: String(row.le),
    lower: row.lower === null ? null : Number(row.lower),
    value: Number(row.value),
  }
}

function gaugeOf(row: Raw): GaugeValue {
  return { step: Number(row.step), metric: String(row.metric), labels: String(row.labels), total: Number(row.total), highest: Number(row.highest) }
}
