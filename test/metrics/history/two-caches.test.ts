import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Sql } from 'postgres'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { MetricsSnapshot } from '../../../src/cache/instruments/snapshot.js'
import { type Cache, type CacheOptions, type MetricsHistory, createCache, openMetricsHistory } from '../../../src/index.js'
import type { StorageLocation } from '../../../src/security/credentials/location.js'
import { openAdminClient, scratchDatabase } from '../../helpers/postgres.js'

// A database of its own: these tests read and clear the whole history table, which other files'
// histories write to meanwhile.
const scratch = await scratchDatabase('history2')
const POSTGRES_URL = scratch.url
afterAll(() => scratch.drop())

const MIN = 60_000
const T0 = Date.UTC(2030, 0, 7, 12)

const dir = mkdtempSync(join(tmpdir(), 'tiercache-history-caches-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** One counter family's total over its series in a snapshot. */
function total(snapshot: MetricsSnapshot, name: string): number {
  const family = snapshot.families.find((f) => f.name === name)
  if (family === undefined || family.type === 'histogram') return 0
  return family.samples.reduce((sum, sample) => sum + sample.value, 0)
}

const FAMILIES = ['tiercache_requests_total', 'tiercache_hits_total', 'tiercache_misses_total', 'tiercache_origin_calls_total', 'tiercache_writes_total']

/**
 * The done-when: two instances (a cache and its history each) write through one SQL tier,
 * one restarts, and `range=1h` reports the sum of all three lifetimes.
 */
function runTwoInstances(name: string, l3: CacheOptions['l3'] & StorageLocation, clear: () => Promise<void>): void {
  describe(`two caches sharing the ${name} tier`, () => {
    let clock = T0
    const errors: Error[] = []
    const running: { cache: Cache; history: MetricsHistory }[] = []

    async function instance(namespace: string): Promise<{ cache: Cache; history: MetricsHistory }> {
      const cache = createCache({ namespace, l3, metrics: { costs: { [namespace]: { perCall: 0.01, unit: 'usd' } } } })
      const history = await openMetricsHistory(l3, { source: () => cache.metrics(), now: () => clock, timer: false, onError: (e) => errors.push(e) })
      const started = { cache, history }
      running.push(started)
      return started
    }

    // As a process stops: the history's last flush, then the cache.
    async function stop(started: { cache: Cache; history: MetricsHistory }): Promise<void> {
      running.splice(running.indexOf(started), 1)
      await started.history.close()
      await started.cache.close()
    }

    afterEach(async () => {
      await Promise.all([...running].map(stop))
      expect(errors).toEqual([])
    })

    it('reports the sum of both instances over the last hour, across a restart of one', async () => {
      await clear()
      const namespace = `n${randomUUID().slice(0, 8)}`
      const factory = async () => 'from origin'
      const a = await instance(namespace)
      const b = await instance(namespace)
      expect(a.history.instance).not.toBe(b.history.instance)

      // a: 2 sets, 2 L1 hits, a miss, a getOrSet that calls the origin and one that does not.
      await a.cache.set('a1', 1)
      await a.cache.set('a2', 2)
      expect([await a.cache.get('a1'), await a.cache.get('a2'), await a.cache.get('nope')]).toEqual([1, 2, undefined])
      await a.cache.getOrSet('o1', factory)
      await a.cache.getOrSet('a1', factory)
      // b: a1 from the shared tier (its L1 is empty), and a getOrSet that calls the origin.
      expect((await b.cache.getWithInfo('a1'))?.source).toBe('l3')
      await b.cache.getOrSet('b1', factory)
      clock = T0 + MIN
      await Promise.all([a.history.flush(), b.history.flush()])

      // b reads a2 from L3, then restarts mid-minute: only the last flush, on stop, records that
      // read; then a new process, with a new id.
      expect((await b.cache.getWithInfo('a2'))?.source).toBe('l3')
      clock = T0 + MIN + 20_000
      const lifetimeOfB = await b.cache.metrics()
      await stop(b)
      clock = T0 + MIN + 30_000
      const b2 = await instance(namespace)
      expect((await b2.cache.getWithInfo('b1'))?.source).toBe('l3')
      expect(await b2.cache.getOrSet('b1', factory)).toBe('from origin')
      clock = T0 + 2 * MIN
      await Promise.all([a.history.flush(), b2.history.flush()])
      const lifetimes = [await a.cache.metrics(), lifetimeOfB, await b2.cache.metrics()]

      clock = T0 + 2 * MIN + 10_000
      const report = await b2.history.query({ range: '1h' })
      expect(report.instances).toBe(3)
      const { totals } = report
      // 5 lookups in a, 3 in b, 2 in b after its restart.
      expect(totals.requests).toBe(10)
      expect(totals.tiers.l1?.hits).toBe(4) // a1, a2, a1 in a; b1 in the restarted b, after its first read put it in L1
      expect(totals.tiers.l3?.hits).toBe(3) // a1 and a2 in b, b1 in the restarted b
      expect(totals.hits).toBe(7)
      expect(totals.originOutcomes).toEqual({ ok: 2 })
      expect(totals.originCallsSaved).toBe(2) // getOrSet of a1 in a, of b1 in the restarted b
      expect(totals.costSaved).toEqual({ usd: expect.closeTo(0.02, 12) })
      expect(totals.missReasons.absent).toBeGreaterThan(0)
      expect(totals.namespaces[namespace]).toMatchObject({ requests: 10, hits: 7, originCalls: 2 })
      // Exactly what the three caches counted, family by family.
      for (const family of FAMILIES) {
        expect(totals.counters[family] ?? 0, family).toBe(lifetimes.reduce((sum, snapshot) => sum + total(snapshot, family), 0))
      }
      expect(totals.latency.getOrSet.count).toBeGreaterThan(0)
      // The two minutes as the series shows them: the first, then b's last read, its restart and
      // what followed.
      const [first, second] = report.series.filter((point) => point.at >= T0)
      expect(first?.requests).toBe(7)
      expect(second?.requests).toBe(3)
      await b2.cache.clear()
    })
  })
}

runTwoInstances('SQLite', { sqlite: join(dir, 'shared/cache.db') }, async () => {})

let admin: Sql
beforeAll(() => {
  admin = openAdminClient(POSTGRES_URL)
})
afterAll(async () => {
  await admin.end()
})
runTwoInstances('PostgreSQL', { postgres: POSTGRES_URL }, async () => {
  await (await openMetricsHistory({ postgres: POSTGRES_URL })).close()
  await admin`delete from tiercache_metric_rollups`
})
