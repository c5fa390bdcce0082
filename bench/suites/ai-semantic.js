// Suite: the semantic layer of the AI cache (src/ai/semantic/). Two tables:
//  (a) quality on the labelled set of the tests (test/ai/semantic/labelled-set.json) with the
//      hashing embedder: hit rate and wrong-hit rate at fixed thresholds and in verified mode (vCache,
//      arXiv 2502.03771), and the same with an embedder blind to the specifics of a question;
//  (b) search latency of the exact vector indexes (memory, SQLite, PostgreSQL) with 10k and 100k
//      random normalised vectors of 512 dimensions in one partition.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { URL } from 'node:url'
import Database from 'better-sqlite3'
import postgres from 'postgres'
import { hashingEmbedder } from '../../dist/ai/semantic/embedder.js'
import { evaluate } from '../../dist/ai/semantic/evaluate.js'
import { postgresVectorIndex } from '../../dist/ai/semantic/postgres-index.js'
import { sqliteVectorIndex } from '../../dist/ai/semantic/sqlite-index.js'
import { memoryVectorIndex } from '../../dist/ai/semantic/vector-index.js'
import { POSTGRES_URL, RUN_ID, probePostgres, redact } from '../lib/fixtures.js'
import { measure } from '../lib/harness.js'

const DIMENSIONS = 512
const SIZES = [10_000, 100_000]
const K = 4
const FILL_BATCH = 1000
const ROUNDS = 3
const QUERIES = 64

const LABELLED_SET = JSON.parse(readFileSync(new URL('../../test/ai/semantic/labelled-set.json', import.meta.url), 'utf8'))

export default {
  name: 'ai-semantic',
  title: 'AI semantic cache: matching quality on the labelled set, and exact vector search latency (512 dimensions)',
  async run(timing) {
    const quality = await qualityTable()
    const { rows, notes } = await latencyRows(timing)
    // run.js prints the rows (table b) first, then the notes: b's note, then table (a).
    return { rows, notes: [...notes, quality] }
  },
}

/** Table (a), as markdown. */
async function qualityTable() {
  const embedders = [
    ['hashing', hashingEmbedder()],
    ['hashing, blind to specifics', hashingEmbedder({ weights: { specific: 0.3 } })],
  ]
  const configs = [
    ...[0.8, 0.85, 0.9, 0.95].map((threshold) => [`threshold ${threshold.toFixed(2)}`, { mode: 'threshold', threshold }]),
    ...[0.05, 0.1].map((delta) => [`verified δ = ${delta}`, { mode: 'verified', delta }]),
  ]
  const header = ['embedder', 'matcher', 'queries', 'hits', 'hit rate', 'wrong hits', 'wrong-hit rate', 'explored']
  const body = []
  for (const [embedderName, embedder] of embedders) {
    for (const [configName, config] of configs) {
      const r = await evaluate(LABELLED_SET, embedder, config, { rounds: ROUNDS, seed: 1 })
      body.push([embedderName, configName, r.queries, r.hits, pct(r.hitRate), r.wrongHits, pct(r.wrongHitRate), r.explored].map(String))
    }
  }
  const questions = LABELLED_SET.questions
  const followUps = questions.reduce((n, q) => n + q.paraphrases.length + q.nearMisses.length, 0)
  return [
    '### (a) Matching quality on the labelled set',
    '',
    markdownTable(header, body, [false, false, true, true, true, true, true, true]),
    '',
    `${questions.length} base questions asked once, then their ${followUps} paraphrases and near misses in a seeded shuffled order, ${ROUNDS} rounds; ` +
      'hit rate = hits / queries, wrong-hit rate = wrong hits / hits; explored = upstream calls judged and recorded (verified mode). ' +
      'Verified mode: confidence 0.95, band 0.1, prior weight 100, sample rate 0.05 (the defaults).',
  ].join('\n')
}

