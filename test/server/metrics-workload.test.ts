/**
 * `GET /metrics` against a known workload on a real stack (L1, Redis with the bus, SQLite): the
 * answer, parsed by a Prometheus text-format parser, agrees series by series with a tally kept by
 * hand, through the REST API and the library, miss reasons included.
 */
import Database from 'better-sqlite3'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { FactoryError, FactoryTimeoutError } from '../../src/errors.js'
import { Exposition } from '../metrics/exposition.js'
import { type LiveServer, openLiveServer } from '../metrics/live-server.js'
import { Tally } from '../metrics/tally.js'
import { gate } from '../helpers/cache.js'
import { entryUrl } from './helpers.js'

const COUNTERS = [
  'tiercache_requests_total',
  'tiercache_hits_total',
  'tiercache_stale_hits_total',
  'tiercache_misses_total',
  'tiercache_writes_total',
  'tiercache_deletes_total',
  'tiercache_invalidations_total',
  'tiercache_evictions_total',
  'tiercache_coalesced_total',
  'tiercache_origin_calls_total',
  'tiercache_origin_calls_saved_total',
  'tiercache_origin_cost_saved_total',
  'tiercache_bus_messages_total',
  'tiercache_errors_total',
  'tiercache_circuit_changes_total',
]

let server: LiveServer
beforeAll(async () => {
  server = await openLiveServer()
})
afterAll(() => server?.close())
afterEach(() => {
  vi.useRealTimers()
})

async function scrape(): Promise<Exposition> {
  const response = await server.scrape()
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200)
  return new Exposition(response.body)
}

