import { randomUUID } from 'node:crypto'
import { afterEach, describe, expect, it } from 'vitest'
import { createRedisBus } from '../../src/bus/redis.js'
import { assembleCache } from '../../src/cache/assemble.js'
import type { Cache } from '../../src/cache/cache.js'
import { resolveCacheOptions } from '../../src/cache/options.js'
import { createCache } from '../../src/index.js'
import { createRedisConnections } from '../../src/redis/connections.js'
import { createRedisTier } from '../../src/tiers/redis/index.js'
import { makeEntry } from '../tiers/conformance.js'
import { FakeClock } from '../helpers/cache.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { startTcpProxy } from '../helpers/tcp-proxy.js'
import { nonZero, seriesOf } from './instruments-helpers.js'

const cleanup: (() => Promise<void>)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

/** Resolves once the cache's bus is in `state` (at once if it is). */
function busIs(cache: Cache, state: 'listening' | 'deaf'): Promise<void> {
  if (cache.busState === state) return Promise.resolve()
  return new Promise((resolve) => {
    const onState = ({ listening }: { listening: boolean }) => {
      if (listening !== (state === 'listening')) return
      cache.off('bus:state', onState)
      resolve()
    }
    cache.on('bus:state', onState)
  })
}

/** Resolves when `cache` next applies a removal heard on the bus. */
function nextHeard(cache: Cache): Promise<void> {
  return new Promise((resolve) => {
    const onRemoval = ({ remote }: { remote: boolean }) => {
      if (!remote) return
      cache.off('removal', onRemoval)
      resolve()
    }
    cache.on('removal', onRemoval)
  })
}

