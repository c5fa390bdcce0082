import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { type ComparisonReport, runComparison } from '../../src/cli/replay/compare.js'
import { definePolicy } from '../../src/index.js'
import { inProcess } from './run.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-replay-compare-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

// a and b alternate, one request a second: each key is asked for every 2 s, 4 times in all.
// A ttl under 2 s never hits; from 2 s to 4 s every other request of a key hits (2 of 4); above 6 s
// only the first misses (3 of 4).
const ALTERNATING = join(dir, 'alternating.keys')
writeFileSync(ALTERNATING, 'a\nb\na\nb\na\nb\na\nb\n')

// Out of season 1.5 s (never hits at 1 request/s); in the summer season ×2 = 3 s (half the repeats hit).
const POLICY = {
  seasons: { summer: { windows: [{ from: '06-01', to: '08-31' }], ttl: 2 } },
  multipliers: { role: { anon: 3 } },
  policies: { search: { ttl: '1500ms' }, quote: { ttl: '1h', grace: '1h' }, ahead: { ttl: '3s', refresh: { threshold: 0.1 } } },
}
const POLICY_FILE = join(dir, 'policy.json')
writeFileSync(POLICY_FILE, JSON.stringify(POLICY))

const WINTER = Date.parse('2027-01-10T00:00:00Z')
const SUMMER = Date.parse('2027-06-10T00:00:00Z')

const ratios = (report: ComparisonReport) => Object.fromEntries(report.runs.map((run) => [run.label, run.hitRatio]))

describe('runComparison: hit ratios computable by hand', () => {
  it('replays the trace once per ttl, on a fresh cache each time', async () => {
    const report = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 1500 }, { ttlMs: 2500 }, { ttlMs: 3_600_000 }], ratePerSecond: 1, startMs: WINTER, l3: false })
    expect(report.requests).toBe(8)
    expect(report.uniqueKeys).toBe(2)
    expect(report.maxHitRatio).toBe(6 / 8)
    expect(ratios(report)).toEqual({ '1500ms': 0, '2500ms': 4 / 8, '1h': 6 / 8 })
    expect(report.runs.map((run) => run.originCalls)).toEqual([8, 4, 2])
    expect(report.runs.every((run) => run.requests === 8 && run.l3HitRatio === 0 && run.tierErrors === 0)).toBe(true)
    expect(report.setup).toMatchObject({ ratePerSecond: 1, start: '2027-01-10T00:00:00.000Z', end: '2027-01-10T00:00:07.000Z', l3: 'none' })
  })

  it('spreads the requests by the rate: 2 requests a second make a 2.5 s ttl last 5 requests', async () => {
    // At 2/s each key is asked for every second: a 2.5 s ttl holds for the two repeats after a miss.
    const report = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 2500 }], ratePerSecond: 2, startMs: WINTER, l3: false })
    expect(ratios(report)).toEqual({ '2500ms': 4 / 8 })
    expect(report.setup.end).toBe('2027-01-10T00:00:03.500Z')
    const slower = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 2500 }], ratePerSecond: 0.5, startMs: WINTER, l3: false })
    expect(ratios(slower)).toEqual({ '2500ms': 0 })
  })

  it('counts L3 hits when L1 is too small to hold both keys', async () => {
    const report = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 3_600_000 }], ratePerSecond: 1, startMs: WINTER, l1: { maxEntries: 1 } })
    expect(report.runs[0]).toMatchObject({ hitRatio: 6 / 8, l1HitRatio: 0, l3HitRatio: 6 / 8, originCalls: 2 })
  })

  it("follows the policy's season at the virtual time, and the role's factor", async () => {
    const policies = definePolicy(POLICY)
    const winter = await runComparison({ trace: ALTERNATING, variants: [{ policy: 'search' }], policies, ratePerSecond: 1, startMs: WINTER, l3: false })
    const summer = await runComparison({ trace: ALTERNATING, variants: [{ policy: 'search' }], policies, ratePerSecond: 1, startMs: SUMMER, l3: false })
    expect(ratios(winter)).toEqual({ search: 0 })
    expect(ratios(summer)).toEqual({ search: 4 / 8 })
    expect(summer.runs[0]?.ttlAtStart).toEqual({ minMs: 3000, maxMs: 3000, graceMs: 0 })
    // anon ×3 in winter: 4.5 s. a misses at 0 s, hits at 2 and 4, misses at 6 (b likewise, 1 s later).
    const anon = await runComparison({ trace: ALTERNATING, variants: [{ policy: 'search' }], policies, role: 'anon', ratePerSecond: 1, startMs: WINTER, l3: false })
    expect(anon.runs[0]?.ttlAtStart.maxMs).toBe(4500)
    expect(ratios(anon)).toEqual({ search: 4 / 8 })
  })

  it('shows what refresh-ahead buys and costs: hits for origin calls', async () => {
    const policies = definePolicy(POLICY)
    const report = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 3000 }, { policy: 'ahead' }], policies, ratePerSecond: 1, startMs: WINTER, l3: false })
    // 3 s without refresh: each key misses at its 1st and 3rd request. With a refresh once 10% of the
    // ttl has passed, each repeat hits and refreshes: 3 hits and 4 origin calls per key.
    expect(ratios(report)).toEqual({ '3s': 4 / 8, ahead: 6 / 8 })
    expect(report.runs.map((run) => run.originCalls)).toEqual([4, 8])
  })

  it('reports a ttl that changes when a season begins between the first request and the last', async () => {
    const policies = definePolicy(POLICY)
    // 8 requests at one a second from 3 s before the summer begins.
    const report = await runComparison({ trace: ALTERNATING, variants: [{ policy: 'search' }], policies, ratePerSecond: 1, startMs: Date.parse('2027-06-01T00:00:00Z') - 3000, l3: false })
    expect(report.runs[0]?.ttlAtStart.maxMs).toBe(1500)
    expect(report.runs[0]?.ttlAtEnd.maxMs).toBe(3000)
    // Summer begins at request 3 (3 s). a: misses at 0 and 2 (1.5 s), at 4 (now 3 s, until 7 s), hits at 6.
    // b: misses at 1 (until 2.5 s), at 3 (until 6 s), hits at 5, misses at 7.
    expect(ratios(report)).toEqual({ search: 2 / 8 })
  })

  it('leaves Date.now as it found it, and refuses bad input before replaying', async () => {
    const before = Date.now
    await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 1000 }], ratePerSecond: 1, l3: false })
    expect(Date.now).toBe(before)
    await expect(runComparison({ trace: ALTERNATING, variants: [], l3: false })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(runComparison({ trace: ALTERNATING, variants: [{ policy: 'search' }], l3: false })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(runComparison({ trace: ALTERNATING, variants: [{ policy: 'nope' }], policies: definePolicy(POLICY), l3: false })).rejects.toMatchObject({ code: 'TC_UNKNOWN_POLICY' })
    await expect(runComparison({ trace: join(dir, 'missing.keys'), variants: [{ ttlMs: 1000 }], l3: false })).rejects.toMatchObject({ code: 'TC_INVALID_TRACE' })
    expect(Date.now).toBe(before)
  })

  it('refuses a second comparison while one runs: both would set Date.now', async () => {
    const first = runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 1000 }], l3: false })
    await expect(runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 1000 }], l3: false })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    expect((await first).requests).toBe(8)
  })

  it('deletes the temporary L3 of every run', async () => {
    const before = readdirSync(tmpdir()).filter((name) => name.startsWith('tiercache-replay-')).length
    const report = await runComparison({ trace: ALTERNATING, variants: [{ ttlMs: 1500 }, { ttlMs: 3_600_000 }], ratePerSecond: 1, startMs: WINTER, l1: { maxEntries: 1 } })
    expect(report.setup.l3).toBe('sqlite (temporary file)')
    expect(ratios(report)).toEqual({ '1500ms': 0, '1h': 6 / 8 })
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith('tiercache-replay-')).length).toBe(before)
  })
})

