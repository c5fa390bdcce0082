import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { assembleCache } from '../../src/cache/assemble.js'
import { Instruments, MAX_COUNTED_NAMESPACES } from '../../src/cache/instruments/instruments.js'
import { type CacheOptions, resolveCacheOptions } from '../../src/cache/options.js'
import { encodeValue } from '../../src/core/codec.js'
import { createCache } from '../../src/index.js'
import { createPostgresTier } from '../../src/tiers/sql/postgres/index.js'
import type { Tier } from '../../src/tiers/tier.js'
import { makeEntry } from '../tiers/conformance.js'
import { FakeClock } from '../helpers/cache.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { l1Of, nonZero, seriesOf, sqliteTier, valueOf } from './instruments-helpers.js'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** A cache over L1 and `tier` as L3, with scoped entries stored in plain text (no key ring needed). */
function scopedCache(tier: Tier, options: CacheOptions, now?: () => number) {
  const cache = assembleCache(resolveCacheOptions({ ...options, l3: false }), [{ level: 'l3', tier }], { keyRing: false, now })
  cleanup.push(() => cache.close())
  return cache
}

function sqlite() {
  const { tier, remove } = sqliteTier()
  cleanup.push(remove)
  return tier
}

const acme = { role: 'authenticated', tenantId: 'acme' } as const

describe('instruments: scopes', () => {
  it('labels a namespace by its logical name in every scope; counts tiers a scope keeps out of as bypassed, undecodable entries as unreadable', async () => {
    const tier = sqlite()
    const cache = scopedCache(tier, { namespace: 'docs', security: { tiers: { tenant: ['l1'] } }, metrics: { sampleEvery: 1 } })
    await cache.get('k') // public: L1 absent, L3 absent
    await cache.withContext({ ...acme, userId: 'u1' }).get('k') // user entries stay out of L1 (by default)
    await cache.withContext(acme).get('k') // tenant entries stay out of L3 here
    // A payload msgpack cannot decode: the entry is dropped, the read is a miss.
    await tier.set({ ...makeEntry('docs', 'bad', 'x'), payload: new Uint8Array([0x92]) })
    await cache.get('bad')
    const ns = 'namespace="docs"'
    expect(nonZero(await cache.metrics())).toEqual({
      [`tiercache_requests_total{${ns},operation="get"}`]: 4,
      [`tiercache_misses_total{${ns},tier="l1",reason="absent"}`]: 3,
      [`tiercache_misses_total{${ns},tier="l1",reason="bypassed"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l3",reason="absent"}`]: 2,
      [`tiercache_misses_total{${ns},tier="l3",reason="bypassed"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l3",reason="unreadable"}`]: 1,
    })
    expect(await tier.get('docs', 'bad')).toBeUndefined()
  })

  it('labels tenants only when asked, up to tenants.max, and namespaces up to maxNamespaces (those with a cost always)', async () => {
    const cache = scopedCache(sqlite(), {
      metrics: { maxNamespaces: 2, tenants: { max: 1 }, costs: { d: { perCall: 100, unit: 'tokens' } } },
    })
    for (const [name, context] of [
      ['a', undefined],
      ['a', acme],
      ['a', { role: 'authenticated', tenantId: 'beta' }],
      ['b', undefined],
      ['c', undefined],
      ['d', undefined],
      ['e', acme],
    ] as const) {
      const view = cache.namespace(name)
      await (context === undefined ? view : view.withContext(context)).getOrSet('k', () => 1)
    }
    await cache.erase({ tenantId: 'acme' })
    const snapshot = await cache.metrics()
    expect(seriesOf(snapshot, 'tiercache_deletes_total')).toEqual([
      'tiercache_deletes_total{namespace="a",tenant=""}',
      'tiercache_deletes_total{namespace="a",tenant="acme"}',
      'tiercache_deletes_total{namespace="a",tenant="_other"}',
      'tiercache_deletes_total{namespace="b",tenant=""}',
      'tiercache_deletes_total{namespace="_other",tenant=""}',
      'tiercache_deletes_total{namespace="d",tenant=""}',
      'tiercache_deletes_total{namespace="_other",tenant="acme"}',
    ])
    expect(valueOf(snapshot, 'tiercache_invalidations_total', { namespace: '*', tenant: 'acme', kind: 'scope' })).toBe(1)
    expect(valueOf(snapshot, 'tiercache_origin_calls_total', { namespace: '_other', tenant: '', outcome: 'ok' })).toBe(1)
    expect(seriesOf(snapshot, 'tiercache_origin_cost_saved_total')).toEqual(['tiercache_origin_cost_saved_total{namespace="d",tenant="",unit="tokens"}'])
  })
})

