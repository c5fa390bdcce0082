import { describe, expect, it } from 'vitest'
import { isTiercacheError } from '../../../src/errors.js'
import { type PolicyConfigInput, parsePolicyConfig } from '../../../src/policy/config.js'
import { type Bucketer, bucketerOf } from '../../../src/policy/keys/buckets.js'
import { plannerConfig } from './fixtures.js'

/** The bucketer of one context rule of a configuration's builder. */
function ruleOf(input: PolicyConfigInput, builder: string, field: string): Bucketer {
  const config = parsePolicyConfig(input)
  const rule = config.keys?.builders[builder]?.context[field]
  if (rule === undefined) throw new Error(`no rule ${builder}.${field}`)
  return bucketerOf(rule, config, `keys.builders.${builder}.context.${field}`)
}

function refused(bucketer: Bucketer, value: string | number | boolean, code = 'TC_INVALID_CONTEXT'): string {
  try {
    bucketer.bucket(value, 'field')
  } catch (error) {
    expect(isTiercacheError(error, code as 'TC_INVALID_CONTEXT')).toBe(true)
    return (error as Error).message
  }
  throw new Error(`expected ${JSON.stringify(value)} to be refused`)
}

const bucketOf = (bucketer: Bucketer, value: string | number | boolean) => bucketer.bucket(value, 'field').bucket

describe('a location into its market', () => {
  const us = ruleOf(plannerConfig, 'venueSearch', 'location')
  const uk = ruleOf(plannerConfig, 'photographers', 'location')

  it('keeps a major city alone, and groups the others by region', () => {
    expect(bucketOf(us, 'New York')).toBe('city:New York')
    expect(bucketOf(us, 'Chicago')).toBe('city:Chicago')
    expect(bucketOf(us, 'Austin')).toBe('region:TX')
    expect(bucketOf(us, 'El Paso')).toBe(bucketOf(us, 'Dallas'))
    expect(bucketOf(us, 'Seattle')).toBe('region:Pacific Northwest')
    expect(us.bucket('Austin', 'location').reason).toBe('Austin is in region TX of market us')
    expect(us.bucket('New York', 'location').reason).toMatch(/major city of market us: it stands alone/)
    expect(us.rule).toBe('market us')
  })

  it('matches places whatever their case and spacing', () => {
    expect(bucketOf(us, '  new   YORK ')).toBe('city:New York')
    expect(bucketOf(us, 'el paso')).toBe('region:TX')
  })

  it('refuses a place the market lists nowhere, unless the market has an otherwise bucket', () => {
    expect(refused(us, 'Springfield')).toMatch(/market us lists no location "Springfield"; add it to keys\.markets\.us/)
    expect(bucketOf(uk, 'Cardiff')).toBe('rest-of-uk')
    expect(bucketOf(uk, 'glasgow')).toBe('region:Scotland')
    expect(refused(us, 42)).toMatch(/a location is text/)
  })

  it('refuses market data that lists a city twice', () => {
    expect(() =>
      parsePolicyConfig({ keys: { markets: { us: { major: ['Austin'], regions: { TX: ['austin'] } } } } }),
    ).toThrow(/austin is listed twice: major and region TX/)
    expect(() => parsePolicyConfig({ keys: { markets: { us: { regions: { A: ['X'], B: ['x '] } } } } })).toThrow(/listed twice: region A and region B/)
  })
})

