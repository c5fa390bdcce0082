import { describe, expect, it } from 'vitest'
import { InvalidContextError, UnknownPolicyError } from '../../../src/errors.js'
import { TTL_STEPS } from '../../../src/policy/ttl/policies.js'
import { EXAMPLE, IN_PEAK, OFF_PEAK, policiesOf, request, sequence } from './fixture.js'

const MIN = 60_000
const HOUR = 60 * MIN

describe('TtlPolicies.decide: each multiplier alone', () => {
  const policies = policiesOf({ ...EXAMPLE, policies: { search: { ttl: '1h', grace: '10m' } } })
  const ttlOf = (fields: Parameters<typeof request>[1]) => policies.decide(request('search', fields)).ttlMs

  it('takes the declared ttl and grace when nothing applies', () => {
    expect(policies.decide(request('search'))).toEqual({ ttlMs: HOUR, graceMs: 10 * MIN, refresh: undefined })
  })

  it('multiplies by the role of the view, and by nothing without a role', () => {
    expect(ttlOf({ role: 'anon' })).toBe(1.5 * HOUR)
    expect(ttlOf({ role: 'authenticated' })).toBe(HOUR)
    expect(ttlOf({ role: 'service' })).toBe(0.5 * HOUR)
    expect(ttlOf({ role: undefined })).toBe(HOUR)
  })

  it('caps for realtime and doubles for eventual', () => {
    expect(ttlOf({ context: { freshness: 'realtime' } })).toBe(MIN)
    expect(ttlOf({ context: { freshness: 'eventual' } })).toBe(2 * HOUR)
  })

  it('multiplies by the volatility class of the context', () => {
    expect(ttlOf({ context: { volatility: 'low' } })).toBe(2 * HOUR)
    expect(ttlOf({ context: { volatility: 'medium' } })).toBe(HOUR)
    expect(ttlOf({ context: { volatility: 'high' } })).toBe(0.25 * HOUR)
  })

  it('multiplies by the market tier of the context', () => {
    expect(ttlOf({ context: { marketTier: 'major' } })).toBe(HOUR)
    expect(ttlOf({ context: { marketTier: 'regional' } })).toBe(1.5 * HOUR)
    expect(ttlOf({ context: { marketTier: 'rural' } })).toBe(2 * HOUR)
  })

  it('multiplies by the season holding at the request time', () => {
    expect(ttlOf({ now: IN_PEAK })).toBe(0.5 * HOUR)
    expect(ttlOf({ now: OFF_PEAK })).toBe(HOUR)
  })

  it('ignores context fields that are not its own (the keys use them)', () => {
    expect(ttlOf({ context: { market: 'NYC', budget: 12_000, premium: true } })).toBe(HOUR)
  })

  it('uses the default freshness classes when the configuration names none', () => {
    const defaults = policiesOf({ policies: { p: { ttl: '1h' } } })
    expect(defaults.decide(request('p', { context: { freshness: 'realtime' } })).ttlMs).toBe(MIN)
    expect(defaults.decide(request('p', { context: { freshness: 'eventual' } })).ttlMs).toBe(2 * HOUR)
  })
})

