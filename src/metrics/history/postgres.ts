import { type SQL, and, gte, lt, sql } from 'drizzle-orm'
import { type PostgresJsDatabase, drizzle } from 'drizzle-orm/postgres-js'
import type { Sql } from 'postgres'
import { metricRollups } from '../../sql/postgres/schema.js'
import type { RollupRow } from './rollup.js'
import type { CounterSum, GaugeValue, HistoryStore, Window } from './store.js'

// 8 parameters a row: 1,000 rows stay far below PostgreSQL's 65,535 parameters per statement.
const ROWS_PER_STATEMENT = 1_000

type Raw = Record<string, unknown>

// Key of the transaction advisory lock that serializes compactions across instances; an arbitrary
// constant next to the migrations' ('tiercach' in ASCII, plus one).
const COMPACTION_LOCK_KEY = '8388347322922263401'

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
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) {
        await tx
          .insert(metricRollups)
          .values(rows.slice(i, i + ROWS_PER_STATEMENT))
          .onConflictDoUpdate({
            target: [metricRollups.minute, metricRollups.instance, metricRollups.metric, metricRollups.labels, metricRollups.le],
            set: { value: sql`case when excluded.kind = 'gauge' then excluded.value else ${metricRollups.value} + excluded.value end` },
          })
      }
    })
  }

  async prune(before: number): Promise<number> {
    const result = await this.db.delete(metricRollups).where(lt(metricRollups.minute, before))
    return result.count
  }

  async compact(from: number, to: number): Promise<number> {
    return this.db.transaction(async (tx) => {
      // Another instance folding the same hours waits here, then finds them folded.
      await tx.execute(sql.raw(`select pg_advisory_xact_lock(${COMPACTION_LOCK_KEY})`))
      const [counted] = await tx.execute<Raw>(sql`select count(*) as n from tiercache_metric_rollups where minute >= ${from} and minute < ${to}`)
      const before = Number(counted?.n ?? 0)
      const folded = await tx.execute<Raw>(sql`
        select (minute / 3600000) * 3600000 as minute, instance, metric, labels, le, min(lower) as lower, tenant, kind,
          case when kind = 'gauge' then avg(value) else sum(value) end as value
        from tiercache_metric_rollups where minute >= ${from} and minute < ${to}
        group by 1, instance, metric, labels, le, tenant, kind`)
      if (folded.length === before) return 0
      await tx.delete(metricRollups).where(and(gte(metricRollups.minute, from), lt(metricRollups.minute, to)))
      const rows = folded.map((row) => ({
        minute: Number(row.minute),
        instance: String(row.instance),
        metric: String(row.metric),
        labels: String(row.labels),
        le: String(row.le),
        lower: row.lower === null ? null : Number(row.lower),
        tenant: String(row.tenant),
        kind: String(row.kind),
        value: Number(row.value),
      }))
      for (let i = 0; i < rows.length; i += ROWS_PER_STATEMENT) await tx.insert(metricRollups).values(rows.slice(i, i + ROWS_PER_STATEMENT))
      return before - rows.length
    })
  }

  async counters(window: Window): Promise<CounterSum[]> {
    const rows = await this.db.execute<Raw>(sql`
      select (minute / ${step(window)}) * ${step(window)} as step, metric, labels, le, min(lower) as lower, sum(value) as value
      from tiercache_metric_rollups
      where kind = 'counter' and ${within(window)}
      group by 1, metric, labels, le`)
    return rows.map((row) => ({
      step: Number(row.step),
      metric: String(row.metric),
      labels: String(row.labels),
      le: String(row.le),
      lower: row.lower === null ? null : Number(row.lower),
      value: Number(row.value),
    }))
  }

  async gauges(window: Window): Promise<GaugeValue[]> {
    const rows = await this.db.execute<Raw>(sql`
      select (minute / ${step(window)}) * ${step(window)} as step, metric, labels, avg(total) as total, avg(highest) as highest
      from (${perMinute(window)}) as per_minute
      group by 1, metric, labels`)
    return rows.map(gaugeOf)
  }

  async latestGauges(window: Window): Promise<GaugeValue[]> {
    const rows = await this.db.execute<Raw>(sql`
      select minute as step, metric, labels, total, highest from (${perMinute(window)}) as per_minute
      where minute = (select max(minute) from tiercache_metric_rollups where kind = 'gauge' and ${within(window)})`)
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

// A literal, not a parameter: `group by 1` must see the same expression as the select list, and the
// step is one of a few integers of ours (see ranges.ts), never input.
function step(window: Window): SQL {
  return sql.raw(String(Math.trunc(window.stepMs)))
}

function within(window: Window): SQL {
  const tenant = window.tenant === undefined ? sql`` : sql` and tenant = ${window.tenant}`
  return sql`minute >= ${window.from} and minute < ${window.to}${tenant}`
}

function perMinute(window: Window): SQL {
  return sql`select minute, metric, labels, sum(value) as total, max(value) as highest
    from tiercache_metric_rollups where kind = 'gauge' and ${within(window)}
    group by minute, metric, labels`
}

function gaugeOf(row: Raw): GaugeValue {
  return { step: Number(row.step), metric: String(row.metric), labels: String(row.labels), total: Number(row.total), highest: Number(row.highest) }
}
