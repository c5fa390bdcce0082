import { afterEach, describe, expect, it } from 'vitest'
import { type Upstream, createAiCache } from '../../src/ai/index.js'
import { type Cache, createCache, definePolicy } from '../../src/index.js'

const policy = definePolicy({
  policies: { 'venue-recommendations': { ttl: '6h' } },
  keys: {
    markets: { us: { regions: { TX: ['Austin', 'Dallas'] }, otherwise: 'rest-of-us' } },
    builders: {
      'venue-recommendations': { version: 1, params: [], context: { location: { market: 'us' }, guests: { bands: [50, 100, 200] } } },
    },
  },
})

/** An upstream answering `#<n>`, counting its calls. */
function countingUpstream(): Upstream & { calls: number } {
  const upstream = {
    calls: 0,
    async post() {
      upstream.calls++
      return { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: `#${upstream.calls}` } }] } }
    },
    stream: () => Promise.reject(new Error('not streamed here')),
    close: async () => {},
  }
  return upstream
}

const request = (extra: Record<string, unknown> = {}) => ({
  model: 'gpt-test',
  temperature: 0,
  messages: [{ role: 'user', content: 'Three venues for our wedding, please.' }],
  ...extra,
})

let cache: Cache | undefined
afterEach(async () => {
  await cache?.close()
})

describe('the AI cache with a policy layer', () => {
  it('buckets the context into the key: equivalent contexts share an answer, others do not', async () => {
    cache = createCache({ l3: false, policies: policy })
    const upstream = countingUpstream()
    const ai = createAiCache({ cache, upstream, policy })
    const cacheType = 'venue-recommendations'
    const austin = await ai.chat(request(), { cacheType, context: { location: 'Austin', guests: 80 } })
    const dallas = await ai.chat(request(), { cacheType, context: { location: 'Dallas', guests: 95 } })
    const fromMetadata = await ai.chat(request({ metadata: { location: 'dallas', guests: 60 } }), { cacheType })
    expect([austin.cache, dallas.cache, fromMetadata.cache]).toEqual(['MISS', 'HIT', 'HIT'])
    const bigger = await ai.chat(request(), { cacheType, context: { location: 'Austin', guests: 150 } })
    const elsewhere = await ai.chat(request(), { cacheType, context: { location: 'Boise', guests: 80 } })
    expect([bigger.cache, elsewhere.cache]).toEqual(['MISS', 'MISS'])
    expect(upstream.calls).toBe(3)
    // Without a builder for the type, the context does not enter the key.
    const plain = await ai.chat(request(), { context: { location: 'Boise' } })
    const plainAgain = await ai.chat(request(), { context: { location: 'Austin' } })
    expect([plain.cache, plainAgain.cache]).toEqual(['MISS', 'HIT'])
  })

  it("gives a cache type its ttl policy's ttl; a call's own ttl wins", async () => {
    const view = createCache({ l3: false, policies: policy })
    cache = view
    const ai = createAiCache({ cache: view, upstream: countingUpstream(), policy, ttl: '1m' })
    /** How long the one answer in `name` is fresh from `since`, ms. */
    const freshFor = async (name: string, since: number) => {
      const namespace = view.namespace(name)
      const keys: string[] = []
      for await (const key of namespace.keys()) keys.push(key)
      expect(keys).toHaveLength(1)
      return ((await namespace.getWithInfo(keys[0]!))?.freshUntil ?? 0) - since
    }
    const context = { location: 'Austin', guests: 80 }
    const before = Date.now()
    await ai.chat(request(), { cacheType: 'venue-recommendations', context, namespace: 'venues' })
    await ai.chat(request(), { cacheType: 'timeline', namespace: 'timelines' })
    expect(await freshFor('venues', before)).toBeGreaterThanOrEqual(6 * 3600_000)
    expect(await freshFor('timelines', before)).toBeLessThanOrEqual(60_000 + (Date.now() - before))

    await view.namespace('venues').clear()
    const again = Date.now()
    await ai.chat(request(), { cacheType: 'venue-recommendations', context, ttl: '2m', namespace: 'venues' })
    expect(await freshFor('venues', again)).toBeLessThanOrEqual(120_000 + (Date.now() - again))
  })
  it('lets a cache type cache sampled requests while the others bypass them', async () => {
    const own = createCache({ l3: false })
    cache = own
    const upstream = countingUpstream()
    const ai = createAiCache({ cache: own, upstream, cacheTypes: { ideas: { sampled: 'cache' }, strict: { maxTemperature: 0.5 } } })
    const sampled = { model: 'gpt-test', messages: [{ role: 'user', content: 'Ten theme ideas' }] }
    expect((await ai.chat(sampled)).cache).toBe('BYPASS')
    await ai.chat(sampled, { cacheType: 'ideas' })
    expect((await ai.chat(sampled, { cacheType: 'ideas' })).cache).toBe('HIT')
    await ai.chat({ ...sampled, temperature: 0.4 }, { cacheType: 'strict' })
    expect((await ai.chat({ ...sampled, temperature: 0.4 }, { cacheType: 'strict' })).cache).toBe('HIT')
    expect((await ai.chat({ ...sampled, temperature: 0.4 })).cache).toBe('BYPASS')
    expect(upstream.calls).toBe(4)
    expect(() => createAiCache({ cache: own, upstream, cacheTypes: { 'no spaces': {} } })).toThrow(/invalid AI cache options(.|\n)*cacheTypes/)
  })
})