/** Table (b): one row per index and size, timed with the harness; PostgreSQL skipped with a note when unreachable. */
async function latencyRows(timing) {
  const notes = []
  const tasks = []
  const cleanups = []
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-bench-semantic-'))
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }))
  const queries = Array.from({ length: QUERIES }, (_, i) => randomUnit(1_000_000 + i))
  const fills = []
  try {
    const memory = memoryVectorIndex({ maxEntries: SIZES.reduce((a, b) => a + b, 0) })
    cleanups.push(() => memory.close())
    const database = new Database(join(dir, 'vectors.db'))
    database.pragma('journal_mode = WAL')
    database.pragma('synchronous = NORMAL')
    cleanups.push(() => database.close())
    const sqlite = sqliteVectorIndex({ database })
    const indexes = [
      ['memory', memory],
      ['sqlite', sqlite],
    ]
    const unreachable = await probePostgres(POSTGRES_URL)
    if (unreachable === undefined) {
      const sql = postgres(POSTGRES_URL, { max: 2, onnotice: () => {} })
      const table = `bench_ai_vectors_${RUN_ID}`
      cleanups.push(async () => {
        await sql`drop table if exists ${sql(table)}`
        await sql.end({ timeout: 1 })
      })
      indexes.push(['postgres', postgresVectorIndex({ sql, table })])
    } else {
      notes.push(`postgres skipped: ${redact(POSTGRES_URL)} is unreachable (${unreachable}); set BENCH_POSTGRES_URL.`)
    }
    for (const [name, index] of indexes) {
      for (const size of SIZES) {
        const partition = `p${size}`
        const started = Date.now()
        for (let i = 0; i < size; i += FILL_BATCH) {
          const records = Array.from({ length: Math.min(FILL_BATCH, size - i) }, (_, j) => ({ id: `e${i + j}`, vector: randomUnit(i + j + 1) }))
          await index.addMany(partition, records)
        }
        fills.push(`${name} ${formatSize(size)} ${((Date.now() - started) / 1000).toFixed(1)} s`)
        tasks.push({ name: `${name}: nearest (k=${K}) of ${formatSize(size)}`, fn: (i) => index.nearest(partition, queries[i % QUERIES], K) })
      }
    }
    const rows = await measure(tasks, timing)
    notes.push(
      `Above, (b) search latency per query, one at a time; exact scan of one partition, ${DIMENSIONS} dimensions, seeded random unit vectors. ` +
        `Filled with addMany in batches of ${FILL_BATCH} (one transaction each): ${fills.join(', ')}. ` +
        'SQLite: a WAL file in a temp folder, with its default page cache (2 MiB), so the 100k partition (200 MiB) is read from the OS cache; ' +
        'PostgreSQL: a table of this run, streamed with a cursor (5000 rows a round trip, bytea as hex).',
    )
    return { rows, notes }
  } finally {
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined)
  }
}

/** A seeded unit vector (xorshift32 from the seed), the same in every run. */
function randomUnit(seed) {
  let s = Math.imul(seed, 2654435761) >>> 0 || 1
  const out = new Float32Array(DIMENSIONS)
  let sum = 0
  for (let i = 0; i < DIMENSIONS; i++) {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    const x = ((s >>> 0) / 4294967296) * 2 - 1
    out[i] = x
    sum += x * x
  }
  const scale = 1 / Math.sqrt(sum)
  for (let i = 0; i < DIMENSIONS; i++) out[i] *= scale
  return out
}

function formatSize(n) {
  return n >= 1000 ? `${n / 1000}k` : String(n)
}

function pct(x) {
  return `${(x * 100).toFixed(1)}%`
}

function markdownTable(header, body, right) {
  const widths = header.map((h, c) => Math.max(h.length, ...body.map((cells) => cells[c].length)))
  const line = (cells) => '| ' + cells.map((cell, c) => (right[c] ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join(' | ') + ' |'
  const rule = '|' + widths.map((w, c) => (right[c] ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|') + '|'
  return [line(header), rule, ...body.map(line)].join('\n')
}