describe('TtlPolicies.decide: the order', () => {
  it('lists its steps in the documented order', () => {
    const policies = policiesOf(EXAMPLE)
    const steps = policies.explain(request('countries')).steps.map((step) => step.step)
    expect(steps).toEqual([...TTL_STEPS])
    expect(steps).toEqual(['ttl', 'role', 'freshness', 'volatility', 'marketTier', 'season', 'bounds', 'jitter'])
  })

  it('applies a freshness cap after the role: anon ×1.5 of 1 min is capped back to 1 min', () => {
    const policies = policiesOf({ ...EXAMPLE, policies: { p: { ttl: '1m' } } })
    expect(policies.decide(request('p', { role: 'anon', context: { freshness: 'realtime' } })).ttlMs).toBe(MIN)
    // Were the role applied after the cap, anon would get 90 s.
  })

  it('lets later factors shorten a capped ttl, never lengthen it past the cap', () => {
    const policies = policiesOf({ ...EXAMPLE, policies: { p: { ttl: '1h' } } })
    const realtime = (context: Record<string, string>) => policies.decide(request('p', { context: { freshness: 'realtime', ...context } })).ttlMs
    expect(realtime({ volatility: 'high' })).toBe(0.25 * MIN)
    expect(realtime({ volatility: 'low' })).toBe(MIN)
    expect(realtime({ marketTier: 'rural' })).toBe(MIN)
    expect(policies.decide(request('p', { context: { freshness: 'realtime', volatility: 'high' }, now: IN_PEAK })).ttlMs).toBe(7_500)
  })

  it('multiplies the whole chain, rounding each step to whole ms', () => {
    const policies = policiesOf(EXAMPLE)
    // 2 h ×1.5 (anon) ×2 (eventual) ×0.25 (high, the policy's own) ×1.5 (regional) ×0.5 (peak)
    const decision = policies.decide(request('vendor.photographer', { role: 'anon', context: { freshness: 'eventual', marketTier: 'regional' }, now: IN_PEAK }))
    expect(decision.ttlMs).toBe(4_050_000)
    const odd = policiesOf({ multipliers: { role: { anon: 1 / 3 } }, policies: { p: { ttl: 1000 } } })
    expect(odd.decide(request('p', { role: 'anon' })).ttlMs).toBe(333)
  })

  it('lets the context name the volatility class over the policy, and falls back to the policy', () => {
    const policies = policiesOf(EXAMPLE)
    expect(policies.decide(request('vendor.photographer')).ttlMs).toBe(0.5 * HOUR)
    expect(policies.decide(request('vendor.photographer', { context: { volatility: 'low' } })).ttlMs).toBe(4 * HOUR)
    expect(policies.decide(request('vendor.photographer', { context: { volatility: undefined } })).ttlMs).toBe(0.5 * HOUR)
  })

  it('takes a policy marketTier when the context names none', () => {
    const policies = policiesOf({ ...EXAMPLE, policies: { rural: { ttl: '1h', marketTier: 'rural' } } })
    expect(policies.decide(request('rural')).ttlMs).toBe(2 * HOUR)
    expect(policies.decide(request('rural', { context: { marketTier: 'major' } })).ttlMs).toBe(HOUR)
  })

  it("lets a policy's own multipliers replace the section's, entry by entry", () => {
    const policies = policiesOf({
      ...EXAMPLE,
      policies: { quote: { ttl: '10m', multipliers: { role: { anon: 1 }, volatility: { high: 0.5 }, season: { peak: 1 }, freshness: { realtime: { cap: '30s' } } } } },
    })
    const ttl = (fields: Parameters<typeof request>[1]) => policies.decide(request('quote', fields)).ttlMs
    expect(ttl({ role: 'anon' })).toBe(10 * MIN)
    expect(ttl({ role: 'service' })).toBe(5 * MIN)
    expect(ttl({ context: { volatility: 'high' } })).toBe(5 * MIN)
    expect(ttl({ context: { volatility: 'low' } })).toBe(20 * MIN)
    expect(ttl({ now: IN_PEAK })).toBe(10 * MIN)
    expect(ttl({ context: { freshness: 'realtime' } })).toBe(30_000)
    expect(ttl({ context: { freshness: 'eventual' } })).toBe(20 * MIN)
  })

  it('leaves the grace as declared, whatever multiplies the ttl', () => {
    const policies = policiesOf(EXAMPLE)
    const decision = policies.decide(request('flightStatus', { role: 'anon', context: { freshness: 'eventual', volatility: 'low' }, now: IN_PEAK }))
    expect(decision.graceMs).toBe(5 * MIN)
    expect(decision.refresh).toEqual({ threshold: 0.8, beta: 1 })
  })
})

describe('TtlPolicies.decide: bounds', () => {
  const policies = policiesOf({ ...EXAMPLE, policies: { p: { ttl: '1m', floor: '40s', ceiling: '80s' } } })
  const ttl = (fields: Parameters<typeof request>[1]) => policies.decide(request('p', fields)).ttlMs

  it('raises to the floor and lowers to the ceiling, after every multiplier', () => {
    expect(ttl({ role: 'anon' })).toBe(80_000)
    expect(ttl({ context: { volatility: 'low' } })).toBe(80_000)
    expect(ttl({ role: 'service' })).toBe(40_000)
    expect(ttl({ context: { volatility: 'high' }, now: IN_PEAK })).toBe(40_000)
    expect(ttl({ context: { volatility: 'medium' } })).toBe(60_000)
  })

  it('keeps the floor over a freshness cap below it', () => {
    const capped = policiesOf({ multipliers: { freshness: { now: { cap: '10s' } } }, policies: { p: { ttl: '1m', floor: '30s' } } })
    expect(capped.decide(request('p', { context: { freshness: 'now' } })).ttlMs).toBe(30_000)
  })

  it('accepts a floor equal to the ceiling: every ttl is that one', () => {
    const fixed = policiesOf({ ...EXAMPLE, policies: { p: { ttl: '1h', floor: '5m', ceiling: '5m', jitter: 0.5 } } })
    for (const role of ['anon', 'service', undefined] as const) expect(fixed.decide(request('p', { role })).ttlMs).toBe(5 * MIN)
  })
})

