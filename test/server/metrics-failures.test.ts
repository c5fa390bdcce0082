/**
 * `GET /metrics` while things go wrong, driven through the REST server: L1 evicting, a shared tier
 * failing until its circuit opens and closing again, the bus deaf and back, a message heard from
 * another instance. The shared tier is a controllable stand-in and the bus a scripted one, so that
 * each failure happens exactly when the test says; the counts must agree exactly with the tally.
 */
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Bus, BusHandlers, BusMessage } from '../../src/bus/bus.js'
import { assembleCache } from '../../src/cache/assemble.js'
import type { Cache } from '../../src/cache/cache.js'
import { resolveCacheOptions } from '../../src/cache/options.js'
import { KeyRing } from '../../src/index.js'
import { buildServer } from '../../src/server/index.js'
import { ControlledTier, FakeClock } from '../helpers/cache.js'
import { Exposition } from '../metrics/exposition.js'
import { Tally } from '../metrics/tally.js'
import { type KeyStore, bearer, entryUrl, openKeyStore } from './helpers.js'

/** A bus whose deafness and deliveries the test scripts; it records what the cache publishes. */
class ScriptedBus implements Bus {
  readonly id = 'scripted'
  listening = false
  readonly published: BusMessage[] = []
  private handlers: BusHandlers | undefined

  async publish(message: BusMessage): Promise<void> {
    this.published.push(message)
  }
  async start(handlers: BusHandlers): Promise<void> {
    this.handlers = handlers
    this.listening = true
  }
  async close(): Promise<void> {
    this.listening = false
  }
  goDeaf(): void {
    this.listening = false
    this.handlers?.deaf('disconnected')
  }
  hearAgain(): void {
    this.listening = true
    this.handlers?.listening()
  }
  deliver(message: BusMessage): void {
    this.handlers?.message(message, { v: 1, sender: 'another', seq: 1, at: Date.now(), message })
  }
}

const COUNTERS = [
  'tiercache_requests_total',
  'tiercache_hits_total',
  'tiercache_misses_total',
  'tiercache_writes_total',
  'tiercache_evictions_total',
  'tiercache_errors_total',
  'tiercache_circuit_changes_total',
  'tiercache_bus_messages_total',
]

let app: FastifyInstance
let cache: Cache
let store: KeyStore
let ops: string
let tenant: string
const l3 = new ControlledTier()
const bus = new ScriptedBus()
const clock = new FakeClock()

beforeAll(async () => {
  const options = resolveCacheOptions({ l1: { maxEntries: 2 }, l3: false, metrics: { sampleEvery: 1 } })
  cache = assembleCache(options, [{ level: 'l3', tier: l3 }], { keyRing: KeyRing.from([{ id: 'k1', key: randomBytes(32) }]), bus, now: clock.now })
  store = await openKeyStore()
  app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, closeCacheOnClose: true })
  ;[ops, tenant] = await Promise.all([
    store.createKey({ tenant: 'ops', roles: ['admin', 'service'] }).then((created) => created.key),
    store.createKey().then((created) => created.key),
  ])
})
afterAll(async () => {
  await app?.close()
  await store?.close()
})

async function scrape(): Promise<Exposition> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers: bearer(ops) })
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200)
  return new Exposition(response.body)
}

const get = (key: string) => app.inject({ method: 'GET', url: entryUrl('fares', key), headers: bearer(tenant) })
const put = (key: string, value: unknown) => app.inject({ method: 'PUT', url: entryUrl('fares', key), headers: bearer(tenant), payload: { value } })

