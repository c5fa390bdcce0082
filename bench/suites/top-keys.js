// Suite: the top-keys sketch the REST entry routes feed on every lookup (src/metrics/top-keys.ts),
// against an exact count in a Map, the cost the sketch must stay close to while bounding memory.
import { TopKeys } from '../../dist/metrics/top-keys.js'
import { figures, formatRatio, measure } from '../lib/harness.js'

const BATCH = 1000
const DISTINCT = 100_000

/** A Zipf(1) stream of key indexes from a seeded PRNG (mulberry32), drawn once before timing. */
function zipfIndexes(length, distinct, seed) {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const cumulative = []
  let sum = 0
  for (let r = 1; r <= distinct; r++) cumulative.push((sum += 1 / r))
  return Array.from({ length }, () => {
    const u = random() * sum
    let lo = 0
    let hi = distinct - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid] < u) lo = mid + 1
      else hi = mid
    }
    return lo
  })
}

export default {
  name: 'top-keys',
  title: 'Top keys: one lookup counted in the Space-Saving sketch of its tenant',
  async run(timing) {
    const keys = Array.from({ length: DISTINCT }, (_, i) => `key-${i}`)
    const stream = zipfIndexes(1 << 16, DISTINCT, 42).map((i) => keys[i])
    const mask = stream.length - 1
    const hot = new TopKeys()
    const zipf = new TopKeys()
    const cold = new TopKeys()
    const exact = new Map()
    // The exact count of the same stream: a Map of every key ever seen (unbounded memory).
    const exactCount = (key) => exact.set(key, (exact.get(key) ?? 0) + 1)
    const rows = await measure(
      [
        { name: 'exact: Map get + set (unbounded)', fn: (i) => exactCount(stream[i & mask]), batch: BATCH },
        { name: 'sketch: one hot key', fn: () => hot.count('acme', 'flights', 'LHR'), batch: BATCH },
        { name: 'sketch: Zipf(1) over 100k keys', fn: (i) => zipf.count('acme', 'flights', stream[i & mask]), batch: BATCH },
        { name: 'sketch: every key new (replacements)', fn: (i) => cold.count('acme', 'flights', keys[i % DISTINCT]), batch: BATCH },
      ],
      timing,
    )
    const monitored = zipf.top(1)[0]
    return {
      rows,
      notes: [
        `p50/p99 are means of ${BATCH}-call batches; 100 counters per tenant (the server's default), whatever the number of keys.`,
        ratio(rows),
        monitored === undefined ? '' : `busiest key of the Zipf stream: ${monitored.key}, counted ${monitored.count} (error ${monitored.error}).`,
      ],
    }
  },
}

function ratio(rows) {
  const exact = figures(rows, 'exact: Map get + set (unbounded)')
  const zipf = figures(rows, 'sketch: Zipf(1) over 100k keys')
  if (exact === undefined || zipf === undefined) return ''
  return `ratio: the sketch on a Zipf stream takes ${formatRatio(zipf.mean / exact.mean)} the time of the exact Map count.`
}
