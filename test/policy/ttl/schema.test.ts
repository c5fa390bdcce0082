import { describe, expect, it } from 'vitest'
import { InvalidOptionsError } from '../../../src/errors.js'
import { parsePolicyConfig } from '../../../src/policy/config.js'
import { definePolicy } from '../../../src/policy/layer.js'
import { EXAMPLE } from './fixture.js'

/** The message parsePolicyConfig throws for `input`. */
function problems(input: unknown): string {
  try {
    parsePolicyConfig(input)
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    return (error as Error).message
  }
  throw new Error('the configuration was accepted')
}

describe('the ttl sections of the policy configuration', () => {
  it('converts durations once, to ms, and fills the defaults', () => {
    const config = parsePolicyConfig(EXAMPLE)
    expect(config.policies.flightStatus).toEqual({
      ttlMs: 60_000,
      graceMs: 300_000,
      floorMs: 10_000,
      ceilingMs: 120_000,
      jitter: 0.1,
      refresh: { threshold: 0.8, beta: 1 },
    })
    expect(config.policies.countries).toMatchObject({ ttlMs: 86_400_000, graceMs: 604_800_000, jitter: 0 })
    expect(config.multipliers.freshness).toEqual({ realtime: { factor: 1, capMs: 60_000 }, eventual: { factor: 2 } })
    expect(config.seasons.peak).toEqual({ windows: [{ from: '04-01', to: '10-31' }], ttl: 0.5, l1: 3, timeZone: 'UTC' })
  })

  it('accepts ms as numbers, and an empty configuration', () => {
    expect(parsePolicyConfig({ policies: { p: { ttl: 1500, grace: 0 } } }).policies.p).toMatchObject({ ttlMs: 1500, graceMs: 0 })
    const empty = parsePolicyConfig({})
    expect(empty.policies).toEqual({})
    expect(empty.seasons).toEqual({})
    expect(Object.keys(empty.multipliers.freshness)).toEqual(['realtime', 'eventual'])
  })

  it('freezes the result, and takes it back as is (a loaded configuration goes to definePolicy)', () => {
    const config = parsePolicyConfig(EXAMPLE)
    expect(Object.isFrozen(config)).toBe(true)
    expect(Object.isFrozen(config.policies.flightStatus)).toBe(true)
    expect(Object.isFrozen(config.seasons.peak?.windows)).toBe(true)
    expect(parsePolicyConfig(config)).toBe(config)
    expect(definePolicy(config as never).config).toBe(config)
  })

  it.each([
    [{ policies: { p: {} } }, /ttl is required: ms or a string such as '5m'\s+→ at policies\.p\.ttl/],
    [{ policies: { p: { ttl: true } } }, /ttl must be ms or a string such as '5m'\s+→ at policies\.p\.ttl/],
    [{ policies: { p: { ttl: '5 minutes' } } }, /ttl must be milliseconds or a string like '30s', '5m', '1h'\s+→ at policies\.p\.ttl/],
    [{ policies: { p: { ttl: 0 } } }, /ttl must be positive\s+→ at policies\.p\.ttl/],
    [{ policies: { p: { ttl: '1m', grace: -1 } } }, /grace must be a finite, non-negative duration\s+→ at policies\.p\.grace/],
    [{ policies: { p: { ttl: '1m', floor: '2m', ceiling: '1m' } } }, /floor \(120000 ms\) must not exceed ceiling \(60000 ms\)\s+→ at policies\.p\.floor/],
    [{ policies: { p: { ttl: '1m', jitter: 0.6 } } }, /must be at most 0\.5 \(a fraction of the ttl\)\s+→ at policies\.p\.jitter/],
    [{ policies: { p: { ttl: '1m', jitter: -0.1 } } }, /must be at least 0\s+→ at policies\.p\.jitter/],
    [{ policies: { p: { ttl: '1m', refresh: { threshold: 1 } } } }, /must be below 1 \(a fraction of the ttl\)\s+→ at policies\.p\.refresh\.threshold/],
    [{ policies: { p: { ttl: '1m', refresh: { beta: 0 } } } }, /must be positive \(1 is the paper’s choice\)\s+→ at policies\.p\.refresh\.beta/],
    [{ policies: { p: { ttl: '1m', refresh: {} } } }, /refresh needs a threshold, a beta, or both\s+→ at policies\.p\.refresh/],
    [{ policies: { p: { ttl: '1m', tll: '1m' } } }, /Unrecognized key: "tll"\s+→ at policies\.p/],
    [{ policies: { 'a b': { ttl: '1m' } } }, /policy names are 1 to 128 of A-Z a-z 0-9 \. _ : -\s+→ at policies\["a b"\]/],
    [{ policies: { p: { ttl: '1m', volatility: 'extreme' } } }, /volatility class "extreme" is not in multipliers\.volatility \(none is declared\)\s+→ at policies\.p\.volatility/],
    [
      { multipliers: { volatility: { low: 2 } }, policies: { p: { ttl: '1m', volatility: 'high' } } },
      /volatility class "high" is not in multipliers\.volatility \(known: low\)\s+→ at policies\.p\.volatility/,
    ],
    [{ policies: { p: { ttl: '1m', marketTier: 'metro' } } }, /market tier "metro" is not in multipliers\.marketTier \(none is declared\)\s+→ at policies\.p\.marketTier/],
    [{ policies: { p: { ttl: '1m', multipliers: { season: { winter: 2 } } } } }, /"winter" is not in seasons \(none is declared\)\s+→ at policies\.p\.multipliers\.season\.winter/],
    [{ policies: { p: { ttl: '1m', multipliers: { volatility: { high: 2 } } } } }, /"high" is not in multipliers\.volatility[\s\S]*→ at policies\.p\.multipliers\.volatility\.high/],
    [{ multipliers: { role: { admin: 2 } } }, /Unrecognized key: "admin"\s+→ at multipliers\.role/],
    [{ multipliers: { role: { anon: 0 } } }, /must be a positive factor\s+→ at multipliers\.role\.anon/],
    [{ multipliers: { volatility: { high: 5000 } } }, /must be at most 1000\s+→ at multipliers\.volatility\.high/],
    [{ multipliers: { volatility: { high: '0.5' } } }, /must be a number \(a factor such as 1\.5\)\s+→ at multipliers\.volatility\.high/],
    [{ multipliers: { freshness: { realtime: {} } } }, /a freshness class needs a factor, a cap, or both\s+→ at multipliers\.freshness\.realtime/],
    [{ multipliers: { freshness: { realtime: { cap: 0 } } } }, /cap must be positive\s+→ at multipliers\.freshness\.realtime\.cap/],
    [{ multipliers: { speed: {} } }, /Unrecognized key: "speed"\s+→ at multipliers/],
    [{ seasons: { peak: { windows: [] } } }, /a season needs at least one window\s+→ at seasons\.peak\.windows/],
    [{ seasons: { peak: { windows: [{ from: '04-31', to: '05-01' }] } } }, /must be a day: "MM-DD" \(every year\) or "YYYY-MM-DD" \(once\)\s+→ at seasons\.peak\.windows\[0\]\.from/],
    [{ seasons: { peak: { windows: [{ from: '4-1', to: '05-01' }] } } }, /must be a day[\s\S]*→ at seasons\.peak\.windows\[0\]\.from/],
    [{ seasons: { peak: { windows: [{ from: '2027-02-29', to: '2027-03-01' }] } } }, /must be a day[\s\S]*→ at seasons\.peak\.windows\[0\]\.from/],
    [{ seasons: { peak: { windows: [{ from: '04-01', to: '2026-10-31' }] } } }, /from and to must be both "MM-DD" \(every year\) or both "YYYY-MM-DD" \(once\)\s+→ at seasons\.peak\.windows\[0\]\.to/],
    [
      { seasons: { peak: { windows: [{ from: '2026-10-31', to: '2026-04-01' }] } } },
      /a one-off window must not end \(2026-04-01\) before it starts \(2026-10-31\)\s+→ at seasons\.peak\.windows\[0\]\.to/,
    ],
    [{ seasons: { peak: { windows: [{ from: '2026-01-01', to: '2025-12-31' }] } } }, /must not end[\s\S]*→ at seasons\.peak\.windows\[0\]\.to/],
    [{ seasons: { peak: { windows: [{ from: '04-01', to: '10-31' }], timeZone: 'Mars/Olympus' } } }, /must be an IANA time zone[\s\S]*→ at seasons\.peak\.timeZone/],
    [{ seasons: { peak: { windows: [{ from: '04-01', to: '10-31' }], l1: -1 } } }, /must be a positive factor\s+→ at seasons\.peak\.l1/],
  ])('refuses %j, saying what and where', (input, message) => {
    expect(problems(input)).toMatch(message)
  })

  it('accepts a yearly window that wraps the year, and one-off windows of one day', () => {
    const config = parsePolicyConfig({ seasons: { winter: { windows: [{ from: '11-15', to: '02-15' }, { from: '2026-12-25', to: '2026-12-25' }] } } })
    expect(config.seasons.winter?.windows).toHaveLength(2)
  })

  it('lists every problem at once', () => {
    const message = problems({ policies: { a: { ttl: 0 }, b: { ttl: '1m', jitter: 2 } }, seasons: { s: { windows: [] } } })
    expect(message.match(/→ at/g)).toHaveLength(3)
  })
})