describe('GET /metrics while tiers fail', () => {
  it('counts evictions, an unavailable tier and its circuit, a deaf bus and a message heard, exactly', async () => {
    const t = new Tally(COUNTERS)
    const fares = { namespace: 'fares' }
    const request = () => t.add('tiercache_requests_total', { ...fares, operation: 'get' })
    const miss = (tier: string, reason: string) => t.add('tiercache_misses_total', { ...fares, tier, reason })
    const written = (tier: string, kind: string) => t.add('tiercache_writes_total', { ...fares, tier, kind })
    // The cache distrusts L1 until the bus has started, a turn of the event loop after it opens.
    await new Promise((resolve) => setImmediate(resolve))
    expect((await scrape()).value('tiercache_bus_listening')).toBe(1)

    // L1 holds two entries: the third evicts the first (by count); reading it back misses L1 as
    // evicted, finds it in L3, and its backfill evicts the next oldest.
    for (const key of ['e1', 'e2', 'e3']) {
      expect((await put(key, key)).statusCode).toBe(204)
      written('l1', 'set')
      written('l3', 'set')
    }
    t.add('tiercache_evictions_total', { ...fares, tier: 'l1', reason: 'count' })
    expect((await get('e1')).json()).toMatchObject({ value: 'e1', source: 'l3' })
    request()
    miss('l1', 'evicted')
    t.add('tiercache_hits_total', { ...fares, tier: 'l3' })
    written('l1', 'backfill')
    t.add('tiercache_evictions_total', { ...fares, tier: 'l1', reason: 'count' })

    // L3 fails: three failed reads open its circuit (failureThreshold 3); the fourth is not tried.
    l3.failing = true
    const callsBefore = l3.calls
    for (const key of ['k1', 'k2', 'k3', 'k4']) {
      expect((await get(key)).statusCode).toBe(404)
      request()
      miss('l1', 'absent')
      miss('l3', 'unavailable')
    }
    expect(l3.calls - callsBefore).toBe(3)
    t.add('tiercache_errors_total', { tier: 'l3', operation: 'get' }, 3)
    t.add('tiercache_circuit_changes_total', { tier: 'l3', state: 'open' })
    const open = await scrape()
    expect(open.value('tiercache_circuit_open', { tier: 'l3' })).toBe(1)

    // L3 is back; once openFor has passed, one probe goes through and the circuit closes.
    l3.failing = false
    clock.advance(5_000)
    expect((await get('k5')).statusCode).toBe(404)
    request()
    miss('l1', 'absent')
    miss('l3', 'absent')
    t.add('tiercache_circuit_changes_total', { tier: 'l3', state: 'half-open' })
    t.add('tiercache_circuit_changes_total', { tier: 'l3', state: 'closed' })
    expect((await scrape()).value('tiercache_circuit_open', { tier: 'l3' })).toBe(0)

    // The bus goes deaf: L1 is suspended (and emptied) until it listens again.
    bus.goDeaf()
    const deaf = await scrape()
    expect(deaf.value('tiercache_bus_listening')).toBe(0)
    expect((await get('k6')).statusCode).toBe(404)
    request()
    miss('l1', 'suspended')
    miss('l3', 'absent')
    bus.hearAgain()
    expect((await scrape()).value('tiercache_bus_listening')).toBe(1)

    // A message from another instance.
    bus.deliver({ type: 'delete', namespace: '~acme~fares', keys: ['e3'] })
    t.add('tiercache_bus_messages_total', { direction: 'received' })

    // What this instance published: the set notices (batched as the announcer saw fit).
    await cache.namespace('fares').delete('gone')
    t.add('tiercache_bus_messages_total', { direction: 'sent' }, bus.published.length)
    expect(bus.published.length).toBeGreaterThan(0)

    const exposition = await scrape()
    // delete() of a key held nowhere: an invalidation asked, no delete counted.
    expect(exposition.value('tiercache_invalidations_total', { ...fares, kind: 'key' })).toBe(1)
    expect(exposition.value('tiercache_deletes_total', fares)).toBe(0)
    expect(t.actual(exposition)).toEqual(t.expected())
    // Every read that reached L3 was timed, failed ones included (e1, k1-k3, k5, k6); k4, skipped by
    // the open circuit, was not.
    expect(exposition.histogram('tiercache_tier_read_duration_seconds', { tier: 'l3' }).count).toBe(6)
  })
})
