/**
 * `tiercache replay --sizes`: the hit ratio of several L1 sizes and eviction policies from one pass,
 * through the real memory tier; on small traces computable by hand, and on every shared trace.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { hitRatioChart } from '../../src/cli/replay/chart.js'
import { type SizingReport, runSizing } from '../../src/cli/replay/sizes.js'
import { inProcess } from './run.js'
import { hasTrace, tracePath } from './traces.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-replay-sizes-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// Three keys in a loop, 100 rounds: an LRU of 2 never hits; of 3, all but the first 3 requests hit.
const LOOP = join(dir, 'loop.keys')
writeFileSync(LOOP, Array.from({ length: 300 }, (_, i) => `k${i % 3}`).join('\n') + '\n')

const ratio = (report: SizingReport, entries: number, eviction: string) => report.points.find((point) => point.entries === entries && point.eviction === eviction)?.hitRatio

describe('runSizing', () => {
  it('gives each size its own L1 in one pass: an LRU of 2 never hits a loop of 3, one of 3 hits all but the first', async () => {
    const report = await runSizing({ trace: LOOP, sizes: [2, 3, 10], evictions: ['lru'] })
    expect(report.requests).toBe(300)
    expect(report.points.map((point) => [point.entries, point.hits])).toEqual([
      [2, 0],
      [3, 297],
      [10, 297],
    ])
  })

  it('stops at --limit, and refuses bad sizes and an empty trace with their codes', async () => {
    expect((await runSizing({ trace: LOOP, sizes: [3], evictions: ['lru'], limit: 30 })).requests).toBe(30)
    for (const sizes of [[], [0], [1.5]]) await expect(runSizing({ trace: LOOP, sizes })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(runSizing({ trace: LOOP, sizes: Array.from({ length: 33 }, (_, i) => i + 1), evictions: ['lru', 'tinylfu'] })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    const empty = join(dir, 'empty.keys')
    writeFileSync(empty, '\n\n')
    await expect(runSizing({ trace: empty, sizes: [3] })).rejects.toMatchObject({ code: 'TC_INVALID_TRACE' })
  })
})

describe.skipIf(!hasTrace('glimpse.keys.gz'))('runSizing on the glimpse trace', () => {
  it('gives LRU its published 11.21 % at 1,000 entries, and TinyLFU far more (LIRS, the best published, gets 50.72 %)', async () => {
    const report = await runSizing({ trace: tracePath('glimpse.keys.gz'), sizes: [1000], evictions: ['lru', 'tinylfu'] })
    expect(report.requests).toBe(6015)
    expect(((ratio(report, 1000, 'lru') ?? 0) * 100).toFixed(2)).toBe('11.21')
    expect(ratio(report, 1000, 'tinylfu')).toBeGreaterThan(0.45)
  })
})

describe('the chart', () => {
  it('draws one line per policy, a point per size, and the sizes on a log scale when they span ten times', async () => {
    const report = await runSizing({ trace: LOOP, sizes: [1, 3, 30], evictions: ['lru', 'tinylfu'] })
    const svg = hitRatioChart(report)
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.match(/<path /g)).toHaveLength(2)
    expect(svg.match(/<circle /g)).toHaveLength(6)
    expect(svg).toContain('L1 size (entries, log scale)')
    expect(svg).toContain('>lru</text>')
    expect(svg).toContain('>tinylfu</text>')
    expect(svg).toContain(`<title>lru at 3: ${((ratio(report, 3, 'lru') ?? 0) * 100).toFixed(2)} %</title>`)
  })
})

describe('tiercache replay --sizes', () => {
  it('prints a row per size and a column per policy, writes the chart, and prints JSON with --json', async () => {
    const chart = join(dir, 'loop.svg')
    const run = await inProcess(['replay', LOOP, '--sizes', '2,3', '--eviction', 'lru,tinylfu', '--chart', chart])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/L1 entries\s+lru\s+tinylfu/)
    expect(run.stdout).toMatch(/\n\s+3\s+99\.00%\s+\d/)
    expect(readFileSync(chart, 'utf8')).toContain('<svg')
    const json = await inProcess(['replay', LOOP, '--sizes', '3', '--eviction', 'lru', '--json'])
    expect(JSON.parse(json.stdout)).toMatchObject({ requests: 300, points: [{ entries: 3, eviction: 'lru', hits: 297, hitRatio: 0.99 }] })
  })

  it('exits 2 for flags a sizing replay does not take, an unknown policy, and --chart without --sizes', async () => {
    const stray = await inProcess(['replay', LOOP, '--sizes', '3', '--l3', 'none'])
    expect(stray.code).toBe(2)
    expect(stray.stderr).toContain('--l3: a sizing replay (--sizes) drives L1s alone')
    const unknown = await inProcess(['replay', LOOP, '--sizes', '3', '--eviction', 'fifo'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain("--eviction takes lru, tinylfu, not 'fifo'")
    const alone = await inProcess(['replay', LOOP, '--chart', join(dir, 'x.svg')])
    expect(alone.code).toBe(2)
    expect(alone.stderr).toContain('add --sizes')
  })
})

describe.each(['glimpse', 'loop', 'oltp', 'scarab'])('the shared trace %s', (name) => {
  it.skipIf(!hasTrace(`${name}.keys.gz`))('replays at two sizes and both policies, with a chart', async () => {
    const chart = join(dir, `${name}.svg`)
    const run = await inProcess(['replay', tracePath(`${name}.keys.gz`), '--sizes', '500,5000', '--eviction', 'lru,tinylfu', '--chart', chart, '--json'])
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout) as SizingReport
    expect(report.points).toHaveLength(4)
    // A larger LRU never hits less (LRU is a stack algorithm).
    expect(ratio(report, 5000, 'lru')).toBeGreaterThanOrEqual(ratio(report, 500, 'lru') ?? 1)
    expect(readFileSync(chart, 'utf8').match(/<circle /g)).toHaveLength(4)
  }, 60_000)
})
