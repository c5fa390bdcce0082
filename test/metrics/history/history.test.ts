import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import type { Sql } from 'postgres'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { InvalidOptionsError, TierUnavailableError } from '../../../src/errors.js'
import {
  type HistoryStore,
  type MetricsHistory,
  type MetricsHistoryOptions,
  createMetricsHistory,
  histogramQuantile,
  openMetricsHistory,
} from '../../../src/metrics/history/index.js'
import { SqliteHistoryStore } from '../../../src/metrics/history/sqlite.js'
import { openSqliteDatabase } from '../../../src/sql/sqlite/database.js'
import { openAdminClient, scratchDatabase } from '../../helpers/postgres.js'
import { BUCKETS, FakeInstruments } from './fake-source.js'

// A database of its own: these tests read and clear the whole history table, which other files'
// histories write to meanwhile.
const scratch = await scratchDatabase('history')
const POSTGRES_URL = scratch.url
afterAll(() => scratch.drop())

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
/** A Monday at 00:00 UTC: on a boundary of every step. */
const T0 = Date.UTC(2030, 0, 7)

const dir = mkdtempSync(join(tmpdir(), 'tiercache-history-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

interface StoredRow {
  span: number
  minute: number
  instance: string
  metric: string
  labels: string
  le: string
  lower: number | null
  kind: string
  value: number
}

interface Backend {
  open(options: MetricsHistoryOptions): Promise<MetricsHistory>
  /** Every row of the table, ordered, read on a connection of the test's own. */
  rows(): Promise<StoredRow[]>
  clear(): Promise<void>
}

const REQ = 'tiercache_requests_total'
const HITS = 'tiercache_hits_total'
const MISSES = 'tiercache_misses_total'
const ORIGIN = 'tiercache_origin_duration_seconds'

function runHistorySuite(name: string, backend: () => Backend): void {
  describe(`stats history (${name})`, () => {
    let clock = T0
    const now = () => clock
    const errors: Error[] = []
    const opened: MetricsHistory[] = []
    const minuteRows = async () => (await backend().rows()).filter((row) => row.span === MIN)
    const open = async (options: MetricsHistoryOptions) => {
      const history = await backend().open({ now, timer: false, onError: (error) => errors.push(error), ...options })
      opened.push(history)
      return history
    }
    beforeEach(async () => {
      clock = T0
      errors.length = 0
      await backend().clear()
    })
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((history) => history.close()))
      expect(errors).toEqual([])
    })

    it("writes each minute's deltas: what counters and buckets added, gauges as they stand", async () => {
      const m = new FakeInstruments()
      const history = await open({ source: m.source, instance: 'a' })
      clock = T0 + 10_000
      m.count(REQ, { namespace: 'flights', operation: 'get' }, 3).set('tiercache_entries', { tier: 'l1' }, 40)
      m.observe('tiercache_origin_duration_seconds', { namespace: 'flights' }, 0.003)
      clock = T0 + MIN
      expect(await history.flush()).toBe(5)
      m.count(REQ, { namespace: 'flights', operation: 'get' }, 2).set('tiercache_entries', { tier: 'l1' }, 41)
      clock = T0 + 2 * MIN
      expect(await history.flush()).toBe(2)
      expect((await minuteRows()).map(({ span: _span, ...row }) => row)).toEqual([
        { minute: T0, instance: 'a', metric: 'tiercache_entries', labels: '{"tier":"l1"}', le: '', lower: null, kind: 'gauge', value: 40 },
        { minute: T0, instance: 'a', metric: `${ORIGIN}_bucket`, labels: '{"namespace":"flights"}', le: '0.005', lower: 0.0025, kind: 'counter', value: 1 },
        { minute: T0, instance: 'a', metric: `${ORIGIN}_count`, labels: '{"namespace":"flights"}', le: '', lower: null, kind: 'counter', value: 1 },
        { minute: T0, instance: 'a', metric: `${ORIGIN}_sum`, labels: '{"namespace":"flights"}', le: '', lower: null, kind: 'counter', value: 0.003 },
        { minute: T0, instance: 'a', metric: REQ, labels: '{"namespace":"flights","operation":"get"}', le: '', lower: null, kind: 'counter', value: 3 },
        { minute: T0 + MIN, instance: 'a', metric: 'tiercache_entries', labels: '{"tier":"l1"}', le: '', lower: null, kind: 'gauge', value: 41 },
        { minute: T0 + MIN, instance: 'a', metric: REQ, labels: '{"namespace":"flights","operation":"get"}', le: '', lower: null, kind: 'counter', value: 2 },
      ])
    })

    it('adds a re-flush of the same minute to its rows, never counting twice, and replaces gauges', async () => {
      const m = new FakeInstruments()
      const history = await open({ source: m.source, instance: 'a' })
      const series = { namespace: 'flights', operation: 'get' }
      m.count(REQ, series, 3).set('tiercache_entries', { tier: 'l1' }, 10)
      clock = T0 + 5_000
      await history.flush()
      m.count(REQ, series, 4).set('tiercache_entries', { tier: 'l1' }, 7)
      clock = T0 + 30_000
      await history.flush()
      clock = T0 + 40_000
      expect(await history.flush()).toBe(1) // nothing new: only the gauge
      const values = async () => (await minuteRows()).map((row) => [row.minute, row.metric, row.value])
      expect(await values()).toEqual([
        [T0, 'tiercache_entries', 7],
        [T0, REQ, 7],
      ])
      // The instance restarts under the same id: its new cache counts from zero, and adds to the minute.
      await history.close()
      const restarted = await open({ source: m.reset().count(REQ, series, 5).source, instance: 'a' })
      clock = T0 + 50_000
      await restarted.flush()
      expect(await values()).toEqual([
        [T0, 'tiercache_entries', 7],
        [T0, REQ, 12],
      ])
      expect((await restarted.query({ range: '1h' })).totals.requests).toBe(12)
    })

    it('writes what changed since the last flush when it closes', async () => {
      const m = new FakeInstruments()
      const history = await open({ source: m.source, instance: 'a' })
      clock = T0 + MIN
      m.count(REQ, { namespace: 'n', operation: 'get' }, 2)
      await history.flush()
      m.count(REQ, { namespace: 'n', operation: 'get' }, 5)
      clock = T0 + MIN + 20_000
      await history.close()
      await history.close()
      expect((await minuteRows()).map((row) => [row.minute, row.value])).toEqual([
        [T0, 2],
        [T0 + MIN, 5],
      ])
      expect(await history.flush()).toBe(0)
      expect(errors.splice(0).map((error) => (error as TierUnavailableError).code)).toEqual(['TC_TIER_UNAVAILABLE'])
    })

    it('adds each minute to its 5-minute, hour and 6-hour steps too: sums for counters, the last value for gauges', async () => {
      const series = { namespace: 'n', operation: 'get' }
      const start = T0 - 7 * HOUR
      clock = start
      const m = new FakeInstruments()
      const history = await open({ source: m.source, instance: 'a' })
      // Seven hours a minute at a time: 1 lookup a minute, 2 in the second hour; L1 holds the minute's number.
      for (let minute = 0; minute < 7 * 60; minute++) {
        m.count(REQ, series, minute >= 60 && minute < 120 ? 2 : 1).set('tiercache_entries', { tier: 'l1' }, minute)
        clock = start + (minute + 1) * MIN
        await history.flush()
      }
      const rows = await backend().rows()
      const of = (span: number, metric: string) => rows.filter((row) => row.span === span && row.metric === metric).map((row) => [row.minute - start, row.value])
      expect(of(6 * HOUR, REQ)).toEqual([
        [-5 * HOUR, 60], // the 6-hour step that ends at T0 - 6 h holds the first hour
        [HOUR, 6 * 60 + 60],
      ])
      expect(of(HOUR, REQ)).toEqual([[0, 60], [HOUR, 120], ...[2, 3, 4, 5, 6].map((h) => [h * HOUR, 60])])
      expect(of(HOUR, 'tiercache_entries')).toEqual([0, 1, 2, 3, 4, 5, 6].map((h) => [h * HOUR, h * 60 + 59]))
      expect(of(5 * MIN, REQ).slice(0, 13).map(([, value]) => value)).toEqual([5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 10])
      // Minute rows are kept two hours: the last prune, an hour after the one before, was at minute 361.
      expect(of(MIN, REQ).map(([at]) => at)).toEqual(Array.from({ length: 179 }, (_, i) => (241 + i) * MIN))
    })

    it('prunes each resolution once no range reads it, the coarsest at the retention, at most once an hour', async () => {
      const writeAt = async (at: number, instance: string) => {
        clock = at
        const m = new FakeInstruments()
        const history = await open({ source: m.source, instance, retention: '90d' })
        m.count(REQ, { namespace: 'n', operation: 'get' })
        clock = at + MIN
        await history.flush()
        await history.close()
      }
      await writeAt(T0 - 40 * DAY, 'old')
      await writeAt(T0 - 29 * DAY, 'month')
      await writeAt(T0 - 6 * DAY, 'week')
      await writeAt(T0 - 20 * HOUR, 'day')
      await writeAt(T0 - 30 * MIN, 'hour')
      const instancesBySpan = async () => {
        const rows = await backend().rows()
        return [MIN, 5 * MIN, HOUR, 6 * HOUR].map((span) => rows.filter((row) => row.span === span).map((row) => row.instance))
      }
      clock = T0
      const history = await open({ source: new FakeInstruments().source, instance: 'a', retention: '30d' })
      await history.flush()
      expect(await instancesBySpan()).toEqual([['hour'], ['day', 'hour'], ['week', 'day', 'hour'], ['month', 'week', 'day', 'hour']])
      await writeAt(T0 - 31 * DAY, 'late')
      clock = T0 + 30 * MIN
      await history.flush()
      expect((await instancesBySpan())[3]).toEqual(['late', 'month', 'week', 'day', 'hour'])
      clock = T0 + HOUR
      await history.flush()
      expect(await instancesBySpan()).toEqual([['hour'], ['day', 'hour'], ['week', 'day', 'hour'], ['month', 'week', 'day', 'hour']])
      clock = T0 + 3 * HOUR
      await history.flush()
      expect((await instancesBySpan())[0]).toEqual([])
    })

    it('sums a range over every instance: totals, ratios, reasons, cost, gauges, quantiles and the series', async () => {
      const a = new FakeInstruments()
      const b = new FakeInstruments()
      const ha = await open({ source: a.source, instance: 'a' })
      const hb = await open({ source: b.source, instance: 'b' })
      // Minute 0: a serves 8 lookups of flights, 6 from L1 and 2 from L3 after L1 misses.
      a.count(REQ, { namespace: 'flights', operation: 'get' }, 8)
      a.count(HITS, { namespace: 'flights', tier: 'l1' }, 6).count(HITS, { namespace: 'flights', tier: 'l3' }, 2)
      a.count(MISSES, { namespace: 'flights', tier: 'l1', reason: 'absent' }, 2)
      a.set('tiercache_entries', { tier: 'l1' }, 10).set('tiercache_entries', { tier: 'l3' }, 100)
      a.observe('tiercache_tier_read_duration_seconds', { tier: 'l1' }, ...Array<number>(8).fill(0.00005))
      // b: 4 getOrSet of hotels, 1 from L1, 3 missing everywhere (2 expired, 1 absent), 3 origin calls.
      b.count(REQ, { namespace: 'hotels', operation: 'getOrSet' }, 4)
      b.count(HITS, { namespace: 'hotels', tier: 'l1' }, 1)
      b.count(MISSES, { namespace: 'hotels', tier: 'l1', reason: 'expired' }, 2).count(MISSES, { namespace: 'hotels', tier: 'l1', reason: 'absent' }, 1)
      b.count(MISSES, { namespace: 'hotels', tier: 'l3', reason: 'expired' }, 2).count(MISSES, { namespace: 'hotels', tier: 'l3', reason: 'absent' }, 1)
      b.count('tiercache_origin_calls_total', { namespace: 'hotels', outcome: 'ok' }, 2).count('tiercache_origin_calls_total', { namespace: 'hotels', outcome: 'error' }, 1)
      b.count('tiercache_origin_calls_saved_total', { namespace: 'hotels' }, 1).count('tiercache_origin_cost_saved_total', { namespace: 'hotels', unit: 'usd' }, 0.25)
      b.set('tiercache_entries', { tier: 'l1' }, 20).set('tiercache_entries', { tier: 'l3' }, 100)
      b.observe('tiercache_get_or_set_duration_seconds', { namespace: 'hotels' }, 0.0001, 0.2, 0.2, 0.3)
      b.observe('tiercache_tier_read_duration_seconds', { tier: 'l1' }, 0.00005, 0.00005, 0.00005, 0.00005)
      clock = T0 + MIN
      await Promise.all([ha.flush(), hb.flush()])
      // Minute 1: a serves 2 more from L1, and its L1 holds 12.
      a.count(REQ, { namespace: 'flights', operation: 'get' }, 2).count(HITS, { namespace: 'flights', tier: 'l1' }, 2).set('tiercache_entries', { tier: 'l1' }, 12)
      clock = T0 + 2 * MIN
      await Promise.all([ha.flush(), hb.flush()])

      clock = T0 + 2 * MIN + 5_000
      const report = await ha.query({ range: '1h' })
      expect(report).toMatchObject({ range: '1h', stepMs: MIN, from: T0 + 3 * MIN - HOUR, to: T0 + 3 * MIN, tenant: null, instances: 2 })
      const { totals } = report
      expect(totals).toMatchObject({ requests: 14, hits: 11, staleHits: 0, misses: 3, originCalls: 3, originCallsSaved: 1, errors: 0 })
      expect(totals.hitRatio).toBeCloseTo(11 / 14, 12)
      expect(totals.missReasons).toEqual({ absent: 4, expired: 4 })
      expect(totals.originOutcomes).toEqual({ ok: 2, error: 1 })
      expect(totals.costSaved).toEqual({ usd: 0.25 })
      expect(totals.tiers.l1).toMatchObject({ hits: 9, misses: 5, missReasons: { absent: 3, expired: 2 }, entries: 32, bytes: null, circuitOpen: false })
      expect(totals.tiers.l1?.hitRatio).toBeCloseTo(9 / 14, 12)
      // L3 is shared: both instances report its 100 entries, which the deployment holds once.
      expect(totals.tiers.l3).toMatchObject({ hits: 2, misses: 3, hitRatio: 0.4, entries: 100 })
      expect(Object.keys(totals.namespaces)).toEqual(['flights', 'hotels'])
      expect(totals.namespaces.flights).toMatchObject({ requests: 10, hits: 10, hitRatio: 1, originCalls: 0 })
      expect(totals.namespaces.hotels).toMatchObject({ requests: 4, hits: 1, hitRatio: 0.25, originCalls: 3, originCallsSaved: 1, costSaved: { usd: 0.25 } })
      expect(totals.counters[REQ]).toBe(14)
      // L1 read latency from both instances' buckets summed: 12 reads, all in (0, 0.0001].
      expect(totals.tiers.l1?.readLatency).toMatchObject({ count: 12, p50: expect.closeTo(0.00005, 12), p99: expect.closeTo(0.000099, 12) })
      const getOrSet = totals.latency.getOrSet
      const counts = new Array<number>(BUCKETS.length + 1).fill(0)
      counts[0] = 1
      counts[BUCKETS.indexOf(0.25)] = 2
      counts[BUCKETS.indexOf(0.5)] = 1
      expect(getOrSet).toEqual({
        p50: histogramQuantile(0.5, BUCKETS, counts),
        p95: histogramQuantile(0.95, BUCKETS, counts),
        p99: histogramQuantile(0.99, BUCKETS, counts),
        count: 4,
        mean: expect.closeTo(0.7001 / 4, 12),
      })
      expect(getOrSet.p50).toBeCloseTo(0.175, 12) // rank 2: half of the two in (0.1, 0.25]

      expect(report.series).toHaveLength(60)
      expect(report.series.map((point) => point.at)).toEqual(Array.from({ length: 60 }, (_, i) => report.from + i * MIN))
      const [first, second, third] = report.series.slice(-3)
      expect(first).toMatchObject({ at: T0, requests: 12, hits: 9 })
      expect(first?.tiers.l1?.entries).toBe(30)
      expect(second).toMatchObject({ at: T0 + MIN, requests: 2, hits: 2, hitRatio: 1 })
      expect(second?.tiers.l1?.entries).toBe(32)
      expect(third).toMatchObject({ at: T0 + 2 * MIN, requests: 0, hitRatio: null, tiers: {} })
      expect(report.series[0]).toMatchObject({ requests: 0, hits: 0, hitRatio: null })
    })

    it("answers a tenant's query from its own series only, without the tiers' gauges", async () => {
      const m = new FakeInstruments()
      const history = await open({ source: m.source, instance: 'a' })
      m.count(REQ, { namespace: 'n', operation: 'get', tenant: 'acme' }, 3).count(HITS, { namespace: 'n', tier: 'l1', tenant: 'acme' }, 3)
      m.count(REQ, { namespace: 'n', operation: 'get', tenant: 'globex' }, 5)
      m.set('tiercache_entries', { tier: 'l1' }, 9)
      clock = T0 + MIN
      await history.flush()
      const acme = await history.query({ range: '24h', tenant: 'acme' })
      expect(acme.totals).toMatchObject({ requests: 3, hits: 3, hitRatio: 1 })
      expect(acme.totals.tiers.l1?.entries).toBeNull()
      expect(acme).toMatchObject({ tenant: 'acme', instances: 1 })
      expect((await history.query({ range: '24h', tenant: 'initech' })).totals).toMatchObject({ requests: 0, hitRatio: null, tiers: {} })
      expect((await history.query({ range: '24h' })).totals.requests).toBe(8)
    })

    it('reads the long ranges in their steps, summed in SQL', async () => {
      const m = new FakeInstruments()
      clock = T0 - 49 * HOUR
      const history = await open({ source: m.source, instance: 'a' })
      const series = { namespace: 'n', operation: 'get' }
      // One lookup at half past each of the 48 hours before T0, and 5 in the last one.
      for (let h = 48; h >= 1; h--) {
        clock = T0 - h * HOUR + 30 * MIN
        await history.flush()
        m.count(REQ, series, h === 1 ? 5 : 1)
        clock += MIN
        await history.flush()
      }
      clock = T0 + 10 * MIN
      const week = await history.query({ range: '7d' })
      expect(week).toMatchObject({ stepMs: HOUR, from: T0 + HOUR - 7 * DAY, to: T0 + HOUR })
      expect(week.series).toHaveLength(168)
      expect(week.totals.requests).toBe(52)
      expect(week.series.find((point) => point.at === T0 - HOUR)?.requests).toBe(5)
      expect(week.series.filter((point) => point.requests > 0)).toHaveLength(48)
      const month = await history.query({ range: '30d' })
      expect(month).toMatchObject({ stepMs: 6 * HOUR, to: T0 + 6 * HOUR })
      expect(month.series).toHaveLength(120)
      // The last six hours before T0 hold 5 + 5 × 1 lookups.
      expect(month.series.find((point) => point.at === T0 - 6 * HOUR)?.requests).toBe(10)
      expect(month.totals.requests).toBe(52)
      const day = await history.query({ range: '24h' })
      expect(day.series).toHaveLength(288)
      expect(day.totals.requests).toBe(24 + 4) // the hours since T0 - 24h: 23 × 1 and the 5
      const hour = await history.query({ range: '1h' })
      expect(hour).toMatchObject({ from: T0 + 11 * MIN - HOUR })
      expect(hour.totals.requests).toBe(5)
    })

    it('refuses malformed queries and options', async () => {
      const history = await open({})
      await expect(history.query({ range: '2h' as '1h' })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(history.query({ range: '1h', tenant: '' })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(open({ retention: '10s' })).rejects.toBeInstanceOf(InvalidOptionsError)
      await expect(open({ instance: '' })).rejects.toBeInstanceOf(InvalidOptionsError)
      expect(await history.flush()).toBe(0) // no source: it only reads
    })
  })
}

describe('sqlite', () => {
  const path = join(dir, 'history/cache.db')
  runHistorySuite('sqlite', () => ({
    open: (options) => openMetricsHistory({ sqlite: path }, options),
    async rows() {
      const db = new Database(path, { readonly: true })
      try {
        return db
          .prepare('SELECT span, minute, instance, metric, labels, le, lower, kind, value FROM tiercache_metric_rollups ORDER BY span, minute, instance, metric, labels, le')
          .all() as StoredRow[]
      } finally {
        db.close()
      }
    },
    async clear() {
      const db = openSqliteDatabase(path)
      db.prepare('DELETE FROM tiercache_metric_rollups').run()
      db.close()
    },
  }))

  /** A store that fails while `failing` is set, over the real one. */
  function failingStore(db: Database.Database): HistoryStore & { failing: boolean } {
    const real = new SqliteHistoryStore(db, true)
    const store = Object.create(real) as SqliteHistoryStore & { failing: boolean }
    store.failing = false
    store.write = async (rows) => {
      if (store.failing) throw new Error('disk full')
      return real.write(rows)
    }
    return store
  }

  it('reports a failed write to onError and carries its deltas to the next one; nothing throws', async () => {
    const db = openSqliteDatabase(join(dir, 'failing/cache.db'))
    const store = failingStore(db)
    const m = new FakeInstruments()
    const errors: Error[] = []
    let clock = T0
    const history = createMetricsHistory(store, { source: m.source, instance: 'a', timer: false, now: () => clock, onError: (e) => errors.push(e) })
    m.count(REQ, { namespace: 'n', operation: 'get' }, 3)
    store.failing = true
    clock = T0 + MIN
    await expect(history.flush()).resolves.toBe(0)
    expect(errors).toHaveLength(1)
    expect(errors[0]).toBeInstanceOf(TierUnavailableError)
    expect((errors[0]?.cause as Error).message).toBe('disk full')
    store.failing = false
    m.count(REQ, { namespace: 'n', operation: 'get' }, 2)
    clock = T0 + 2 * MIN
    await history.flush()
    expect((await history.query({ range: '1h' })).totals.requests).toBe(5)
    // A source that fails is reported too, and so is a closed database; an onError that throws is contained.
    const failing = createMetricsHistory(store, {
      source: () => Promise.reject(new Error('no snapshot')),
      timer: false,
      onError: (e) => {
        errors.push(e)
        throw new Error('boom')
      },
    })
    await expect(failing.flush()).resolves.toBe(0)
    expect(errors[1]).toMatchObject({ code: 'TC_INTERNAL' })
    db.close()
    m.count(REQ, { namespace: 'n', operation: 'get' })
    await expect(history.flush()).resolves.toBe(0)
    expect(errors[2]).toBeInstanceOf(TierUnavailableError)
    await expect(history.query({ range: '1h' })).rejects.toBeInstanceOf(TierUnavailableError)
    await history.close()
  })

  it('flushes on its own at the next minute boundary', async () => {
    const m = new FakeInstruments().count(REQ, { namespace: 'n', operation: 'get' }, 4)
    // The history's clock starts, when first read, 30 ms before a minute boundary.
    let started: number | undefined
    const now = () => T0 - 30 + (Date.now() - (started ??= Date.now()))
    let snapshotTaken!: () => void
    const taken = new Promise<void>((resolve) => (snapshotTaken = resolve))
    const timedPath = join(dir, 'timed/cache.db')
    const history = await openMetricsHistory(
      { sqlite: timedPath },
      {
        instance: 'timed',
        now,
        source: async () => {
          snapshotTaken()
          return m.snapshot()
        },
      },
    )
    // Nothing but the timer calls the source before close.
    await taken
    await history.close()
    const reader = await openMetricsHistory({ sqlite: timedPath })
    expect((await reader.query({ range: '1h', now: T0 })).totals.requests).toBe(4)
    await reader.close()
  })
})

describe('postgres', () => {
  let admin: Sql
  beforeAll(() => {
    admin = openAdminClient(POSTGRES_URL)
  })
  afterAll(async () => {
    await admin.end()
  })
  runHistorySuite('postgres', () => ({
    open: (options) => openMetricsHistory({ postgres: POSTGRES_URL }, options),
    rows: async () =>
      (
        await admin<StoredRow[]>`select span, minute, instance, metric, labels, le, lower, kind, value from tiercache_metric_rollups
          order by span, minute, instance collate "C", metric collate "C", labels collate "C", le collate "C"`
      ).map((row) => ({ ...row, span: Number(row.span), minute: Number(row.minute) })),
    async clear() {
      // The table exists once any tiercache opened the database; a history's opening migrates it.
      await (await openMetricsHistory({ postgres: POSTGRES_URL })).close()
      await admin`delete from tiercache_metric_rollups`
    },
  }))
})
