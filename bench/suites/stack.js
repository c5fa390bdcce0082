// Suite 4: reads and writes through the whole engine with no L1, so that every read is served by
// the SQLite L3, next to the same operations on the bare tier: the difference is what the engine
// (validation, counters, invalidation log, circuit breaker, deferred opening, single flight) costs.
import { join } from 'node:path'
import { createCache } from '../../dist/index.js'
import { createSqliteTier } from '../../dist/tiers/sql/sqlite/index.js'
import { VALUE, WARM_KEY, fillKeys, randomKey, tempDir } from '../lib/fixtures.js'
import { figures, formatDuration, measure } from '../lib/harness.js'
import { TTL_MS, tierStore } from '../lib/stores.js'

const NAMESPACE = 'bench'

export default {
  name: 'stack',
  title: 'Through the stack, L1 miss: createCache({ l1: false, l3: sqlite }) vs the bare SQLite tier',
  async run(timing) {
    const dir = tempDir('stack')
    const path = join(dir.path, 'cache.db')
    // Opened the way createCache opens its L3, so the two sides differ by the engine only.
    const cache = createCache({ namespace: NAMESPACE, ttl: TTL_MS, l1: false, l3: { sqlite: path, cleanupInterval: 0 } })
    let tier
    try {
      await fillKeys((key) => cache.set(key, VALUE))
      // The bare tier on the same file (WAL lets two connections share it): same rows, same pages.
      tier = createSqliteTier({ path, cleanupIntervalMs: 0 })
      const bare = tierStore(tier, NAMESPACE)

      let misses = 0
      const hit = (value) => {
        if (value === undefined) misses++
      }
      const factory = () => {
        throw new Error('the factory ran: the key was not in L3')
      }
      const rows = await measure(
        [
          { name: 'get warm · bare tier', fn: async () => hit(await bare.get(WARM_KEY)) },
          { name: 'get warm · cache.get', fn: async () => hit(await cache.get(WARM_KEY)) },
          { name: 'get warm · cache.getOrSet', fn: async () => hit(await cache.getOrSet(WARM_KEY, factory)) },
          { name: 'get random · bare tier', fn: async (i) => hit(await bare.get(randomKey(i))) },
          { name: 'get random · cache.get', fn: async (i) => hit(await cache.get(randomKey(i))) },
          { name: 'set warm · bare tier', fn: () => bare.set(WARM_KEY) },
          { name: 'set warm · cache.set', fn: () => cache.set(WARM_KEY, VALUE) },
        ],
        timing,
      )
      if (misses > 0) throw new Error(`${misses} reads missed: the rows are not L3 hits`)
      return { rows, notes: [overheadNote(rows)] }
    } finally {
      await tier?.close().catch(() => undefined)
      await cache.close().catch(() => undefined)
      dir.remove()
    }
  },
}

/**
 * The engine's cost per call: the engine row's p50 minus the bare tier's. The median, not the mean:
 * a difference of a few µs between two ~10 µs means drowns in one GC pause or preemption.
 */
function overheadNote(rows) {
  const pairs = [
    ['get warm · cache.get', 'get warm · bare tier'],
    ['get warm · cache.getOrSet', 'get warm · bare tier'],
    ['get random · cache.get', 'get random · bare tier'],
    ['set warm · cache.set', 'set warm · bare tier'],
  ]
  const parts = pairs.map(([engine, bare]) => {
    const a = figures(rows, engine)
    const b = figures(rows, bare)
    if (a === undefined || b === undefined) return `${engine}: -`
    const extra = a.p50 - b.p50
    const [operation, call] = engine.split(' · ')
    const sign = extra < 0 ? '−' : '+'
    return `${call} (${operation}) ${sign}${formatDuration(Math.abs(extra))} (${sign}${Math.abs((100 * extra) / b.p50).toFixed(0)}%)`
  })
  return `engine overhead over the bare tier (p50): ${parts.join('; ')}.`
}
