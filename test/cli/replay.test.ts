import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { describe, expect, it, onTestFinished } from 'vitest'
import { formatReport } from '../../src/cli/replay/report.js'
import { type ReplayOptions, runReplay } from '../../src/cli/replay/run.js'
import type { Trace } from '../../src/cli/replay/trace.js'
import { isTiercacheError } from '../../src/errors.js'
import { hasTrace, tracePath } from './traces.js'

/** An in-memory trace of `keys`. */
function traceOf(keys: readonly string[], name = 'test'): Trace {
  let done = 0
  return {
    name,
    progress: () => done / keys.length,
    async *[Symbol.asyncIterator]() {
      for (const key of keys) {
        done++
        yield key
      }
    },
    async *batches() {
      done = keys.length
      yield keys
    },
  }
}

const loop = (distinct: number, rounds: number) => Array.from({ length: distinct * rounds }, (_, i) => String(i % distinct))

// Sequential and without origin delay: hit ratios are those of a textbook LRU.
const exact: Partial<ReplayOptions> = { concurrency: 1, originLatencyMs: 0 }

async function rejection(run: Promise<unknown>): Promise<unknown> {
  try {
    await run
  } catch (error) {
    return error
  }
  throw new Error('expected a rejection')
}

describe('runReplay, figures computable by hand', () => {
  it('a loop over 3 keys with an L1 of 2 entries and no L3: LRU never hits', async () => {
    const report = await runReplay({ ...exact, trace: traceOf(loop(3, 100)), l1: { maxEntries: 2 }, l3: false })
    expect(report.requests).toBe(300)
    expect(report.uniqueKeys).toBe(3)
    expect(report.tiers.l1).toMatchObject({ enabled: true, kind: 'memory', hits: 0, misses: 300, hitRatio: 0, entries: 2 })
    expect(report.tiers.l3).toMatchObject({ enabled: false, hits: 0, hitRatio: 0 })
    expect(report.originCalls).toBe(300)
    expect(report.originCallsSaved).toBe(0)
    expect(report.overallHitRatio).toBe(0)
    expect(report.maxHitRatio).toBeCloseTo(297 / 300, 12)
  })

  it('the same loop with an SQLite L3: every repeat hits L3', async () => {
    const report = await runReplay({ ...exact, trace: traceOf(loop(3, 100)), l1: { maxEntries: 2 } })
    expect(report.setup.l3).toBe('sqlite (temporary file)')
    expect(report.tiers.l1.hits).toBe(0)
    expect(report.tiers.l3).toMatchObject({ enabled: true, kind: 'sqlite', hits: 297, misses: 3, errors: 0, entries: 3 })
    expect(report.tiers.l3.hitRatio).toBeCloseTo(297 / 300, 12)
    expect(report.originCalls).toBe(3)
    expect(report.overallHitRatio).toBeCloseTo(report.maxHitRatio, 12)
  })

  it('1 2 1 2 3 1 with an L1 of 2: two L1 hits, then 3 evicts 1, which L3 answers', async () => {
    const keys = ['1', '2', '1', '2', '3', '1']
    const withoutL3 = await runReplay({ ...exact, trace: traceOf(keys), l1: { maxEntries: 2 }, l3: false })
    expect([withoutL3.tiers.l1.hits, withoutL3.originCalls]).toEqual([2, 4])
    const withL3 = await runReplay({ ...exact, trace: traceOf(keys), l1: { maxEntries: 2 } })
    expect([withL3.tiers.l1.hits, withL3.tiers.l3.hits, withL3.originCalls]).toEqual([2, 1, 3])
    expect(withL3.overallHitRatio).toBeCloseTo(3 / 6, 12)
    expect(withL3.tiers.l1.hitRatio + withL3.tiers.l3.hitRatio).toBeCloseTo(withL3.overallHitRatio, 12)
  })

  it('without L1, an L3 alone answers every repeat', async () => {
    const report = await runReplay({ ...exact, trace: traceOf(loop(5, 4)), l1: false })
    expect(report.setup.l1).toBe(false)
    expect(report.tiers.l1.enabled).toBe(false)
    expect(report.tiers.l3.hits).toBe(15)
    expect(report.originCalls).toBe(5)
  })

  it('--limit stops early', async () => {
    const report = await runReplay({ ...exact, trace: traceOf(loop(10, 10)), l3: false, limit: 25 })
    expect(report.requests).toBe(25)
    expect(report.setup.limit).toBe(25)
  })

  it('concurrent requests for a key in flight share one origin call (coalesced)', async () => {
    const report = await runReplay({ trace: traceOf(['a', 'a', 'a', 'a']), l3: false, concurrency: 4, originLatencyMs: 20 })
    expect(report.originCalls).toBe(1)
    expect(report.coalesced).toBe(3)
    expect(report.hits).toBe(0)
    expect(report.originCallsSaved).toBe(3)
  })

  it('reports latencies, throughput and progress', async () => {
    const progress: number[] = []
    const report = await runReplay({
      trace: traceOf(loop(10, 20)),
      l3: false,
      concurrency: 4,
      originLatencyMs: 1,
      onProgress: (p) => progress.push(p.fraction),
      progressIntervalMs: 0,
    })
    const { p50Ms, p90Ms, p99Ms, p999Ms, maxMs } = report.latency
    expect(p50Ms).toBeGreaterThan(0)
    expect([p50Ms, p90Ms, p99Ms, p999Ms, maxMs]).toEqual([p50Ms, p90Ms, p99Ms, p999Ms, maxMs].sort((a, b) => a - b))
    // An origin call waits at least 1 ms; hits take far less.
    expect(maxMs).toBeGreaterThanOrEqual(0.9)
    expect(report.elapsedMs).toBeGreaterThan(0)
    expect(report.throughput).toBeCloseTo(report.requests / (report.elapsedMs / 1000), 6)
    expect(progress.at(-1)).toBe(1)
    expect(progress.length).toBeGreaterThan(10)
  })
})

