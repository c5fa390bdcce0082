import { afterEach, describe, expect, it } from 'vitest'
import { makeEntry } from '../tiers/conformance.js'
import { cacheOver, gate } from '../helpers/cache.js'
import { l1Of, nonZero, observations, seriesOf, sqliteTier } from './instruments-helpers.js'

// Each workload below is known call by call, and every counter it moves is asserted exactly: all
// the non-zero series, so that a count added where none belongs fails too. L1 and a real SQLite L3.

const staleEntry = (namespace: string, key: string, value: unknown) => {
  const now = Date.now()
  return { ...makeEntry(namespace, key, value), freshUntil: now - 1, staleUntil: now + 3_600_000 }
}

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** A cache over L1 and a fresh SQLite file as L3. */
function cacheOnSqlite(options: Parameters<typeof cacheOver>[1]) {
  const sqlite = sqliteTier()
  const { cache } = cacheOver(sqlite.tier, options)
  cleanup.push(sqlite.remove, () => cache.close())
  return { cache, tier: sqlite.tier }
}

const metric = (name: string, labels: string) => `tiercache_${name}{${labels}}`

describe('instruments: lookups, hits, writes and misses', () => {
  it('counts hits per tier and misses as absent, expired, invalidated and evicted', async () => {
    const { cache, tier } = cacheOnSqlite({ namespace: 'flights', ttl: '1h', grace: '1h', l1: { maxEntries: 2 }, metrics: { sampleEvery: 1 } })
    const l1 = l1Of(cache)
    await cache.get('nowhere') // L1 absent, L3 absent
    await cache.set('a', 1) // written to L1 and L3
    await cache.get('a') // L1 hit, on the fast path
    await cache.getMany(['a', 'nowhere']) // L1 hit; L1 absent, L3 absent
    l1.put(staleEntry('flights', 'old', 0))
    await tier.set(staleEntry('flights', 'old', 0))
    await cache.get('old') // L1 expired, L3 expired
    await cache.delete('a')
    await cache.get('a') // L1 invalidated, L3 absent
    await cache.set('b', 2)
    await cache.set('c', 3) // L1 evicts 'old' (maxEntries 2)
    await cache.set('d', 4) // evicts 'b'
    await cache.get('b') // L1 evicted, L3 hit: backfilled into L1, which evicts 'c'

    const snapshot = await cache.metrics()
    const ns = 'namespace="flights"'
    expect(nonZero(snapshot)).toEqual({
      [metric('requests_total', `${ns},operation="get"`)]: 5,
      [metric('requests_total', `${ns},operation="getMany"`)]: 2,
      [metric('hits_total', `${ns},tier="l1"`)]: 2,
      [metric('hits_total', `${ns},tier="l3"`)]: 1,
      [metric('misses_total', `${ns},tier="l1",reason="absent"`)]: 2,
      [metric('misses_total', `${ns},tier="l1",reason="expired"`)]: 1,
      [metric('misses_total', `${ns},tier="l1",reason="invalidated"`)]: 1,
      [metric('misses_total', `${ns},tier="l1",reason="evicted"`)]: 1,
      [metric('misses_total', `${ns},tier="l3",reason="absent"`)]: 3,
      [metric('misses_total', `${ns},tier="l3",reason="expired"`)]: 1,
      [metric('writes_total', `${ns},tier="l1",kind="set"`)]: 4,
      [metric('writes_total', `${ns},tier="l1",kind="backfill"`)]: 1,
      [metric('writes_total', `${ns},tier="l3",kind="set"`)]: 4,
      [metric('deletes_total', ns)]: 1,
      [metric('invalidations_total', `${ns},kind="key"`)]: 1,
      [metric('evictions_total', `${ns},tier="l1",reason="count"`)]: 3,
    })
    // Every series known in advance is there, at zero where nothing happened.
    expect(seriesOf(snapshot, 'tiercache_misses_total')).toHaveLength(2 * 8)
    expect(seriesOf(snapshot, 'tiercache_stale_hits_total')).toHaveLength(2 * 3)
    expect(seriesOf(snapshot, 'tiercache_evictions_total')).toHaveLength(3)
    // L1: one read per key looked up, on the fast path and again in the walk when it missed;
    // L3: one read per call of the tier.
    expect(observations(snapshot, 'tiercache_tier_read_duration_seconds')).toEqual({
      'tiercache_tier_read_duration_seconds{tier="l1"}': 11,
      'tiercache_tier_read_duration_seconds{tier="l3"}': 5,
    })

    const stats = await cache.stats()
    expect(stats).toMatchObject({ requests: 7, hits: 3, origin: { calls: 0, errors: 0, timeouts: 0 }, staleServed: 0, coalesced: 0 })
    expect(stats.tiers.l1).toMatchObject({ hits: 2, misses: 5, writes: 5, errors: 0 })
    expect(stats.tiers.l3).toMatchObject({ hits: 1, misses: 4, writes: 4, errors: 0 })
  })
})

