// The ttl policies behind a real cache: what createCache({ policies }) stores for a call naming a
// policy. The engine's own handling of the hook is tested with a stand-in in test/cache/.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { type Cache, type CacheOptions, Policy, createCache, definePolicy, loadPolicyConfig } from '../../../src/index.js'
import { EXAMPLE, IN_PEAK, OFF_PEAK } from './fixture.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-policy-engine-'))
const caches: Cache[] = []
// The clock stands still (only Date is faked; timers run): a stored entry's ttl is exactly its freshUntil minus now.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(OFF_PEAK)
})
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function open(policies: CacheOptions['policies']): Cache {
  const cache = createCache({ l3: false, ttl: '1h', policies })
  caches.push(cache)
  return cache
}

/** The fresh life the cache gave `key` when it stored it, ms. */
async function storedTtl(cache: Cache, key: string, options: Parameters<Cache['getOrSetWithInfo']>[2]): Promise<number> {
  const served = await cache.getOrSetWithInfo(key, () => 'value', options)
  expect(served.ageMs).toBe(0)
  return served.freshUntil - Date.now()
}

describe('createCache({ policies }) with the ttl policies', () => {
  it('stores a call naming a policy with the ttl its multipliers, season and bounds decide', async () => {
    const cache = open(EXAMPLE)
    vi.setSystemTime(IN_PEAK)
    // No role; realtime caps 1 min; peak halves: 30 s, jitter 10% down.
    const flight = await storedTtl(cache, 'BA117', { policy: 'flightStatus', context: { freshness: 'realtime' } })
    expect(flight).toBeGreaterThanOrEqual(27_000)
    expect(flight).toBeLessThanOrEqual(30_000)
    vi.setSystemTime(OFF_PEAK)
    expect(await storedTtl(cache, 'FR', { policy: 'countries' })).toBe(86_400_000)
    expect(await storedTtl(cache.withContext({ role: 'anon' }), 'photographer:42', { policy: 'vendor.photographer' })).toBe(2.7e6)
    // No policy named: the cache's own ttl.
    expect(await storedTtl(cache, 'plain', {})).toBe(3_600_000)
  })

  it('refuses an unknown policy and an unknown context value with their codes', async () => {
    const cache = open(definePolicy(EXAMPLE))
    await expect(cache.getOrSet('k', () => 1, { policy: 'nope' })).rejects.toMatchObject({ code: 'TC_UNKNOWN_POLICY' })
    await expect(cache.getOrSet('k', () => 1, { policy: 'countries', context: { volatility: 'extreme' } })).rejects.toMatchObject({ code: 'TC_INVALID_CONTEXT' })
  })

  it('takes a configuration from loadPolicyConfig as it is', async () => {
    const file = join(dir, 'policy.json')
    writeFileSync(file, JSON.stringify({ policies: { search: { ttl: '5m' } } }))
    const config = await loadPolicyConfig(file)
    expect(await storedTtl(open(new Policy(config)), 'q', { policy: 'search' })).toBe(300_000)
    // As the plain configuration too (createCache's type names only the input form, yet a validated one is taken back as is).
    expect(await storedTtl(open(config), 'q', { policy: 'search' })).toBe(300_000)
  })
})
