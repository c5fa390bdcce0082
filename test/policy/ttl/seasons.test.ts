import { describe, expect, it } from 'vitest'
import type { PolicyConfigInput } from '../../../src/policy/config.js'
import { EXAMPLE, at, policiesOf, request } from './fixture.js'

const HOUR = 3_600_000

/** Policies with one 1 h policy `p` and `seasons`. */
function withSeasons(seasons: NonNullable<PolicyConfigInput['seasons']>) {
  return policiesOf({ seasons, policies: { p: { ttl: '1h' } } })
}

describe('seasons: the window 04-01..10-31', () => {
  const policies = policiesOf(EXAMPLE)
  const ttlAt = (iso: string) => policies.decide(request('countries', { now: at(iso) })).ttlMs

  it('switches the ttl between the last ms of October 31 and the first of November 1', () => {
    expect(ttlAt('2026-10-31T23:59:59.999Z')).toBe(12 * HOUR)
    expect(ttlAt('2026-11-01T00:00:00.000Z')).toBe(24 * HOUR)
  })

  it('starts at the first ms of April 1', () => {
    expect(ttlAt('2026-03-31T23:59:59.999Z')).toBe(24 * HOUR)
    expect(ttlAt('2026-04-01T00:00:00.000Z')).toBe(12 * HOUR)
  })

  it('scales L1 inside the window only', () => {
    expect(policies.l1Scale(at('2026-03-31T23:59:59.999Z'))).toBe(1)
    expect(policies.l1Scale(at('2026-04-01T00:00:00.000Z'))).toBe(3)
    expect(policies.l1Scale(at('2026-10-31T23:59:59.999Z'))).toBe(3)
    expect(policies.l1Scale(at('2026-11-01T00:00:00.000Z'))).toBe(1)
  })

  it('gives the next boundary: the window’s end inside it, its next start outside', () => {
    expect(policies.nextBoundary(at('2026-07-01T12:00:00Z'))).toBe(at('2026-11-01T00:00:00Z'))
    expect(policies.nextBoundary(at('2026-10-31T23:59:59.999Z'))).toBe(at('2026-11-01T00:00:00Z'))
    // At the boundary itself: the next one, strictly after.
    expect(policies.nextBoundary(at('2026-11-01T00:00:00Z'))).toBe(at('2027-04-01T00:00:00Z'))
    expect(policies.nextBoundary(at('2026-12-31T23:59:59.999Z'))).toBe(at('2027-04-01T00:00:00Z'))
    expect(policies.nextBoundary(at('2027-03-31T23:59:59.999Z'))).toBe(at('2027-04-01T00:00:00Z'))
  })

  it('decides right when the clock goes back and forth (the cached state is per interval)', () => {
    const sequence = ['2026-07-01', '2026-12-01', '2026-07-02', '2026-10-31T23:59:59.999Z', '2026-11-01', '2026-04-01', '2026-03-31T23:59:59Z']
    expect(sequence.map((iso) => ttlAt(iso) / HOUR)).toEqual([12, 24, 12, 12, 24, 12, 24])
    expect(policies.seasonsAt(at('2026-07-01'))).toEqual(['peak'])
    expect(policies.seasonsAt(at('2026-12-01'))).toEqual([])
  })
})

describe('seasons: a window across the new year, 11-15..02-15', () => {
  const policies = withSeasons({ winter: { windows: [{ from: '11-15', to: '02-15' }], ttl: 2, l1: 0.5 } })
  const ttlAt = (iso: string) => policies.decide(request('p', { now: at(iso) })).ttlMs / HOUR

  it('holds from November 15 to February 15, inclusive, across December 31', () => {
    expect(ttlAt('2026-11-14T23:59:59.999Z')).toBe(1)
    expect(ttlAt('2026-11-15T00:00:00.000Z')).toBe(2)
    expect(ttlAt('2026-12-31T23:59:59.999Z')).toBe(2)
    expect(ttlAt('2027-01-01T00:00:00.000Z')).toBe(2)
    expect(ttlAt('2027-02-15T23:59:59.999Z')).toBe(2)
    expect(ttlAt('2027-02-16T00:00:00.000Z')).toBe(1)
    expect(ttlAt('2026-02-01T00:00:00.000Z')).toBe(2)
  })

  it('scales L1 down in it, and names its boundaries across the year', () => {
    expect(policies.l1Scale(at('2027-01-10'))).toBe(0.5)
    expect(policies.l1Scale(at('2027-03-10'))).toBe(1)
    expect(policies.nextBoundary(at('2026-12-01'))).toBe(at('2027-02-16'))
    expect(policies.nextBoundary(at('2027-01-31'))).toBe(at('2027-02-16'))
    expect(policies.nextBoundary(at('2027-03-01'))).toBe(at('2027-11-15'))
    expect(policies.nextBoundary(at('2027-11-14T23:59:59.999Z'))).toBe(at('2027-11-15'))
  })
})