describe('instruments: the origin', () => {
  it('counts stale hits by reason, origin calls by outcome, coalesced calls, calls saved and their cost', async () => {
    const { cache, tier } = cacheOnSqlite({
      namespace: 'quotes',
      ttl: '1h',
      grace: '1h',
      metrics: { sampleEvery: 1, costs: { quotes: { perCall: 0.25, unit: 'usd' } } },
    })
    await tier.set(staleEntry('quotes', 's', 'old'))
    expect(await cache.get('s', { allowStale: true })).toBe('old') // requested
    const fail = () => {
      throw new Error('origin down')
    }
    expect(await cache.getOrSet('s', fail)).toBe('old') // factory-error
    const release = gate()
    const refreshed = gate()
    const onWrite = ({ key, level }: { key: string; level: string }) => void (key === 's' && level === 'l3' && refreshed.open())
    cache.on('tier:write', onWrite)
    const slow = async () => {
      await release.promise
      return 'new'
    }
    expect(await cache.getOrSet('s', slow, { timeout: 0 })).toBe('old') // timeout; the refresh goes on
    release.open()
    await refreshed.promise
    cache.off('tier:write', onWrite)

    const hang = ({ signal }: { signal: AbortSignal }) => new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)))
    await expect(cache.getOrSet('h', hang, { hardTimeout: 20 })).rejects.toMatchObject({ code: 'TC_FACTORY_TIMEOUT' })

    const go = gate()
    const first = cache.getOrSet('c', async () => {
      await go.promise
      return 'C'
    })
    const joiners = [cache.getOrSet('c', fail), cache.getOrSet('c', fail)]
    go.open()
    expect(await Promise.all([first, ...joiners])).toEqual(['C', 'C', 'C'])
    expect(await cache.getOrSet('c', fail)).toBe('C') // L1 hit
    await tier.set(makeEntry('quotes', 'f', 'F'))
    expect(await cache.getOrSet('f', fail)).toBe('F') // L3 hit

    const snapshot = await cache.metrics()
    const ns = 'namespace="quotes"'
    expect(nonZero(snapshot)).toEqual({
      [metric('requests_total', `${ns},operation="get"`)]: 1,
      [metric('requests_total', `${ns},operation="getOrSet"`)]: 8,
      [metric('hits_total', `${ns},tier="l1"`)]: 1,
      [metric('hits_total', `${ns},tier="l3"`)]: 1,
      [metric('stale_hits_total', `${ns},tier="l3",reason="requested"`)]: 1,
      [metric('stale_hits_total', `${ns},tier="l3",reason="factory-error"`)]: 1,
      [metric('stale_hits_total', `${ns},tier="l3",reason="timeout"`)]: 1,
      [metric('misses_total', `${ns},tier="l1",reason="absent"`)]: 6,
      [metric('misses_total', `${ns},tier="l3",reason="expired"`)]: 3,
      [metric('misses_total', `${ns},tier="l3",reason="absent"`)]: 2,
      [metric('writes_total', `${ns},tier="l1",kind="set"`)]: 2,
      [metric('writes_total', `${ns},tier="l1",kind="backfill"`)]: 1,
      [metric('writes_total', `${ns},tier="l3",kind="set"`)]: 2,
      [metric('coalesced_total', ns)]: 2,
      [metric('origin_calls_total', `${ns},outcome="ok"`)]: 2,
      [metric('origin_calls_total', `${ns},outcome="error"`)]: 1,
      [metric('origin_calls_total', `${ns},outcome="timeout"`)]: 1,
      // The two joiners, the L1 hit and the L3 hit made no origin call.
      [metric('origin_calls_saved_total', ns)]: 4,
      [metric('origin_cost_saved_total', `${ns},unit="usd"`)]: 1,
    })
    expect(observations(snapshot, 'tiercache_origin_duration_seconds')).toEqual({ [`tiercache_origin_duration_seconds{${ns}}`]: 4 })
    expect(observations(snapshot, 'tiercache_get_or_set_duration_seconds')).toEqual({ [`tiercache_get_or_set_duration_seconds{${ns}}`]: 8 })
    expect(await cache.stats()).toMatchObject({ requests: 9, origin: { calls: 4, errors: 1, timeouts: 1 }, staleServed: 3, coalesced: 2 })
  })
})

