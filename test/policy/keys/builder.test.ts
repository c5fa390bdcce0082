import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parsePolicyConfig } from '../../../src/policy/config.js'
import { refusal } from '../../helpers/refusal.js'
import { KeyBuilder } from '../../../src/policy/keys/builder.js'
import { definePolicy } from '../../../src/policy/layer.js'
import { plannerConfig } from './fixtures.js'

const keys = new KeyBuilder(parsePolicyConfig(plannerConfig))
const june = { location: 'Austin', date: '2025-06-14', budget: 12000, guests: 80 }

describe('KeyBuilder.build', () => {
  it('makes <builder>:v<version>:<sha-256 of the canonical form, base64url>', () => {
    const key = keys.build('venueSearch', { query: 'barn' }, june)
    const canonical = '{"context":{"budget":"[5000,15000)","date":"peak","guests":"[50,100)","location":"region:TX"},"params":{"query":"barn"}}'
    expect(key).toBe(`venueSearch:v2:${createHash('sha256').update(canonical).digest('base64url')}`)
    expect(key).toMatch(/^venueSearch:v2:[A-Za-z0-9_-]{43}$/)
    expect(keys.build('countries')).toMatch(/^countries:v1:/)
  })

  it('gives requests whose context falls in the same buckets one key', () => {
    const dallas = { location: 'dallas', date: '2026-07-01', budget: '9000', guests: 60 }
    expect(keys.build('venueSearch', { query: 'barn' }, dallas)).toBe(keys.build('venueSearch', { query: 'barn' }, june))
  })

  it('gives a different key when any bucket or param differs', () => {
    const base = keys.build('venueSearch', { query: 'barn' }, june)
    const variants = [
      keys.build('venueSearch', { query: 'barn' }, { ...june, location: 'New York' }),
      keys.build('venueSearch', { query: 'barn' }, { ...june, date: '2025-11-14' }),
      keys.build('venueSearch', { query: 'barn' }, { ...june, budget: 15000 }),
      keys.build('venueSearch', { query: 'barn' }, { ...june, guests: 100 }),
      keys.build('venueSearch', { query: 'loft' }, june),
      keys.build('venueSearch', { query: 'barn', page: 2 }, june),
    ]
    expect(new Set([base, ...variants]).size).toBe(variants.length + 1)
  })

  it('canonicalizes params: key order, undefined, numbers given as text, nested values', () => {
    const a = keys.build('venueSearch', { query: { tags: ['rustic'], near: { lat: 30.2, lng: -97.7 } }, page: 2 }, june)
    const b = keys.build('venueSearch', { page: '2', query: { near: { lng: -97.7, lat: 30.2 }, tags: ['rustic'] }, extra: undefined }, june)
    expect(b).toBe(a)
    expect(keys.build('venueSearch', { query: 'barn', page: undefined }, june)).toBe(keys.build('venueSearch', { query: 'barn' }, june))
  })

  it('folds string params declared with fold', () => {
    const ctx = { location: 'London' }
    expect(keys.build('photographers', { style: '  Black and   WHITE ' }, ctx)).toBe(keys.build('photographers', { style: 'black and white' }, ctx))
  })

  it('ignores context fields the builder does not declare (those of ttl policies)', () => {
    expect(keys.build('venueSearch', { query: 'barn' }, { ...june, freshness: 'realtime', role: 'anon' })).toBe(keys.build('venueSearch', { query: 'barn' }, june))
  })

  it('leaves out optional context fields that are absent, and keys them when present', () => {
    const absent = keys.build('photographers', { style: 'candid' }, { location: 'London', date: undefined })
    expect(absent).toBe(keys.build('photographers', { style: 'candid' }, { location: 'London' }))
    expect(keys.build('photographers', { style: 'candid' }, { location: 'London', date: '2025-07-01' })).not.toBe(absent)
  })

  it('separates versions and builders', () => {
    const v3 = new KeyBuilder(parsePolicyConfig({ ...plannerConfig, keys: { ...plannerConfig.keys, builders: { venueSearch: { ...plannerConfig.keys.builders.venueSearch, version: 3 } } } }))
    expect(v3.build('venueSearch', { query: 'barn' }, june)).toBe(keys.build('venueSearch', { query: 'barn' }, june).replace(':v2:', ':v3:'))
  })

  it('refuses an unknown builder, naming the known ones', () => {
    expect(refusal(() => keys.build('venueSerach', {}), 'TC_INVALID_OPTIONS')).toBe('no key builder "venueSerach"; builders: venueSearch, photographers, countries')
    expect(refusal(() => new KeyBuilder(parsePolicyConfig({})).build('x'), 'TC_INVALID_OPTIONS')).toMatch(/declares none/)
  })

  it('refuses missing, undeclared and mistyped params', () => {
    expect(refusal(() => keys.build('venueSearch', {}, june), 'TC_INVALID_OPTIONS')).toBe('param query is required by venueSearch')
    expect(refusal(() => keys.build('venueSearch', { query: 'a', sort: 'price' }, june), 'TC_INVALID_OPTIONS')).toMatch(
      /venueSearch declares no param sort \(params: query, page\); declare it in keys\.builders\.venueSearch\.params, or set unknownParams: 'ignore'/,
    )
    expect(refusal(() => keys.build('venueSearch', { query: 'a', page: 1.5 }, june), 'TC_INVALID_OPTIONS')).toBe('param venueSearch.page is an integer, not 1.5')
    expect(refusal(() => keys.build('venueSearch', { query: 'a', page: 'two' }, june), 'TC_INVALID_OPTIONS')).toMatch(/is an integer, not "two"/)
    expect(refusal(() => keys.build('photographers', { style: 3 }, { location: 'London' }), 'TC_INVALID_OPTIONS')).toBe('param photographers.style is a string, not 3')
    expect(refusal(() => keys.build('venueSearch', { query: Number.NaN }, june), 'TC_INVALID_OPTIONS')).toMatch(/params\.query: NaN has no JSON form/)
    expect(refusal(() => keys.build('venueSearch', [] as unknown as Record<string, unknown>, june), 'TC_INVALID_OPTIONS')).toMatch(/must be an object/)
  })

  it('keeps undeclared params out of the key when the builder says ignore', () => {
    const lax = new KeyBuilder(parsePolicyConfig({ keys: { builders: { b: { params: ['q'], unknownParams: 'ignore' } } } }))
    expect(lax.build('b', { q: 1, trace: 'abc' })).toBe(lax.build('b', { q: 1 }))
  })

  it('refuses missing context fields and values their rules cannot bucket', () => {
    expect(refusal(() => keys.build('venueSearch', { query: 'a' }, { ...june, guests: undefined }), 'TC_INVALID_CONTEXT')).toBe(
      'context field guests is required by venueSearch (its rule: bands 50, 100, 200)',
    )
    expect(refusal(() => keys.build('venueSearch', { query: 'a' }), 'TC_INVALID_CONTEXT')).toMatch(/context field location is required/)
    expect(refusal(() => keys.build('venueSearch', { query: 'a' }, { ...june, location: 'Gotham' }), 'TC_INVALID_CONTEXT')).toMatch(/lists no location "Gotham"/)
    expect(refusal(() => keys.build('venueSearch', { query: 'a' }, { ...june, budget: -5 }), 'TC_INVALID_CONTEXT')).toMatch(/not an amount/)
  })

  it('refuses a builder whose keys would not fit the cache', () => {
    const config = parsePolicyConfig({ keys: { builders: { [`b${'x'.repeat(60)}`]: {} } } })
    expect(() => new KeyBuilder(config, { maxKeyLength: 64 })).toThrow(/would be 108 characters, over the cache's maxKeyLength of 64/)
    expect(new KeyBuilder(config, { maxKeyLength: 108 }).names()).toHaveLength(1)
  })

  it('refuses malformed builders with the path of the problem', () => {
    expect(() => parsePolicyConfig({ keys: { builders: { 'a:b': {} } } })).toThrow(/the builder name "a:b" must match \[A-Za-z0-9._-\]\{1,128\}/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { params: ['q', 'q'] } } } })).toThrow(/param q is declared twice/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { params: [{ name: 'q', type: 'date' }] } } } })).toThrow(/must be a param name, or \{ name, type/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { params: [{ name: 'q', type: 'number', fold: true }] } } } })).toThrow(/fold applies to params of type string only/)
    expect(() => parsePolicyConfig({ keys: { builders: { b: { context: { l: { market: 'eu' } } } } } })).toThrow(/no market eu in keys\.markets/)
    expect(() => parsePolicyConfig({ keys: { venueSearch: { params: [] } } })).toThrow(/unknown field\(s\) venueSearch: key builders go under keys\.builders/)
  })
})