describe('progress of a trace file', () => {
  // The bar showed the bytes the file stream had read: 64 KiB read-ahead chunks, for gzip tens of
  // thousands of keys each, so it stood still, then jumped, and its ETA climbed meanwhile.
  it.each([
    ['gzip', true],
    ['plain text', false],
  ])('moves with the requests of a %s trace, in small steps, up to 1', async (_name, gzip) => {
    const dir = mkdtempSync(join(tmpdir(), 'tiercache-progress-'))
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }))
    const requests = 40_000
    const text = loop(1000, requests / 1000).join('\n') + '\n'
    const path = join(dir, gzip ? 'trace.keys.gz' : 'trace.keys')
    writeFileSync(path, gzip ? gzipSync(text) : text)
    const seen: { requests: number; fraction: number }[] = []
    await runReplay({ ...exact, trace: path, l3: false, onProgress: (p) => seen.push(p), progressIntervalMs: 0 })
    const during = seen.slice(0, -1)
    expect(during.length).toBeGreaterThan(requests / 2)
    // Every report within 1 % of the share of requests answered; never backwards.
    for (const [index, { requests: answered, fraction }] of during.entries()) {
      expect(Math.abs(fraction - answered / requests), `report ${index}`).toBeLessThan(0.01)
      expect(fraction).toBeGreaterThanOrEqual(during[index - 1]?.fraction ?? 0)
    }
    expect(seen.at(-1)?.fraction).toBe(1)
  })
})

describe.skipIf(!hasTrace('glimpse.keys.gz'))('runReplay on the glimpse trace', () => {
  it('gives the reference LRU hit ratio at 1,000 entries: 11.21%', async () => {
    const report = await runReplay({ ...exact, trace: tracePath('glimpse.keys.gz'), l1: { maxEntries: 1000 }, l3: false })
    expect(report.requests).toBe(6015)
    expect(report.uniqueKeys).toBe(2529)
    expect(report.tiers.l1.hitRatio * 100).toBeCloseTo(11.21, 0)
    expect(Math.abs(report.tiers.l1.hitRatio * 100 - 11.21)).toBeLessThanOrEqual(0.3)
  })

  it('reaches the compulsory-miss bound with an unbounded L3', async () => {
    const report = await runReplay({ ...exact, trace: tracePath('glimpse.keys.gz'), l1: { maxEntries: 1000 } })
    expect(report.originCalls).toBe(2529)
    expect(report.overallHitRatio).toBeCloseTo(1 - 2529 / 6015, 12)
  })
})