describe('instruments: removals', () => {
  it('counts deletes, invalidations by kind ("*" for every namespace) and evictions by size and expiry', async () => {
    const { cache } = cacheOnSqlite({ namespace: 'carts', l1: { maxBytes: 1_000 }, metrics: { sampleEvery: 1 } })
    const l1 = l1Of(cache)
    await cache.set('a', 'x'.repeat(400))
    await cache.set('b', 'x'.repeat(400)) // evicts 'a' for size
    expect(await cache.delete('b')).toBe(true)
    expect(await cache.delete('b')).toBe(false) // asked, but nothing deleted
    await cache.invalidateTags(['t'])
    await cache.clear()
    await cache.invalidateTags(['t'], { allNamespaces: true })
    await cache.erase({ tenantId: 'acme' })
    const now = Date.now()
    l1.put({ ...makeEntry('carts', 'dead', 1), freshUntil: now - 2, staleUntil: now - 1 })
    await cache.get('dead') // past its grace: L1 drops it (expired), and says so

    const ns = 'namespace="carts"'
    expect(nonZero(await cache.metrics())).toEqual({
      [metric('requests_total', `${ns},operation="get"`)]: 1,
      [metric('misses_total', `${ns},tier="l1",reason="expired"`)]: 1,
      [metric('misses_total', `${ns},tier="l3",reason="absent"`)]: 1,
      [metric('writes_total', `${ns},tier="l1",kind="set"`)]: 2,
      [metric('writes_total', `${ns},tier="l3",kind="set"`)]: 2,
      [metric('deletes_total', ns)]: 1,
      [metric('invalidations_total', `${ns},kind="key"`)]: 2,
      [metric('invalidations_total', `${ns},kind="tags"`)]: 1,
      [metric('invalidations_total', `${ns},kind="clear"`)]: 1,
      [metric('invalidations_total', 'namespace="*",kind="tags"')]: 1,
      [metric('invalidations_total', 'namespace="*",kind="scope"')]: 1,
      [metric('evictions_total', `${ns},tier="l1",reason="size"`)]: 1,
      [metric('evictions_total', `${ns},tier="l1",reason="expired"`)]: 1,
    })
  })
})

