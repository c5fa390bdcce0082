// The `warm` section as the configuration validates it: defaults, durations, sources, and every
// refusal at its path, with the code TC_INVALID_OPTIONS.
import { describe, expect, it } from 'vitest'
import { parsePolicyConfig } from '../../../src/policy/config.js'
import { definePolicy } from '../../../src/policy/layer.js'
import { Warmer } from '../../../src/policy/warm/warmer.js'
import { createCache } from '../../../src/index.js'

function refusal(warm: unknown): string {
  try {
    parsePolicyConfig({ warm })
  } catch (error) {
    expect((error as { code?: string }).code).toBe('TC_INVALID_OPTIONS')
    return (error as Error).message
  }
  throw new Error('the configuration was accepted')
}

describe('the warm section', () => {
  it('fills in the defaults and converts durations', () => {
    const config = parsePolicyConfig({
      warm: { jobs: { reference: { schedule: '0 * * * *', keys: ['countries', { key: 'airports', source: 'https://api.example/airports', tags: ['ref'] }], source: 'https://api.example/{key}', timeout: '5s', ttl: '1h' } } },
    })
    const job = config.warm?.jobs.reference
    expect(job).toMatchObject({ concurrency: 4, timeout: 5_000, ttl: 3_600_000, mode: 'reload', schedule: '0 * * * *' })
    expect(job?.source).toEqual({ url: 'https://api.example/{key}', headers: {} })
    expect(job?.keys).toEqual([
      { key: 'countries', source: undefined, tags: undefined },
      { key: 'airports', source: { url: 'https://api.example/airports', headers: {} }, tags: ['ref'] },
    ])
    expect(parsePolicyConfig({ warm: { jobs: { j: { source: 'http://x.example/{key}', hot: true } } } }).warm?.jobs.j?.hot).toEqual({ top: 100 })
    expect(parsePolicyConfig({}).warm).toBeUndefined()
  })

  it('takes functions as sources in a configuration given in code, and leaves them callable', () => {
    const source = () => 42
    const config = parsePolicyConfig({ warm: { jobs: { j: { keys: [{ key: 'k', source }] } } } })
    expect(config.warm?.jobs.j?.keys[0]?.source).toBe(source)
  })

  it('refuses each mistake at its path', () => {
    expect(refusal({ jobs: { j: { schedule: '61 * * * *', source: 'https://a.example/{key}' } } })).toMatch(/minute: 61[\s\S]*at warm\.jobs\.j\.schedule/)
    expect(refusal({ jobs: { j: { schedule: '0 3 * * *', timezone: 'Nowhere/X', source: 'https://a.example/{key}' } } })).toMatch(/Nowhere\/X[\s\S]*at warm\.jobs\.j\.timezone/)
    expect(refusal({ jobs: { j: { timezone: 'Europe/London', source: 'https://a.example/{key}' } } })).toMatch(/timezone applies to a schedule/)
    expect(refusal({ jobs: { j: { keys: ['a'] } } })).toMatch(/no source[\s\S]*at warm\.jobs\.j\.keys\[0\]/)
    expect(refusal({ jobs: { j: { keys: ['a', 'a'], source: 'https://a.example/{key}' } } })).toMatch(/listed twice/)
    expect(refusal({ jobs: { j: { keys: [{ key: 'a', source: 'ftp://a.example/x' }] } } })).toMatch(/http or https/)
    expect(refusal({ jobs: { j: { keys: [{ key: 'a', source: 'not a url' }] } } })).toMatch(/not a URL|source is/)
    expect(refusal({ jobs: { j: { hot: { top: 5 }, keys: [{ key: 'a', source: 'https://a.example/a' }] } } })).toMatch(/job's source[\s\S]*at warm\.jobs\.j\.hot/)
    expect(refusal({ jobs: { j: {} } })).toMatch(/a job loads keys/)
    expect(refusal({ jobs: { j: { source: 'https://a.example/{key}', concurrency: 0 } } })).toMatch(/at warm\.jobs\.j\.concurrency/)
    expect(refusal({ jobs: { j: { source: 'https://a.example/{key}', timeout: 'soon' } } })).toMatch(/at warm\.jobs\.j\.timeout/)
    expect(refusal({ jobs: { 'bad name': { source: 'https://a.example/{key}' } } })).toMatch(/job names/)
    expect(refusal({ jobs: { j: { source: 'https://a.example/{key}', extra: 1 } } })).toMatch(/extra/)
  })

  it('is refused by the warmer when a job names a policy the configuration lacks', () => {
    const policy = definePolicy({ policies: { countries: { ttl: '1d' } }, warm: { jobs: { j: { policy: 'cities', source: 'https://a.example/{key}' } } } })
    const cache = createCache({ l3: false })
    try {
      expect(() => new Warmer(cache, policy.config)).toThrow(/warm\.jobs\.j\.policy: cities is not a policy/)
    } finally {
      void cache.close()
    }
  })
})
