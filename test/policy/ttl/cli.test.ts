import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TtlExplanation } from '../../../src/policy/ttl/policies.js'
import { type Run, inProcess, root, spawnTiercache } from '../../cli/run.js'
import { EXAMPLE } from './fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-policy-cli-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
writeFileSync(join(dir, 'policy.json'), JSON.stringify(EXAMPLE))
writeFileSync(join(dir, 'policy.mjs'), `export default ${JSON.stringify({ ...EXAMPLE, policies: { search: { ttl: '5m', jitter: 0.2 } } })}\n`)

/** Runs the built command in `dir`, as users do. */
function tiercache(args: readonly string[]): Run {
  return spawnTiercache(args, dir)
}

const BRIEF = ['policy', 'explain', 'flightStatus', '--policy-file', 'policy.json', '--role', 'anon', '--freshness', 'realtime', '--volatility', 'high', '--market-tier', 'regional', '--date', '2026-07-01']

beforeAll(() => {
  // As test/cli/cli.test.ts: the command runs the compiled package; build it once.
  const started = Date.now()
  const build = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, encoding: 'utf8' })
  if (build.status !== 0 && /src\/(cli|policy)\//.test(build.stdout)) throw new Error(`the CLI does not compile:\n${build.stdout}`)
  expect(statSync(join(root, 'dist/cli/main.js')).mtimeMs).toBeGreaterThanOrEqual(started - 1000)
}, 180_000)

describe('tiercache policy explain (built, spawned)', () => {
  it('prints each step of the computation as a table, then the decision', () => {
    const run = tiercache(BRIEF)
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const lines = run.stdout.split('\n')
    expect(lines[0]).toBe('policy flightStatus at 2026-07-01T00:00:00.000Z')
    expect(lines[2]).toMatch(/^STEP\s+APPLIES\s+FACTOR\s+TTL BEFORE\s+TTL AFTER$/)
    const rows = lines.slice(3, 11).map((line) => line.split(/\s{2,}/))
    expect(rows).toEqual([
      ['ttl', 'flightStatus', '1m', '1m'],
      ['role', 'anon', '×1.5', '1m', '1m 30s'],
      ['freshness', 'realtime', 'cap 1m', '1m 30s', '1m'],
      ['volatility', 'high', '×0.25', '1m', '15s'],
      ['market tier', 'regional', '×1.5', '15s', '22.5s'],
      ['season', 'peak', '×0.5', '22.5s', '11.25s'],
      ['bounds', 'floor, ceiling', 'floor 10s, ceiling 2m', '11.25s', '11.25s'],
      ['jitter', '10%', '-10% at most', '11.25s', '10.125s .. 11.25s'],
    ])
    expect(run.stdout).toMatch(/^ttl\s+10\.125s \.\. 11\.25s \(jitter\)$/m)
    expect(run.stdout).toMatch(/^grace\s+5m$/m)
    expect(run.stdout).toMatch(/^refresh\s+at 80% of the ttl; XFetch β 1$/m)
    expect(run.stdout).toMatch(/^seasons\s+peak$/m)
    expect(run.stdout).toMatch(/^L1 scale\s+×3$/m)
  })

  it('prints JSON with --json, from an ES module, with --context pairs under the named flags', () => {
    const run = tiercache(['policy', 'explain', 'search', '--policy-file', 'policy.mjs', '--context', 'volatility=low', '--context', 'freshness=eventual', '--freshness', 'realtime', '--date', '2026-12-01T10:00:00Z', '--json'])
    expect(run.stderr).toBe('')
    expect(run.code).toBe(0)
    const answer = JSON.parse(run.stdout) as TtlExplanation & { at: string; seasons: string[]; l1Scale: number }
    expect(answer).toMatchObject({ policy: 'search', at: '2026-12-01T10:00:00.000Z', seasons: [], l1Scale: 1, ttlMs: { min: 48_000, max: 60_000 }, graceMs: 0 })
    expect(answer.steps.map((step) => [step.step, step.value, step.afterMs])).toEqual([
      ['ttl', 'search', 300_000],
      ['role', undefined, 300_000],
      ['freshness', 'realtime', 60_000],
      ['volatility', 'low', 60_000],
      ['marketTier', undefined, 60_000],
      ['season', undefined, 60_000],
      ['bounds', undefined, 60_000],
      ['jitter', '20%', 60_000],
    ])
  })

  it.each([
    [['policy', 'explain', 'nope', '--policy-file', 'policy.json'], 1, /^error TC_UNKNOWN_POLICY: no policy named "nope" \(known: countries, flightStatus, vendor\.photographer\)/],
    [['policy', 'explain', 'countries', '--policy-file', 'policy.json', '--context', 'freshness=sometimes'], 1, /^error TC_INVALID_CONTEXT: context\.freshness "sometimes" is not a freshness class of policy "countries" \(known: realtime, eventual\)/],
    [['policy', 'explain', 'countries', '--policy-file', 'missing.json'], 2, /^error TC_INVALID_OPTIONS: policy file missing\.json cannot be read/],
    [['policy', 'explain', 'countries'], 2, /^error TC_INVALID_OPTIONS: required option '--policy-file <path>' not specified/],
  ])('fails with a code: %j', (args, code, message) => {
    const run = tiercache(args)
    expect(run.code).toBe(code)
    expect(run.stdout).toBe('')
    expect(run.stderr).toMatch(message)
  })
})

describe('tiercache policy explain, flags (in process)', () => {
  it.each([
    [['--role', 'admin'], /^error TC_INVALID_OPTIONS: option '--role <role>' argument 'admin' is invalid\. Allowed choices are anon, authenticated, service\./],
    [['--date', 'tomorrow'], /^error TC_INVALID_OPTIONS: --date must be a date \(2026-07-01\) or an ISO time/],
    [['--context', 'freshness'], /^error TC_INVALID_OPTIONS: --context must be key=value/],
  ])('refuses %j with exit code 2', async (flags, message) => {
    const run = await inProcess(['policy', 'explain', 'countries', '--policy-file', join(dir, 'policy.json'), ...flags])
    expect(run.code).toBe(2)
    expect(run.stderr).toMatch(message)
  })

  it('explains without a date as of now', async () => {
    const before = Date.now()
    const run = await inProcess(['policy', 'explain', 'countries', '--policy-file', join(dir, 'policy.json'), '--json'])
    const after = Date.now()
    expect(run.code).toBe(0)
    const answer = JSON.parse(run.stdout) as TtlExplanation
    expect(answer.now).toBeGreaterThanOrEqual(before)
    expect(answer.now).toBeLessThanOrEqual(after)
    expect(answer.ttlMs.max).toBe(answer.steps.some((step) => step.step === 'season' && step.value === 'peak') ? 43_200_000 : 86_400_000)
  })
})