describe('runReplay, errors and clean-up', () => {
  it('rejects an empty trace with TC_INVALID_TRACE', async () => {
    const error = await rejection(runReplay({ trace: traceOf([]), l3: false }))
    expect(isTiercacheError(error, 'TC_INVALID_TRACE')).toBe(true)
  })

  it('rejects bad options with TC_INVALID_OPTIONS', async () => {
    for (const bad of [{ concurrency: 0 }, { originLatencyMs: -1 }, { valueBytes: 2_000_000 }, { l1: { maxEntries: 0 } }, { limit: 1.5 }]) {
      const error = await rejection(runReplay({ trace: traceOf(['1']), l3: false, ...bad }))
      expect(isTiercacheError(error, 'TC_INVALID_OPTIONS')).toBe(true)
    }
  })

  it('fails with TC_TIER_UNAVAILABLE when the L3 cannot be opened', async () => {
    // A path under a regular file: no folder can be made there.
    const file = `${tmpdir()}/tiercache-replay-test-${process.pid}.file`
    writeFileSync(file, '')
    const error = await rejection(runReplay({ trace: traceOf(['1']), l3: { sqlite: `${file}/cache.db` } }))
    rmSync(file)
    expect(isTiercacheError(error, 'TC_TIER_UNAVAILABLE')).toBe(true)
  })

  it('stops on abort, and deletes its temporary SQLite folder', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('tiercache-replay-'))
    const controller = new AbortController()
    const run = runReplay({
      trace: traceOf(loop(1000, 10)),
      concurrency: 2,
      originLatencyMs: 1,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.requests > 50) controller.abort(new Error('stop'))
      },
      progressIntervalMs: 0,
    })
    const error = await rejection(run)
    expect((error as Error).message).toBe('stop')
    const after = readdirSync(tmpdir()).filter((name) => name.startsWith('tiercache-replay-'))
    expect(after.filter((name) => !before.includes(name))).toEqual([])
  })

  it('uses a namespace of its own on a given L3 and clears it afterwards', async () => {
    const path = `${tmpdir()}/tiercache-replay-test-${process.pid}/cache.db`
    onTestFinished(() => rmSync(dirname(path), { recursive: true, force: true }))
    const first = await runReplay({ ...exact, trace: traceOf(loop(3, 2)), l3: { sqlite: path } })
    // Nothing left from the first run: the second starts cold.
    const second = await runReplay({ ...exact, trace: traceOf(loop(3, 2)), l3: { sqlite: path } })
    expect(first.originCalls).toBe(3)
    expect(second.originCalls).toBe(3)
    expect(second.setup.l3).toBe(`sqlite:${path}`)
  })

  it('formats a readable report', async () => {
    const report = await runReplay({ ...exact, trace: traceOf(['1', '2', '1', '2', '3', '1'], 'six.txt'), l1: { maxEntries: 2 } })
    const text = formatReport(report)
    expect(text).toContain('six.txt')
    expect(text).toMatch(/L1 memory\s+2\s+4\s+33\.33%/)
    expect(text).toMatch(/L3 sqlite\s+1\s+3\s+16\.67%\s+3/)
    expect(text).toMatch(/total\s+3\s+50\.00%/)
    expect(text).toMatch(/origin calls\s+3 \(3 saved\)/)
    expect(text).toMatch(/p99\.9/)
  })

  it('does not print a password of a PostgreSQL L3', async () => {
    const { describeL3 } = await import('../../src/cli/replay/run.js')
    expect(describeL3({ postgres: 'postgres://user:s3cret@db.example:5432/app' })).toBe('postgres:postgres://user:***@db.example:5432/app')
  })
})