describe('instruments: before anything happens', () => {
  it('has every family, with no namespace series until one is seen, then all of its series at zero', async () => {
    const { cache } = cacheOnSqlite({ metrics: { sampleEvery: 1 } })
    const before = await cache.metrics()
    expect(seriesOf(before, 'tiercache_requests_total')).toEqual([])
    expect(seriesOf(before, 'tiercache_misses_total')).toEqual([])
    expect(seriesOf(before, 'tiercache_circuit_changes_total')).toEqual([
      'tiercache_circuit_changes_total{tier="l3",state="open"}',
      'tiercache_circuit_changes_total{tier="l3",state="half-open"}',
      'tiercache_circuit_changes_total{tier="l3",state="closed"}',
    ])
    expect(seriesOf(before, 'tiercache_errors_total')).toContain('tiercache_errors_total{tier="l3",operation="get"}')
    expect(seriesOf(before, 'tiercache_tier_read_duration_seconds')).toEqual([
      'tiercache_tier_read_duration_seconds{tier="l1"}',
      'tiercache_tier_read_duration_seconds{tier="l3"}',
    ])
    expect(seriesOf(before, 'tiercache_bus_messages_total')).toEqual([]) // no bus
    expect(nonZero(before)).toEqual({})
    expect(nonZero(before, 'gauge')).toEqual({
      'tiercache_capacity_entries{tier="l1"}': 10_000,
      'tiercache_capacity_bytes{tier="l1"}': 64 * 1024 * 1024,
    })

    await cache.namespace('first').get('k')
    const after = await cache.metrics()
    expect(seriesOf(after, 'tiercache_requests_total')).toEqual([
      'tiercache_requests_total{namespace="first",operation="get"}',
      'tiercache_requests_total{namespace="first",operation="getOrSet"}',
      'tiercache_requests_total{namespace="first",operation="getMany"}',
    ])
    expect(seriesOf(after, 'tiercache_misses_total')).toHaveLength(16)
    expect(seriesOf(after, 'tiercache_origin_cost_saved_total')).toEqual([]) // no cost configured
  })
})

describe('metrics() on a closed cache', () => {
  it('rejects with TC_CACHE_CLOSED', async () => {
    const { cache } = cacheOnSqlite({})
    await cache.close()
    await expect(cache.metrics()).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
  })
})

describe('instruments off', () => {
  it('metrics: false answers no families, reads no clock on L1 hits, and stats() still counts', async () => {
    const { cache } = cacheOnSqlite({ metrics: false })
    await cache.set('k', 1)
    const reads = countClockReads()
    for (let i = 0; i < 32; i++) await cache.getOrSet('k', () => 2)
    expect(reads.stop()).toBe(0)
    expect(await cache.metrics()).toMatchObject({ families: [] })
    expect(await cache.stats()).toMatchObject({ requests: 32, hits: 32, tiers: { l1: { hits: 32, writes: 1 }, l3: { writes: 1 } } })
  })

  it('on, times one L1 read and one getOrSet in sampleEvery (16 by default): two clock reads each', async () => {
    const { cache } = cacheOnSqlite({})
    await cache.set('k', 1)
    const reads = countClockReads()
    for (let i = 0; i < 32; i++) await cache.getOrSet('k', () => 2)
    expect(reads.stop()).toBe(2 * 2 + 2 * 2)
    const snapshot = await cache.metrics()
    expect(observations(snapshot, 'tiercache_get_or_set_duration_seconds')).toEqual({ 'tiercache_get_or_set_duration_seconds{namespace="default"}': 2 })
    expect(observations(snapshot, 'tiercache_tier_read_duration_seconds')).toMatchObject({ 'tiercache_tier_read_duration_seconds{tier="l1"}': 2 })
    expect(nonZero(snapshot)).toMatchObject({ 'tiercache_hits_total{namespace="default",tier="l1"}': 32 })
  })
})

/** Counts calls of `performance.now` until `stop()`. */
function countClockReads(): { stop(): number } {
  const original = performance.now.bind(performance)
  let calls = 0
  performance.now = () => {
    calls++
    return original()
  }
  return {
    stop() {
      performance.now = original
      return calls
    },
  }
}


describe('instruments: what L1 did not store', () => {
  it('counts no L1 write while L1 is suspended (the bus deaf), only the L3 one', async () => {
    const { cache } = cacheOnSqlite({ namespace: 'flights', ttl: '1h' })
    l1Of(cache).suspend()
    await cache.set('a', 1)
    const ns = 'namespace="flights"'
    const counts = nonZero(await cache.metrics())
    expect(counts[metric('writes_total', `${ns},tier="l3",kind="set"`)]).toBe(1)
    expect(counts[metric('writes_total', `${ns},tier="l1",kind="set"`)]).toBeUndefined()
  })
})