describe('TtlPolicies.decide: jitter', () => {
  it('draws every ttl within [ttl·(1 − jitter), ttl], and spreads them', () => {
    const policies = policiesOf({ policies: { p: { ttl: '1m', jitter: 0.1 } } })
    const seen = new Set<number>()
    for (let i = 0; i < 20_000; i++) {
      const { ttlMs } = policies.decide(request('p'))
      expect(ttlMs).toBeGreaterThanOrEqual(54_000)
      expect(ttlMs).toBeLessThanOrEqual(60_000)
      expect(Number.isInteger(ttlMs)).toBe(true)
      seen.add(ttlMs)
    }
    // 6,001 possible values, 20,000 draws: a spread, not a constant.
    expect(seen.size).toBeGreaterThan(3_000)
  })

  it('reaches both ends of its range with the extreme draws of the random source', () => {
    const random = sequence(0, 0.999_999_999, 0.5)
    const policies = policiesOf({ policies: { p: { ttl: 1000, jitter: 0.5 } } }, { random })
    expect([0, 1, 2].map(() => policies.decide(request('p')).ttlMs)).toEqual([500, 1000, 750])
  })

  it('never draws outside its range even when the random source misbehaves (returns 1)', () => {
    const policies = policiesOf({ policies: { p: { ttl: 1000, jitter: 0.2 } } }, { random: () => 1 })
    expect(policies.decide(request('p')).ttlMs).toBe(1000)
  })

  it('never crosses the floor or the ceiling, nor a freshness cap', () => {
    const random = sequence(0, 0.999_999)
    const policies = policiesOf(
      { ...EXAMPLE, policies: { p: { ttl: '1m', floor: '55s', ceiling: '2m', jitter: 0.5 }, q: { ttl: '1h', jitter: 0.5 } } },
      { random },
    )
    // ×1.5 → 90 s, inside the bounds; jitter draws in [55 s (the floor, above 45 s), 90 s].
    expect(policies.decide(request('p', { role: 'anon' })).ttlMs).toBe(55_000)
    expect(policies.decide(request('p', { role: 'anon' })).ttlMs).toBe(90_000)
    // ×2 → 2 min, the ceiling: jitter only shortens, to half of it at most.
    expect(policies.decide(request('p', { context: { volatility: 'low' } })).ttlMs).toBe(60_000)
    expect(policies.decide(request('p', { context: { volatility: 'low' } })).ttlMs).toBe(120_000)
    // At the floor, nothing to draw.
    expect(policies.decide(request('p', { role: 'service' })).ttlMs).toBe(55_000)
    expect(policies.decide(request('p', { role: 'service' })).ttlMs).toBe(55_000)
    // Capped at 1 min by realtime: at most the cap.
    expect(policies.decide(request('q', { context: { freshness: 'realtime' } })).ttlMs).toBe(30_000)
    expect(policies.decide(request('q', { context: { freshness: 'realtime' } })).ttlMs).toBe(60_000)
  })

  it('keeps every draw of the bound cases within range over many draws', () => {
    const policies = policiesOf({ ...EXAMPLE, policies: { p: { ttl: '1m', floor: '50s', ceiling: '70s', jitter: 0.5 } } })
    for (const role of ['anon', 'service', 'authenticated'] as const) {
      for (let i = 0; i < 2_000; i++) {
        const { ttlMs } = policies.decide(request('p', { role }))
        expect(ttlMs).toBeGreaterThanOrEqual(50_000)
        expect(ttlMs).toBeLessThanOrEqual(70_000)
      }
    }
  })

  it('explains the range without drawing', () => {
    const policies = policiesOf(EXAMPLE, { random: () => 0 })
    const explained = policies.explain(request('flightStatus', { role: 'anon' }))
    expect(explained.ttlMs).toEqual({ min: 81_000, max: 90_000 })
    expect(explained.steps.at(-1)).toEqual({ step: 'jitter', value: '10%', factor: 0.1, beforeMs: 90_000, afterMs: 90_000, minMs: 81_000 })
  })
})