describe('instruments: the storage namespace memo', () => {
  it('finds the same series for a namespace in every scope, however often the bounded memo starts over', () => {
    const instruments = new Instruments(resolveCacheOptions({}).metrics)
    const flights = instruments.seriesOf('flights')
    for (let i = 0; i < 20_000; i++) expect(instruments.seriesOf(`~t${i}~flights`)).toBe(flights)
    expect(instruments.seriesOf('flights')).toBe(flights)
    expect(instruments.all()).toEqual([flights])
    expect(instruments.seenStorage.size).toBe(MAX_COUNTED_NAMESPACES)
  })
})

describe('instruments: gauges', () => {
  it("reads L1 exactly, and counts the SQL tier's entries and bytes in the namespaces seen, at most once per 10 s", async () => {
    const tier = sqlite()
    const clock = new FakeClock()
    const cache = scopedCache(tier, { l1: { maxEntries: 100, maxBytes: 100_000 } }, clock.now)
    await cache.set('a', 'alpha')
    await cache.namespace('other').set('b', [1, 2, 3])
    await cache.withContext(acme).set('c', { n: 1 })
    await tier.set(makeEntry('not-seen', 'x', 'x')) // another application's row
    const l1 = l1Of(cache)
    const bytes = [encodeValue('alpha'), encodeValue([1, 2, 3]), encodeValue({ n: 1 })].reduce((sum, payload) => sum + payload.byteLength, 0)
    expect(nonZero(await cache.metrics(), 'gauge')).toEqual({
      'tiercache_entries{tier="l1"}': 3,
      'tiercache_entries{tier="l3"}': 3,
      'tiercache_bytes{tier="l1"}': l1.bytes,
      'tiercache_bytes{tier="l3"}': bytes,
      'tiercache_capacity_entries{tier="l1"}': 100,
      'tiercache_capacity_bytes{tier="l1"}': 100_000,
    })
    await cache.set('d', 'delta')
    const cached = await cache.metrics()
    expect(valueOf(cached, 'tiercache_entries', { tier: 'l1' })).toBe(4)
    expect(valueOf(cached, 'tiercache_entries', { tier: 'l3' })).toBe(3) // counted less than 10 s ago
    clock.advance(10_000)
    expect(valueOf(await cache.metrics(), 'tiercache_entries', { tier: 'l3' })).toBe(4)
  })

  it('PostgreSQL counts entries and value bytes of the given namespaces in one query', async () => {
    const run = randomUUID().slice(0, 8)
    const tier = await createPostgresTier({ url: TEST_POSTGRES_URL, cleanupIntervalMs: 0 })
    cleanup.push(() => tier.close())
    const [mine, theirs] = [`mine-${run}`, `theirs-${run}`]
    for (const [namespace, key, value] of [
      [mine, 'a', 'alpha'],
      [mine, 'b', 'x'.repeat(300)],
      [`~acme~${mine}`, 'c', 1],
      [theirs, 'd', 'delta'],
    ] as const) {
      await tier.set(makeEntry(namespace, key, value))
    }
    const bytes = [encodeValue('alpha'), encodeValue('x'.repeat(300)), encodeValue(1)].reduce((sum, payload) => sum + payload.byteLength, 0)
    expect(await tier.usage([mine, `~acme~${mine}`])).toEqual({ entries: 3, bytes })
    expect(await tier.usage([])).toEqual({ entries: 0, bytes: 0 })
    await tier.clear(mine)
    await tier.clearPrefix('~acme~')
    await tier.clear(theirs)
  })
})

describe('metrics options', () => {
  it.each([
    [{ metrics: { maxNamespace: 10 } }, /maxNamespace/],
    [{ metrics: { maxNamespaces: 0 } }, /maxNamespaces/],
    [{ metrics: { tenants: { max: 10, cap: 1 } } }, /cap/],
    [{ metrics: { costs: { 'bad name': { perCall: 1, unit: 'usd' } } } }, /costs/],
    [{ metrics: { costs: { flights: { perCall: -1, unit: 'usd' } } } }, /perCall/],
    [{ metrics: { costs: { flights: { perCall: 1, unit: 'US $' } } } }, /unit/],
    [{ metrics: { sampleEvery: 0.5 } }, /sampleEvery/],
    [{ metrics: true }, /metrics/],
  ])('refuses %j with TC_INVALID_OPTIONS', (options, message) => {
    expect(() => createCache({ l3: false, ...(options as CacheOptions) })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS', message: expect.stringMatching(message) }))
  })
})