describe('a date into its season', () => {
  const config = parsePolicyConfig(plannerConfig)
  const every = ruleOf(plannerConfig, 'venueSearch', 'date')
  const own = ruleOf(plannerConfig, 'photographers', 'date')

  it('matches the windows of the configuration, both ends included', () => {
    expect(bucketOf(every, '2025-03-31')).toBe('off-season')
    expect(bucketOf(every, '2025-04-01')).toBe('peak')
    expect(bucketOf(every, '2025-10-31')).toBe('peak')
    expect(bucketOf(every, '2025-11-01')).toBe('off-season')
    expect(every.rule).toBe('season (peak 04-01..10-31; holidays 12-15..01-05; otherwise off-season)')
    expect(every.bucket('2025-06-14', 'date').reason).toBe('falls in peak (04-01..10-31)')
  })

  it('wraps a window over the new year', () => {
    expect(bucketOf(every, '2025-12-14')).toBe('off-season')
    expect(bucketOf(every, '2025-12-15')).toBe('holidays')
    expect(bucketOf(every, '2026-01-05')).toBe('holidays')
    expect(bucketOf(every, '2026-01-06')).toBe('off-season')
  })

  it('reads a date, or a date-time without an offset, as written, and an instant in the season\'s time zone (UTC by default)', () => {
    expect(bucketOf(every, '2025-03-31T23:30:00')).toBe('off-season')
    expect(bucketOf(every, '2025-03-31T23:30:00-05:00')).toBe('peak') // 04:30 UTC on April 1
    expect(bucketOf(every, '2025-04-01T01:00:00+02:00')).toBe('off-season') // 23:00 UTC on March 31
    expect(bucketOf(every, Date.UTC(2025, 3, 1))).toBe('peak')
    expect(bucketOf(every, Date.UTC(2025, 2, 31, 23, 59))).toBe('off-season')
    const chicago = ruleOf(
      { seasons: { peak: { windows: [{ from: '04-01', to: '10-31' }], timeZone: 'America/Chicago' } }, keys: { builders: { b: { context: { d: { season: true } } } } } },
      'b',
      'd',
    )
    expect(bucketOf(chicago, Date.UTC(2025, 3, 1, 3))).toBe('off-season') // 22:00 on March 31 in Chicago
    expect(bucketOf(chicago, Date.UTC(2025, 3, 1, 6))).toBe('peak')
    expect(bucketOf(chicago, '2025-03-31T23:30:00-05:00')).toBe('off-season')
    expect(bucketOf(chicago, '2025-04-01')).toBe('peak')
    expect(chicago.rule).toBe('season (peak 04-01..10-31 America/Chicago; otherwise off-season)')
  })

  it('matches one-off windows in their year only, and a yearly 02-29 as February 28 in a common year', () => {
    const rule = ruleOf(
      {
        keys: {
          builders: {
            b: {
              context: {
                d: {
                  windows: { expo: [{ from: '2026-05-01', to: '2026-05-03' }], leap: [{ from: '02-29', to: '03-01' }], late: [{ from: '12-31', to: '02-29' }] },
                  timeZone: 'Europe/Paris',
                },
              },
            },
          },
        },
      },
      'b',
      'd',
    )
    expect(['2026-04-30', '2026-05-01', '2026-05-03', '2026-05-04', '2027-05-02'].map((day) => bucketOf(rule, day))).toEqual(['off-season', 'expo', 'expo', 'off-season', 'off-season'])
    expect(bucketOf(rule, '2025-02-28')).toBe('leap')
    expect(bucketOf(rule, '2024-02-28')).toBe('late')
    expect(bucketOf(rule, '2024-02-29')).toBe('leap')
    expect(bucketOf(rule, '2025-03-02')).toBe('off-season')
    expect(bucketOf(rule, Date.UTC(2026, 3, 30, 23))).toBe('expo') // 01:00 on May 1 in Paris
    expect(rule.rule).toBe('season (expo 2026-05-01..2026-05-03 Europe/Paris; leap 02-29..03-01 Europe/Paris; late 12-31..02-29 Europe/Paris; otherwise off-season)')
  })

  it('names only the seasons a rule lists, the first holding a date winning', () => {
    const input = {
      seasons: { wedding: { windows: [{ from: '05-01', to: '09-30' }] }, summer: { windows: [{ from: '06-01', to: '08-31' }] } },
      keys: { builders: { b: { context: { d: { season: ['summer', 'wedding'] } } } } },
    }
    const rule = ruleOf(input, 'b', 'd')
    expect(bucketOf(rule, '2025-07-01')).toBe('summer')
    expect(bucketOf(rule, '2025-05-02')).toBe('wedding')
  })

  it('uses windows of its own, and its own otherwise bucket', () => {
    expect(bucketOf(own, '2025-06-01')).toBe('summer')
    expect(bucketOf(own, '2025-05-31')).toBe('rest-of-year')
    expect(own.rule).toBe('season (summer 06-01..08-31; otherwise rest-of-year)')
  })

  it('refuses what is not a date', () => {
    expect(refused(every, '14/06/2025')).toMatch(/is not a date; give YYYY-MM-DD/)
    expect(refused(every, '2025-02-30')).toMatch(/2025-02-30 is not a day of the calendar/)
    expect(refused(every, '2025-02-29')).toMatch(/not a day/)
    expect(bucketOf(every, '2024-02-29')).toBe('off-season')
    expect(refused(every, true)).toMatch(/not a date/)
    expect(refused(every, 8.64e15 + 1)).toMatch(/is not a date/)
    expect(refused(every, '2025-06-14T10:00:00+25:99')).toMatch(/not a date-time/)
  })

  it('refuses a rule naming seasons the configuration lacks, or cannot read', () => {
    const rule = { keys: { builders: { b: { context: { d: { season: ['monsoon'] } } } } } }
    expect(() => ruleOf({ ...rule, seasons: config.seasons ?? {} }, 'b', 'd')).toThrow(/keys\.builders\.b\.context\.d: no season monsoon in seasons \(seasons: peak, holidays\)/)
    expect(() => ruleOf({ keys: { builders: { b: { context: { d: { season: true } } } } } }, 'b', 'd')).toThrow(/declares no seasons/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { context: { d: { windows: { x: [{ from: '02-30', to: '03-01' }] } } } } } } })).toThrow(
      /"02-30" is not a day: give "MM-DD" \(every year\) or "YYYY-MM-DD" \(once\)/,
    )
    const windows = (list: object[], extra: object = {}) => ({ keys: { builders: { b: { context: { d: { windows: { w: list }, ...extra } } } } } })
    expect(() => parsePolicyConfig(windows([{ from: '2026-01-01', to: '02-01' }]))).toThrow(/both "MM-DD" \(every year\) or both "YYYY-MM-DD" \(once\)/)
    expect(() => parsePolicyConfig(windows([{ from: '2026-02-01', to: '2026-01-01' }]))).toThrow(/must not end before it starts/)
    expect(() => parsePolicyConfig(windows([{ from: '2025-02-29', to: '2025-03-01' }]))).toThrow(/"2025-02-29" is not a day/)
    expect(() => parsePolicyConfig(windows([{ from: '01-01', to: '02-01' }], { timeZone: 'Mars/Olympus' }))).toThrow(/must be an IANA time zone/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { context: { d: { season: true, timeZone: 'UTC' } } } } } })).toThrow(/timeZone goes with windows/)
  })
})

