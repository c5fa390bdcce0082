// Suite: the L1's eviction policy (src/tiers/eviction, issue 13). Hit ratios on the shared traces
// (../shared/traces) beside LRU and Belady's OPT computed in the run and the published figures of
// other policies; then the policy's cost per request against lru-cache on a Zipf workload.
import { LRUCache } from 'lru-cache'
import { AdaptiveTinyLfu } from '../../dist/tiers/eviction/index.js'
import { REFERENCE_ROWS } from '../lib/eviction-reference.js'
import { simulateLru, simulateOpt, simulatePolicy } from '../lib/eviction-sim.js'
import { loadTrace, tracePath, TRACES_DIR } from '../lib/traces.js'
import { figures, formatRatio, measure } from '../lib/harness.js'

const BATCH = 1000
const ZIPF_KEYS = 1_000_000
const ZIPF_CAPACITY = 100_000
const STREAM = 1 << 21

export default {
  name: 'eviction',
  title: 'Eviction: hit ratio on the shared traces, and cost per request',
  async run(timing) {
    const notes = [hitRatioTable(), ...(await throughput(timing))]
    return { rows: notes.pop(), notes }
  },
}

const pct = (hits, n) => (n === 0 ? '-' : ((100 * hits) / n).toFixed(2))
const ref = (x) => (x === undefined ? '–' : x.toFixed(2))

function hitRatioTable() {
  const lines = [
    '| trace @ capacity | LRU | **tiercache** | OPT | ARC | LIRS | Caffeine | S3-FIFO | best online | tiercache − best |',
    '|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|',
  ]
  const opts = []
  const cache = new Map()
  for (const row of REFERENCE_ROWS) {
    if (tracePath(row.trace) === undefined) {
      lines.push(`| ${row.trace} @ ${row.capacity.toLocaleString('en')} | trace missing from ${TRACES_DIR} |`)
      continue
    }
    if (!cache.has(row.trace)) cache.set(row.trace, loadTrace(row.trace))
    const { keys, distinct } = cache.get(row.trace)
    const n = keys.length
    const lru = simulateLru(keys, distinct, row.capacity)
    const opt = simulateOpt(keys, distinct, row.capacity)
    const optInsert = simulateOpt(keys, distinct, row.capacity, { bypass: false })
    const ours = simulatePolicy(keys, new AdaptiveTinyLfu({ maxEntries: row.capacity }))
    // LRU is an online policy too (and the best published one on scarab).
    const online = [Number(pct(lru, n)), row.arc, row.lirs, row.caffeine, row.s3fifo].filter((x) => x !== undefined)
    const best = Math.max(...online)
    const delta = Number(pct(ours, n)) - best
    lines.push(
      `| ${row.trace} @ ${row.capacity.toLocaleString('en')} | ${pct(lru, n)} | **${pct(ours, n)}** | ${pct(opt, n)} | ` +
        `${ref(row.arc)} | ${ref(row.lirs)} | ${ref(row.caffeine)} | ${ref(row.s3fifo)} | ${best.toFixed(2)} | ${delta >= 0 ? '+' : ''}${delta.toFixed(2)} |`,
    )
    opts.push(`${row.trace}@${row.capacity} ${pct(optInsert, n)}`)
  }
  return [
    'Hit ratio (%), unit-size objects; LRU, tiercache (AdaptiveTinyLfu, defaults) and OPT computed in this run,',
    'the other columns published (issue 13; ARC and OLTP: Megiddo & Modha, FAST 2003; LIRS, glimpse and loop:',
    'Jiang & Zhang, SIGMETRICS 2002; Caffeine 3.2.2; S3-FIFO: Yang et al., SOSP 2023).',
    '',
    ...lines,
    '',
    `OPT is Belady's MIN with bypass (a newcomer used later than every resident is not stored); always inserting: ${opts.join(', ')}.`,
  ].join('\n')
}

/** A Zipf(1) stream of key indexes over `distinct` keys, from a seeded PRNG (mulberry32). */
function zipfStream(length, distinct, seed) {
  let state = seed >>> 0
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
  const cumulative = new Float64Array(distinct)
  let sum = 0
  for (let r = 0; r < distinct; r++) cumulative[r] = sum += 1 / (r + 1)
  const out = new Int32Array(length)
  for (let i = 0; i < length; i++) {
    const u = random() * sum
    let lo = 0
    let hi = distinct - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (cumulative[mid] < u) lo = mid + 1
      else hi = mid
    }
    out[i] = lo
  }
  return out
}

async function throughput(timing) {
  const names = Array.from({ length: ZIPF_KEYS }, (_, i) => `key-${i}`)
  const stream = zipfStream(STREAM, ZIPF_KEYS, 7)
  const mask = STREAM - 1
  const policy = new AdaptiveTinyLfu({ maxEntries: ZIPF_CAPACITY })
  const climber = new AdaptiveTinyLfu({ maxEntries: ZIPF_CAPACITY, adaptation: 'climber' })
  const lru = new LRUCache({ max: ZIPF_CAPACITY })
  const map = new Map()
  const counts = { policy: [0, 0], climber: [0, 0], lru: [0, 0] }
  // get-and-set-on-miss, as a read-through L1 does; the value is the key itself.
  const viaPolicy = (p, c) => (i) => {
    const key = names[stream[i & mask]]
    if (p.access(key)) c[0]++
    else p.record(key, 1)
    c[1]++
  }
  const viaLru = (i) => {
    const key = names[stream[i & mask]]
    if (lru.get(key) !== undefined) counts.lru[0]++
    else lru.set(key, key)
    counts.lru[1]++
  }
  const floor = (i) => {
    const key = names[stream[i & mask]]
    if (map.get(key) === undefined) map.set(key, key)
  }
  // Warm every cache with one pass, so the timed part is the steady state.
  const tasks = [
    { name: 'floor: Map get + set on miss (unbounded)', fn: floor, batch: BATCH },
    { name: 'tiercache AdaptiveTinyLfu: access + record on miss', fn: viaPolicy(policy, counts.policy), batch: BATCH },
    { name: 'tiercache AdaptiveTinyLfu (hill climber)', fn: viaPolicy(climber, counts.climber), batch: BATCH },
    { name: 'lru-cache LRUCache: get + set on miss', fn: viaLru, batch: BATCH },
  ]
  for (const task of tasks) for (let i = 0; i < STREAM; i++) task.fn(i)
  for (const c of Object.values(counts)) c.fill(0)
  const rows = await measure(tasks, timing)
  const ours = figures(rows, tasks[1].name)
  const theirs = figures(rows, tasks[3].name)
  return [
    `Zipf(1) over ${ZIPF_KEYS.toLocaleString('en')} string keys, capacity ${ZIPF_CAPACITY.toLocaleString('en')}, get and set on miss; ` +
      `p50/p99 are means of ${BATCH}-call batches. Hit ratio while timed: AdaptiveTinyLfu ${pct(...counts.policy)} %, ` +
      `with the hill climber ${pct(...counts.climber)} %, lru-cache ${pct(...counts.lru)} %.`,
    ours === undefined || theirs === undefined ? '' : `ratio: AdaptiveTinyLfu runs ${formatRatio(ours.opsPerSec / theirs.opsPerSec)} lru-cache's ops/s.`,
    rows,
  ]
}