describe('tiercache replay --ttl / --policy', () => {
  it('prints the runs side by side, ttls first, then policies', async () => {
    const run = await inProcess(['replay', ALTERNATING, '--l3', 'none', '--ttl', '1500ms,1h', '--policy', 'search,quote', '--policy-file', POLICY_FILE, '--rate', '1', '--start', '2027-06-10'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    expect(run.stdout).toMatch(/^clock\s+virtual, 1 requests\/s, 2027-06-10T00:00:00.000Z to 2027-06-10T00:00:07.000Z$/m)
    const rows = run.stdout.split('\n').filter((line) => /^(1500ms|1h|search|quote) /.test(line)).map((line) => line.split(/\s{2,}/))
    expect(rows).toEqual([
      ['1500ms', '1.5s', '0', '0.00%', '0.00%', '-', '0', '8'],
      ['1h', '1h', '0', '75.00%', '75.00%', '-', '0', '2'],
      ['search', '3s', '0', '50.00%', '50.00%', '-', '0', '4'],
      ['quote', '2h', '1h', '75.00%', '75.00%', '-', '0', '2'],
    ])
    expect(run.stdout).toMatch(/^best possible\s+75.00%/m)
  })

  it('prints JSON with --json, with the context of the calls', async () => {
    const run = await inProcess(['replay', ALTERNATING, '--l3', 'none', '--policy', 'search', '--policy-file', POLICY_FILE, '--rate', '1', '--start', '2027-01-10', '--role', 'anon', '--context', 'market=x', '--json'])
    expect(run.code).toBe(0)
    const report = JSON.parse(run.stdout) as ComparisonReport
    expect(report.setup).toMatchObject({ role: 'anon', context: { market: 'x' } })
    expect(report.runs[0]).toMatchObject({ label: 'search', hitRatio: 0.5, ttlAtStart: { minMs: 4500, maxMs: 4500 } })
  })

  it.each([
    [['--ttl', '1m', '--concurrency', '4'], /--concurrency: a comparison/],
    [['--ttl', '1m', '--origin-latency', '5ms'], /--origin-latency: a comparison/],
    [['--rate', '10'], /--rate apply to a comparison/],
    [['--policy', 'search'], /--policy needs --policy-file/],
    [['--ttl', '1m,,5m'], /--ttl must be a comma-separated list/],
    [['--ttl', 'soon'], /--ttl/],
    [['--ttl', '1m', '--start', 'someday'], /--start must be a date/],
  ])('refuses %j with exit code 2', async (flags, message) => {
    const run = await inProcess(['replay', ALTERNATING, '--l3', 'none', ...flags])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(message)
    expect(run.stdout).toBe('')
  })

  it('exits 1 for a policy the file does not declare, naming it', async () => {
    const run = await inProcess(['replay', ALTERNATING, '--l3', 'none', '--policy', 'nope', '--policy-file', POLICY_FILE])
    expect(run.code).toBe(1)
    expect(run.stderr).toMatch(/TC_UNKNOWN_POLICY/)
    expect(run.stderr).toMatch(/nope/)
  })
})
