// Suite: the stats history on SQLite (the embedded default). A real cache's snapshot after a
// workload over 10 namespaces gives the series a busy minute writes; 30 days of one instance are
// then stored as the history keeps them (each resolution for as long as its range reads it), and
// the rows time a flush, the four ranges, and report the file's size.
import { statSync } from 'node:fs'
import { join } from 'node:path'
import { createCache } from '../../dist/index.js'
import { createMetricsHistory } from '../../dist/metrics/history/index.js'
import { SPANS } from '../../dist/metrics/history/ranges.js'
import { flatten, inEverySpan, rollupRows } from '../../dist/metrics/history/rollup.js'
import { SqliteHistoryStore } from '../../dist/metrics/history/sqlite.js'
import { openSqliteDatabase } from '../../dist/sql/sqlite/database.js'
import { measure } from '../lib/harness.js'
import { tempDir } from '../lib/fixtures.js'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const NAMESPACES = 10
// A Monday at 00:00 UTC, past every step's boundary.
const NOW = Date.UTC(2030, 0, 7)

/** A cache after a workload that touches every family: misses, hits, origin calls, in 10 namespaces. */
async function busyCache(path) {
  const costs = Object.fromEntries(Array.from({ length: NAMESPACES }, (_, n) => [`ns${n}`, { perCall: 0.002, unit: 'usd' }]))
  const cache = createCache({ l3: { sqlite: path }, metrics: { sampleEvery: 1, costs } })
  for (let n = 0; n < NAMESPACES; n++) {
    const ns = cache.namespace(`ns${n}`)
    for (let round = 0; round < 3; round++) {
      for (let k = 0; k < 50; k++) await ns.getOrSet(`k${k}`, async () => ({ n, k }), { ttl: round === 0 ? 1 : 60_000 })
      for (let k = 0; k < 5; k++) await ns.get(`absent${k}`)
    }
  }
  return cache
}

/** `rows` moved to the step of `span` at `minute`, in `instance`. */
const at = (rows, span, minute, instance) => rows.map((row) => ({ ...row, span, minute, instance }))
const RETENTION_MS = 30 * DAY

export default {
  name: 'history',
  title: 'Stats history on SQLite: one busy instance, 10 namespaces, 30 days kept',
  async run(timing) {
    const dir = tempDir('history')
    const closers = []
    try {
      const cache = await busyCache(join(dir.path, 'cache.db'))
      closers.push(() => cache.close())
      const minute = rollupRows(new Map(), flatten(await cache.metrics()), 0, 'a1b2c3d4e5f6')

      // 30 days as the history keeps them: every resolution, each step with the busy minute's series.
      const path = join(dir.path, 'history.db')
      const store = new SqliteHistoryStore(openSqliteDatabase(path), true)
      closers.push(() => store.close())
      const fillStarted = process.hrtime.bigint()
      for (const { spanMs, keepMs } of SPANS) {
        for (let t = NOW - Math.min(keepMs, RETENTION_MS); t < NOW; t += spanMs) await store.write(at(minute, spanMs, t, 'a1b2c3d4e5f6'))
      }
      const fillMs = Number(process.hrtime.bigint() - fillStarted) / 1e6
      const db = openSqliteDatabase(path)
      db.pragma('wal_checkpoint(TRUNCATE)')
      const { n: stored } = db.prepare('SELECT COUNT(*) AS n FROM tiercache_metric_rollups').get()
      db.close()
      const bytes = statSync(path).size

      const history = createMetricsHistory(store, { timer: false, now: () => NOW })
      // A recorder over the real cache, a minute further at every flush; its rows go past NOW.
      let clock = NOW
      const recorder = createMetricsHistory(new SqliteHistoryStore(openSqliteDatabase(path), true), {
        source: () => cache.metrics(),
        instance: 'recorder',
        timer: false,
        now: () => (clock += MIN),
      })
      closers.push(() => recorder.close())
      let nextMinute = NOW + 365 * DAY
      const rows = await measure(
        [
          {
            name: `write one flush (${minute.length} series × 4 resolutions, one transaction)`,
            fn: () => store.write(inEverySpan(at(minute, MIN, (nextMinute += MIN), 'writer'))),
          },
          { name: 'flush: cache.metrics(), deltas, write', fn: () => recorder.flush() },
          ...['1h', '24h', '7d', '30d'].map((range) => ({ name: `query range=${range}`, fn: () => history.query({ range }) })),
        ],
        timing,
      )

      const perRow = bytes / stored
      const minuteOnly = 30 * 1440 * minute.length
      return {
        rows,
        notes: [
          `A busy minute writes ${minute.length} rows (every series of the workload moving; a quiet series writes none). ` +
            `30 days kept: ${stored.toLocaleString('en')} rows, ${(bytes / 2 ** 20).toFixed(1)} MiB (${perRow.toFixed(0)} bytes a row with its index), ` +
            `filled in ${(fillMs / 1000).toFixed(1)} s. Minute rows kept 30 days instead would be ${minuteOnly.toLocaleString('en')} rows, ` +
            `about ${((minuteOnly * perRow) / 2 ** 30).toFixed(1)} GiB.`,
        ],
      }
    } finally {
      for (const close of closers.reverse()) await Promise.resolve().then(close).catch(() => undefined)
      dir.remove()
    }
  },
}