/** Scrapes until `done` holds: for what lands after the answer (a bus notice, a background backfill). */
async function until(done: (exposition: Exposition) => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!done(await scrape())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('GET /metrics on a known workload', () => {
  it('counts every request, hit per tier, miss by reason, write, removal, origin call and bus message exactly', async () => {
    const t = new Tally(COUNTERS)
    const flights = { namespace: 'flights' }
    const request = (operation: string, n = 1) => t.add('tiercache_requests_total', { ...flights, operation }, n)
    const hit = (tier: string) => t.add('tiercache_hits_total', { ...flights, tier })
    const miss = (tier: string, reason: string) => t.add('tiercache_misses_total', { ...flights, tier, reason })
    const missEverywhere = (reason: string) => ['l1', 'l2', 'l3'].forEach((tier) => miss(tier, reason))
    const written = (kind: 'set' | 'backfill', ...tiers: string[]) => tiers.forEach((tier) => t.add('tiercache_writes_total', { ...flights, tier, kind }))
    const sent = () => t.add('tiercache_bus_messages_total', { direction: 'sent' })
    const sentSoFar = () => t.expected()['tiercache_bus_messages_total{direction="sent"}'] ?? 0
    const busSent = (exposition: Exposition) => exposition.value('tiercache_bus_messages_total', { direction: 'sent' })
    // A write's bus notice goes out after the answer (a 1 ms linger): waited for, one write at a time.
    const put = async (key: string, body: object) => {
      expect((await server.request('PUT', entryUrl('flights', key), body)).statusCode).toBe(204)
      written('set', 'l1', 'l2', 'l3')
      sent()
      await until((e) => busSent(e) === sentSoFar(), `the set notice of ${key}`)
    }
    const get = (key: string, query = '') => server.request('GET', entryUrl('flights', key) + query)

    // The bus subscribes after the cache opens; until then L1 is suspended (a miss of its own).
    await until((e) => e.value('tiercache_bus_listening') === 1, 'the bus to listen')
    // Present at zero before anything happens: every tier and reason of a namespace once it is seen.
    await server.request('GET', entryUrl('flights', 'warm-up'))
    request('get')
    missEverywhere('absent')
    const fresh = await scrape()
    for (const reason of ['absent', 'expired', 'invalidated', 'evicted', 'unavailable', 'suspended', 'unreadable', 'bypassed']) {
      for (const tier of ['l1', 'l2', 'l3']) expect(fresh.samples('tiercache_misses_total', { ...flights, tier, reason }), `${tier} ${reason}`).toHaveLength(1)
    }
    expect(fresh.value('tiercache_bus_listening')).toBe(1)

    // A write, an L1 hit, a miss everywhere.
    await put('a', { value: 1, ttl: '5m', tags: ['route'] })
    expect((await get('a')).json()).toMatchObject({ source: 'l1' })
    request('get')
    hit('l1')
    expect((await get('nope')).statusCode).toBe(404)
    request('get')
    missEverywhere('absent')

    // Another instance writes to Redis only; its notice reaches the server's bus. Then an L2 hit,
    // backfilled into L1.
    await server.writer('l2').namespace('flights').set('b', 2)
    t.add('tiercache_bus_messages_total', { direction: 'received' })
    await until((e) => e.value('tiercache_bus_messages_total', { direction: 'received' }) === 1, 'the notice of the other instance')
    expect((await get('b')).json()).toMatchObject({ value: 2, source: 'l2' })
    request('get')
    miss('l1', 'absent')
    hit('l2')
    written('backfill', 'l1')

    // An entry in SQLite only: an L3 hit, backfilled into L1 at once and into Redis in the background.
    await server.writer('l3').namespace('flights').set('c', 3)
    expect((await get('c')).json()).toMatchObject({ value: 3, source: 'l3' })
    request('get')
    miss('l1', 'absent')
    miss('l2', 'absent')
    hit('l3')
    written('backfill', 'l1', 'l2')
    await until((e) => e.value('tiercache_writes_total', { ...flights, tier: 'l2', kind: 'backfill' }) === 1, 'the backfill of Redis')
    expect((await get('c')).json()).toMatchObject({ source: 'l1' })
    request('get')
    hit('l1')

    // A batch: one request per key.
    const batch = await server.request('POST', '/v1/entries/flights/batch-get', { keys: ['a', 'nope'] })
    expect(batch.json()).toMatchObject({ entries: [{ key: 'a', found: true, source: 'l1' }, { key: 'nope', found: false }] })
    request('getMany', 2)
    hit('l1')
    missEverywhere('absent')

    // Removals: a delete, a purge by tags, then the misses they explain.
    expect((await server.request('DELETE', entryUrl('flights', 'a'))).json()).toEqual({ deleted: true })
    t.add('tiercache_invalidations_total', { ...flights, kind: 'key' })
    t.add('tiercache_deletes_total', flights)
    sent()
    expect((await get('a')).statusCode).toBe(404)
    request('get')
    miss('l1', 'invalidated')
    miss('l2', 'absent')
    miss('l3', 'absent')
    await put('d', { value: 4, ttl: '5m', tags: ['route'] })
    expect((await server.request('POST', '/v1/purge', { tags: ['route'], namespace: 'flights' })).statusCode).toBe(200)
    t.add('tiercache_invalidations_total', { ...flights, kind: 'tags' })
    sent()
    expect((await get('d')).statusCode).toBe(404)
    request('get')
    miss('l1', 'invalidated')
    miss('l2', 'absent')
    miss('l3', 'absent')

    // Past its ttl, within its grace, in every tier: expired everywhere; served stale when asked.
    await put('e', { value: 5, ttl: 1_000, grace: '1h' })
    vi.useFakeTimers({ toFake: ['Date'] })
    vi.setSystemTime(Date.now() + 2_000)
    expect((await get('e')).statusCode).toBe(404)
    request('get')
    missEverywhere('expired')
    expect((await get('e', '?allowStale=true')).json()).toMatchObject({ value: 5, stale: true, source: 'l1' })
    request('get')
    missEverywhere('expired')
    t.add('tiercache_stale_hits_total', { ...flights, tier: 'l1', reason: 'requested' })
    vi.useRealTimers()

    // An entry SQLite holds but that cannot be opened: unreadable (and dropped).
    await server.writer('l3').namespace('flights').set('u', 6)
    const db = new Database(server.file)
    try {
      expect(db.prepare("UPDATE tiercache_entries SET value = x'c1c1c1c1' WHERE namespace = '~acme~flights' AND key = 'u'").run().changes).toBe(1)
    } finally {
      db.close()
    }
    expect((await get('u')).statusCode).toBe(404)
    request('get')
    miss('l1', 'absent')
    miss('l2', 'absent')
    miss('l3', 'unreadable')

    // A namespace cleared.
    expect((await server.request('POST', '/v1/clear', { namespace: 'flights' })).statusCode).toBe(200)
    t.add('tiercache_invalidations_total', { ...flights, kind: 'clear' })
    sent()

    // The library, in the public scope of the same namespace (one label for both: the namespace as
    // its callers name it): read-through, an L1 answer saved, a joined flight, failed origins.
    const library = server.cache.namespace('flights')
    const origin = (outcome: string) => t.add('tiercache_origin_calls_total', { ...flights, outcome })
    const saved = () => {
      t.add('tiercache_origin_calls_saved_total', flights)
      t.add('tiercache_origin_cost_saved_total', { ...flights, unit: 'usd' }, 0.002)
    }
    expect(await library.getOrSet('x', async () => 'from origin')).toBe('from origin')
    request('getOrSet')
    missEverywhere('absent')
    origin('ok')
    written('set', 'l1', 'l2', 'l3')
    sent()
    await until((e) => busSent(e) === sentSoFar(), 'the set notice of x')
    expect(await library.getOrSet('x', async () => 'not called')).toBe('from origin')
    request('getOrSet')
    hit('l1')
    saved()

    const slow = gate()
    const first = library.getOrSet('z', async () => {
      await slow.promise
      return 'once'
    })
    const joined = library.getOrSet('z', async () => 'never')
    slow.open()
    expect(await Promise.all([first, joined])).toEqual(['once', 'once'])
    request('getOrSet', 2)
    missEverywhere('absent')
    t.add('tiercache_coalesced_total', flights)
    saved()
    origin('ok')
    written('set', 'l1', 'l2', 'l3')
    sent()
    await until((e) => busSent(e) === sentSoFar(), 'the set notice of z')

    await expect(library.getOrSet('y', async () => Promise.reject(new Error('origin down')))).rejects.toBeInstanceOf(FactoryError)
    request('getOrSet')
    missEverywhere('absent')
    origin('error')
    const hung = gate()
    await expect(library.getOrSet('w', () => hung.promise.then(() => 'late'), { hardTimeout: 20 })).rejects.toBeInstanceOf(FactoryTimeoutError)
    request('getOrSet')
    missEverywhere('absent')
    origin('timeout')
    // The late result is still stored, for the next caller; its outcome stays the timeout.
    hung.open()
    written('set', 'l1', 'l2', 'l3')
    sent()
    await until((e) => busSent(e) === sentSoFar() && e.value('tiercache_writes_total', { ...flights, tier: 'l3', kind: 'set' }) === 6, 'the late result of w')

    // A user's entries are kept out of L1 (security.tiers): L1 is passed over, bypassed.
    const profiles = { namespace: 'profiles' }
    expect(await server.cache.withContext({ role: 'authenticated', tenantId: 'acme', userId: 'u42' }).namespace('profiles').get('p')).toBeUndefined()
    t.add('tiercache_requests_total', { ...profiles, operation: 'get' })
    t.add('tiercache_misses_total', { ...profiles, tier: 'l1', reason: 'bypassed' })
    t.add('tiercache_misses_total', { ...profiles, tier: 'l2', reason: 'absent' })
    t.add('tiercache_misses_total', { ...profiles, tier: 'l3', reason: 'absent' })

    const exposition = await scrape()
    expect(t.actual(exposition)).toEqual(t.expected())
    // Each reason this workload produced, counted where it happened.
    expect(exposition.value('tiercache_misses_total', { ...flights, tier: 'l1', reason: 'invalidated' })).toBe(2)
    expect(exposition.sum('tiercache_misses_total', { reason: 'expired' })).toBe(6)
    expect(exposition.value('tiercache_misses_total', { ...flights, tier: 'l3', reason: 'unreadable' })).toBe(1)
    expect(exposition.value('tiercache_misses_total', { ...profiles, tier: 'l1', reason: 'bypassed' })).toBe(1)
    // Latency: every getOrSet timed (sampleEvery 1), each origin call once.
    expect(exposition.histogram('tiercache_get_or_set_duration_seconds', flights).count).toBe(6)
    expect(exposition.histogram('tiercache_origin_duration_seconds', flights).count).toBe(4)
    expect(exposition.histogram('tiercache_tier_read_duration_seconds', { tier: 'l3' }).count).toBeGreaterThan(0)
  })
})