describe('TtlPolicies.explain', () => {
  it('gives each step its value, factor, and ttl before and after, agreeing with decide', () => {
    const policies = policiesOf(EXAMPLE)
    const fields = { role: 'anon', context: { freshness: 'realtime', volatility: 'low', marketTier: 'regional' }, now: IN_PEAK } as const
    const explained = policies.explain(request('flightStatus', fields))
    expect(explained.steps.slice(0, 7)).toEqual([
      { step: 'ttl', value: 'flightStatus', factor: 1, beforeMs: 60_000, afterMs: 60_000 },
      { step: 'role', value: 'anon', factor: 1.5, beforeMs: 60_000, afterMs: 90_000 },
      { step: 'freshness', value: 'realtime', factor: 1, capMs: 60_000, beforeMs: 90_000, afterMs: 60_000 },
      { step: 'volatility', value: 'low', factor: 2, beforeMs: 60_000, afterMs: 60_000 },
      { step: 'marketTier', value: 'regional', factor: 1.5, beforeMs: 60_000, afterMs: 60_000 },
      { step: 'season', value: 'peak', factor: 0.5, beforeMs: 60_000, afterMs: 30_000 },
      { step: 'bounds', value: 'floor, ceiling', factor: 1, floorMs: 10_000, ceilingMs: 120_000, beforeMs: 30_000, afterMs: 30_000 },
    ])
    expect(explained).toMatchObject({ policy: 'flightStatus', now: IN_PEAK, ttlMs: { min: 27_000, max: 30_000 }, graceMs: 300_000, refresh: { threshold: 0.8, beta: 1 } })
    const drawn = policiesOf(EXAMPLE, { random: () => 0.999_999 }).decide(request('flightStatus', fields)).ttlMs
    expect(drawn).toBe(30_000)
  })

  it('says when a step has nothing to apply', () => {
    const steps = policiesOf(EXAMPLE).explain(request('countries')).steps
    expect(steps.filter((step) => step.step !== 'ttl').map((step) => step.value)).toEqual([undefined, undefined, undefined, undefined, undefined, undefined, undefined])
    expect(steps.every((step) => step.beforeMs === 86_400_000 && step.afterMs === 86_400_000)).toBe(true)
  })
})

describe('TtlPolicies errors', () => {
  const policies = policiesOf(EXAMPLE)

  it('refuses a policy the configuration does not declare, listing those it does', () => {
    expect(() => policies.decide(request('nope'))).toThrow(UnknownPolicyError)
    expect(() => policies.decide(request('nope'))).toThrow('no policy named "nope" (known: countries, flightStatus, vendor.photographer)')
    expect(() => policies.explain(request('toString'))).toThrow(UnknownPolicyError)
    try {
      policies.decide(request('nope'))
    } catch (error) {
      expect(error).toMatchObject({ code: 'TC_UNKNOWN_POLICY' })
    }
  })

  it.each([
    ['freshness', 'sometimes', 'context.freshness "sometimes" is not a freshness class of policy "countries" (known: realtime, eventual)'],
    ['volatility', 'extreme', 'context.volatility "extreme" is not a volatility class of policy "countries" (known: low, medium, high)'],
    ['marketTier', 'suburban', 'context.marketTier "suburban" is not a market tier of policy "countries" (known: major, regional, rural)'],
    ['freshness', 3, 'context.freshness 3 is not a freshness class'],
    ['volatility', 'constructor', 'context.volatility "constructor" is not a volatility class'],
  ])('refuses context.%s %j, naming the field and the known values', (field, value, message) => {
    const call = () => policies.decide(request('countries', { context: { [field]: value } }))
    expect(call).toThrow(InvalidContextError)
    expect(call).toThrow(message)
  })

  it('says when no class of a kind is declared', () => {
    const bare = policiesOf({ policies: { p: { ttl: '1m' } } })
    expect(() => bare.decide(request('p', { context: { volatility: 'high' } }))).toThrow('(none is declared)')
  })
})