describe('instruments with Redis', () => {
  it('counts L2 hits, bus messages sent and received, and what a removal heard does to L1', async () => {
    const prefix = `tc-instruments-${randomUUID().slice(0, 8)}`
    const options = { l2: { redis: TEST_REDIS_URL, prefix }, l3: false as const, metrics: { sampleEvery: 1 } }
    const [a, b] = [createCache(options), createCache(options)]
    cleanup.push(() => Promise.all([a.close(), b.close()]).then(() => undefined))
    await Promise.all([busIs(a, 'listening'), busIs(b, 'listening')])

    let heard = nextHeard(b)
    await a.set('k', 1)
    await heard // the notice of the set
    await b.get('k') // L1 absent, L2 hit, backfilled
    await b.get('k') // L1 hit
    heard = nextHeard(b)
    await a.delete('k')
    await heard
    await b.get('k') // L1 invalidated (by what it heard), L2 absent

    const ns = 'namespace="default"'
    const [ofA, ofB] = await Promise.all([a.metrics(), b.metrics()])
    expect(nonZero(ofA)).toEqual({
      [`tiercache_writes_total{${ns},tier="l1",kind="set"}`]: 1,
      [`tiercache_writes_total{${ns},tier="l2",kind="set"}`]: 1,
      [`tiercache_deletes_total{${ns}}`]: 1,
      [`tiercache_invalidations_total{${ns},kind="key"}`]: 1,
      'tiercache_bus_messages_total{direction="sent"}': 2,
    })
    expect(nonZero(ofB)).toEqual({
      [`tiercache_requests_total{${ns},operation="get"}`]: 3,
      [`tiercache_hits_total{${ns},tier="l1"}`]: 1,
      [`tiercache_hits_total{${ns},tier="l2"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l1",reason="absent"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l1",reason="invalidated"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l2",reason="absent"}`]: 1,
      [`tiercache_writes_total{${ns},tier="l1",kind="backfill"}`]: 1,
      'tiercache_bus_messages_total{direction="received"}': 2,
    })
    expect(nonZero(ofB, 'gauge')).toEqual({
      'tiercache_capacity_entries{tier="l1"}': 10_000,
      'tiercache_capacity_bytes{tier="l1"}': 64 * 1024 * 1024,
      'tiercache_bus_listening': 1,
    })
    // Redis counts its entries (none left) but cannot tell their bytes cheaply.
    expect(seriesOf(ofB, 'tiercache_entries')).toEqual(['tiercache_entries{tier="l1"}', 'tiercache_entries{tier="l2"}'])
    expect(seriesOf(ofB, 'tiercache_bytes')).toEqual(['tiercache_bytes{tier="l1"}'])
  })

  it('counts misses while deaf as suspended, an unreachable L2 as unavailable with its errors, and the circuit going round', async () => {
    const prefix = `tc-instruments-${randomUUID().slice(0, 8)}`
    const url = new URL(TEST_REDIS_URL)
    const proxy = await startTcpProxy(Number(url.port || 6379))
    cleanup.push(() => proxy.close())
    url.port = String(proxy.port)
    const connections = createRedisConnections(url.toString(), { commandTimeoutMs: 500 })
    const tier = createRedisTier({ connection: connections, prefix, commandTimeoutMs: 500 })
    const bus = createRedisBus({ connection: connections, channel: `${prefix}:bus`, commandTimeoutMs: 500 })
    const clock = new FakeClock()
    const cache = assembleCache(
      resolveCacheOptions({ l3: false, circuitBreaker: { failureThreshold: 1, openFor: 1_000 }, metrics: { sampleEvery: 1 } }),
      [{ level: 'l2', tier }],
      { bus, keyRing: false, now: clock.now },
    )
    cleanup.push(() => cache.close())
    await busIs(cache, 'listening')
    await tier.set(makeEntry('default', 'k', 1))

    const deaf = busIs(cache, 'deaf')
    proxy.cut()
    await deaf
    await cache.get('k') // L1 suspended; L2 fails: an error, and the circuit opens (threshold 1)
    await cache.get('k') // L1 suspended; L2 skipped while its circuit is open
    const down = await cache.metrics()
    expect(nonZero(down, 'gauge')).toMatchObject({ 'tiercache_circuit_open{tier="l2"}': 1 })
    expect(nonZero(down, 'gauge')).not.toHaveProperty('tiercache_bus_listening')
    expect(seriesOf(down, 'tiercache_bus_listening')).toEqual(['tiercache_bus_listening'])

    proxy.restore()
    await busIs(cache, 'listening')
    // The subscriber may reconnect before the command connection, which the probe needs.
    const command = connections.command
    if (command.status !== 'ready') await new Promise((resolve) => command.once('ready', resolve))
    clock.advance(10_000) // past openFor, and past the 10 s the tiers' counts are kept
    await cache.get('k') // L1 absent (emptied on resuming); the probe closes the circuit; L2 hit

    const ns = 'namespace="default"'
    const up = await cache.metrics()
    expect(nonZero(up)).toEqual({
      [`tiercache_requests_total{${ns},operation="get"}`]: 3,
      [`tiercache_misses_total{${ns},tier="l1",reason="suspended"}`]: 2,
      [`tiercache_misses_total{${ns},tier="l1",reason="absent"}`]: 1,
      [`tiercache_misses_total{${ns},tier="l2",reason="unavailable"}`]: 2,
      [`tiercache_hits_total{${ns},tier="l2"}`]: 1,
      [`tiercache_writes_total{${ns},tier="l1",kind="backfill"}`]: 1,
      'tiercache_errors_total{tier="l2",operation="get"}': 1,
      'tiercache_circuit_changes_total{tier="l2",state="open"}': 1,
      'tiercache_circuit_changes_total{tier="l2",state="half-open"}': 1,
      'tiercache_circuit_changes_total{tier="l2",state="closed"}': 1,
    })
    expect(nonZero(up, 'gauge')).toMatchObject({ 'tiercache_bus_listening': 1, 'tiercache_entries{tier="l1"}': 1, 'tiercache_entries{tier="l2"}': 1 })
    expect(nonZero(up, 'gauge')).not.toHaveProperty('tiercache_circuit_open{tier="l2"}')
    await tier.clear()
  }, 30_000)
})