describe('KeyBuilder.explain', () => {
  it('gives each param and field with its raw value, rule, bucket and reason, the canonical text and the key', () => {
    const explained = keys.explain('venueSearch', { query: 'barn', page: '3' }, { ...june, freshness: 'realtime' })
    expect(explained.key).toBe(keys.build('venueSearch', { query: 'barn', page: 3 }, june))
    expect(explained).toMatchObject({ builder: 'venueSearch', version: 2 })
    expect(explained.params).toEqual([
      { name: 'query', type: 'json', optional: false, raw: 'barn', value: 'barn' },
      { name: 'page', type: 'integer', optional: true, raw: '3', value: 3 },
    ])
    expect(explained.context).toEqual([
      { field: 'location', rule: 'market us', optional: false, raw: 'Austin', bucket: 'region:TX', reason: 'Austin is in region TX of market us' },
      {
        field: 'date',
        rule: 'season (peak 04-01..10-31; holidays 12-15..01-05; otherwise off-season)',
        optional: false,
        raw: '2025-06-14',
        bucket: 'peak',
        reason: 'falls in peak (04-01..10-31)',
      },
      { field: 'budget', rule: 'tiers 5000, 15000, 40000', optional: false, raw: 12000, bucket: '[5000,15000)', reason: '12000 is in [5000, 15000)' },
      { field: 'guests', rule: 'bands 50, 100, 200', optional: false, raw: 80, bucket: '[50,100)', reason: '80 is in [50, 100)' },
    ])
    expect(explained.canonical).toBe(
      '{"context":{"budget":"[5000,15000)","date":"peak","guests":"[50,100)","location":"region:TX"},"params":{"page":3,"query":"barn"}}',
    )
  })

  it('says which optional params and fields were left out', () => {
    const explained = keys.explain('photographers', { style: 'Candid' }, { location: 'Leeds' })
    expect(explained.params).toEqual([{ name: 'style', type: 'string', optional: false, raw: 'Candid', value: 'candid' }])
    expect(explained.context.map((step) => [step.field, step.bucket, step.reason])).toEqual([
      ['location', 'rest-of-uk', '"Leeds" is listed nowhere in market uk: its otherwise bucket'],
      ['date', undefined, 'left out (optional): not in the key'],
      ['budget', undefined, 'left out (optional): not in the key'],
    ])
  })

  it('refuses what build refuses', () => {
    expect(refusal(() => keys.explain('venueSearch', {}, june), 'TC_INVALID_OPTIONS')).toBe('param query is required by venueSearch')
  })
})

describe('Policy.keys', () => {
  it('is the key builder of the configuration', () => {
    const policy = definePolicy(plannerConfig)
    expect(policy.keys.build('venueSearch', { query: 'barn' }, june)).toBe(keys.build('venueSearch', { query: 'barn' }, june))
    expect(policy.keys.names()).toEqual(['venueSearch', 'photographers', 'countries'])
    expect(policy.keys.paramsOf('venueSearch').map((param) => param.name)).toEqual(['query', 'page'])
  })

  it('fails at definition for a season rule the configuration cannot serve', () => {
    expect(() => definePolicy({ keys: { builders: { b: { context: { d: { season: ['peak'] } } } } } })).toThrow(/no season peak in seasons/)
  })
})