describe('seasons: one-off windows, overlaps, time zones', () => {
  it('holds a one-off window once, then has no boundary left', () => {
    const policies = withSeasons({ blackFriday: { windows: [{ from: '2026-11-27', to: '2026-11-30' }], ttl: 0.25, l1: 2 } })
    const ttlAt = (iso: string) => policies.decide(request('p', { now: at(iso) })).ttlMs / HOUR
    expect([ttlAt('2026-11-26T23:59:59.999Z'), ttlAt('2026-11-27'), ttlAt('2026-11-30T23:59:59.999Z'), ttlAt('2026-12-01'), ttlAt('2027-11-28')]).toEqual([1, 0.25, 0.25, 1, 1])
    expect(policies.nextBoundary(at('2026-01-01'))).toBe(at('2026-11-27'))
    expect(policies.nextBoundary(at('2026-11-28'))).toBe(at('2026-12-01'))
    expect(policies.nextBoundary(at('2026-12-01'))).toBeUndefined()
  })

  it('mixes yearly and one-off windows in one season; overlapping windows of a season count once', () => {
    const policies = withSeasons({ busy: { windows: [{ from: '06-01', to: '06-30' }, { from: '06-15', to: '07-15' }, { from: '2027-01-05', to: '2027-01-05' }], ttl: 0.5 } })
    const ttlAt = (iso: string) => policies.decide(request('p', { now: at(iso) })).ttlMs / HOUR
    expect([ttlAt('2026-06-20'), ttlAt('2026-07-15T12:00:00Z'), ttlAt('2026-07-16'), ttlAt('2027-01-05'), ttlAt('2028-01-05')]).toEqual([0.5, 0.5, 1, 0.5, 1])
  })

  it('multiplies the ttl factors of overlapping seasons, and takes the largest L1 scale', () => {
    const policies = withSeasons({
      peak: { windows: [{ from: '04-01', to: '10-31' }], ttl: 0.5, l1: 3 },
      festival: { windows: [{ from: '07-01', to: '07-07' }], ttl: 0.5, l1: 2 },
    })
    expect(policies.decide(request('p', { now: at('2026-07-03') })).ttlMs).toBe(0.25 * HOUR)
    expect(policies.l1Scale(at('2026-07-03'))).toBe(3)
    expect(policies.seasonsAt(at('2026-07-03'))).toEqual(['peak', 'festival'])
    const explained = policies.explain(request('p', { now: at('2026-07-03') })).steps.find((step) => step.step === 'season')
    expect(explained).toMatchObject({ value: 'peak, festival', factor: 0.25 })
    expect(policies.nextBoundary(at('2026-07-03'))).toBe(at('2026-07-08'))
  })

  it('lets a season that leaves L1 alone not outvote one that shrinks it, nor set boundaries for L1', () => {
    const policies = withSeasons({
      quiet: { windows: [{ from: '01-01', to: '01-31' }], l1: 0.5 },
      sale: { windows: [{ from: '01-10', to: '01-20' }], ttl: 0.5 },
    })
    expect(policies.l1Scale(at('2026-01-15'))).toBe(0.5)
    expect(policies.nextBoundary(at('2026-01-15'))).toBe(at('2026-02-01'))
    const ttlOnly = withSeasons({ sale: { windows: [{ from: '01-10', to: '01-20' }], ttl: 0.5 } })
    expect(ttlOnly.nextBoundary(at('2026-01-15'))).toBeUndefined()
    expect(ttlOnly.l1Scale(at('2026-01-15'))).toBe(1)
  })

  it('has scale 1 and no boundary without seasons', () => {
    const policies = withSeasons({})
    expect(policies.l1Scale(0)).toBe(1)
    expect(policies.nextBoundary(0)).toBeUndefined()
  })

  it('counts days in the season’s time zone', () => {
    const policies = withSeasons({ july4: { windows: [{ from: '07-04', to: '07-04' }], ttl: 0.5, l1: 2, timeZone: 'America/New_York' } })
    const ttlAt = (iso: string) => policies.decide(request('p', { now: at(iso) })).ttlMs / HOUR
    // New York is UTC−4 in July: its July 4 runs from 04:00 UTC to 04:00 UTC the next day.
    expect([ttlAt('2026-07-04T03:59:59.999Z'), ttlAt('2026-07-04T04:00:00Z'), ttlAt('2026-07-05T03:59:59.999Z'), ttlAt('2026-07-05T04:00:00Z')]).toEqual([1, 0.5, 0.5, 1])
    expect(policies.nextBoundary(at('2026-07-01'))).toBe(at('2026-07-04T04:00:00Z'))
    expect(policies.nextBoundary(at('2026-07-04T12:00:00Z'))).toBe(at('2026-07-05T04:00:00Z'))
  })

  it('starts a day at its first instant where a clock change skips midnight', () => {
    // São Paulo moved its clocks from 00:00 to 01:00 on 2018-11-04: the day began at 03:00 UTC.
    const policies = withSeasons({ day: { windows: [{ from: '2018-11-04', to: '2018-11-04' }], ttl: 0.5, l1: 2, timeZone: 'America/Sao_Paulo' } })
    expect(policies.l1Scale(at('2018-11-04T02:59:59.999Z'))).toBe(1)
    expect(policies.l1Scale(at('2018-11-04T03:00:00Z'))).toBe(2)
    expect(policies.nextBoundary(at('2018-11-01'))).toBe(at('2018-11-04T03:00:00Z'))
  })

  it('reads a yearly 02-29 as February 28 in common years', () => {
    const policies = withSeasons({ leap: { windows: [{ from: '02-29', to: '02-29' }], l1: 2 } })
    expect([policies.l1Scale(at('2028-02-28T12:00:00Z')), policies.l1Scale(at('2028-02-29T12:00:00Z')), policies.l1Scale(at('2028-03-01'))]).toEqual([1, 2, 1])
    expect([policies.l1Scale(at('2027-02-27T12:00:00Z')), policies.l1Scale(at('2027-02-28T12:00:00Z')), policies.l1Scale(at('2027-03-01'))]).toEqual([1, 2, 1])
  })
})