describe('a number into its tier or band', () => {
  const budget = ruleOf(plannerConfig, 'venueSearch', 'budget')
  const guests = ruleOf(plannerConfig, 'venueSearch', 'guests')
  const named = ruleOf(plannerConfig, 'photographers', 'budget')

  it('puts each value in the half-open interval between thresholds', () => {
    expect([0, 4999.99, 5000, 14999, 15000, 39999, 40000, 1e9].map((n) => bucketOf(budget, n))).toEqual([
      '[0,5000)',
      '[0,5000)',
      '[5000,15000)',
      '[5000,15000)',
      '[15000,40000)',
      '[15000,40000)',
      '[40000,inf)',
      '[40000,inf)',
    ])
    expect([49, 50, 99, 100, 200].map((n) => bucketOf(guests, n))).toEqual(['[0,50)', '[50,100)', '[50,100)', '[100,200)', '[200,inf)'])
    expect(budget.bucket(12000, 'budget').reason).toBe('12000 is in [5000, 15000)')
    expect(budget.rule).toBe('tiers 5000, 15000, 40000')
  })

  it('names the intervals when the rule does', () => {
    expect([999, 1000, 3000].map((n) => bucketOf(named, n))).toEqual(['basic', 'standard', 'premium'])
    expect(named.bucket(1500, 'budget').reason).toBe('1500 is in [1000, 3000): standard')
  })

  it('reads numbers given as text, as query strings carry them', () => {
    expect(bucketOf(budget, '12000')).toBe('[5000,15000)')
    expect(bucketOf(guests, ' 80 ')).toBe('[50,100)')
  })

  it('refuses negatives, non-numbers, and fractions of a count', () => {
    expect(refused(budget, -1)).toMatch(/-1 is not an amount; give a number >= 0/)
    expect(refused(budget, 'cheap')).toMatch(/not an amount/)
    expect(refused(budget, Number.NaN)).toMatch(/not an amount/)
    expect(refused(guests, 80.5)).toMatch(/80\.5 is not a count; give a whole number >= 0/)
    expect(refused(guests, '1e2')).toMatch(/not a count/)
  })

  it('refuses thresholds out of order, and names that do not match them', () => {
    const withRule = (rule: object) => ({ keys: { builders: { b: { context: { n: rule } } } } })
    expect(() => parsePolicyConfig(withRule({ tiers: [10, 10] }))).toThrow(/ascending order, without repeats/)
    expect(() => parsePolicyConfig(withRule({ bands: [0, 10] }))).toThrow(/must be > 0/)
    expect(() => parsePolicyConfig(withRule({ bands: [] }))).toThrow(/at least one threshold/)
    expect(() => parsePolicyConfig(withRule({ tiers: [10], names: ['low'] }))).toThrow(/must name each of the 2 intervals/)
    expect(() => parsePolicyConfig(withRule({ tiers: [10], names: ['a', 'a'] }))).toThrow(/must not repeat a name/)
    expect(() => parsePolicyConfig(withRule({ market: 'us', names: ['a'] }))).toThrow(/names go with tiers or bands/)
    expect(() => parsePolicyConfig(withRule({ tiers: [1], bands: [2] }))).toThrow(/exactly one of market, season, windows, tiers, bands, not tiers and bands/)
    expect(() => parsePolicyConfig(withRule({ tiers: [1], otherwise: 'x' }))).toThrow(/otherwise goes with season or windows/)
    expect(() => parsePolicyConfig(withRule({ season: 'peak' }))).toThrow(/must be true \(every season of the configuration\) or a list of season names/)
  })
})
