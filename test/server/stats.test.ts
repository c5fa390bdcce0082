import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { type CacheOptions, createCache } from '../../src/index.js'
import { type StatsHistory, type StatsReport, buildServer, openStatsHistory, statsReportSchema } from '../../src/server/index.js'
import { type KeyStore, type KeyedApp, expectError, get, keyed, openKeyStore, put } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-stats-test-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** A server over its own cache on `file`, recording the stats history there as `instance`. */
interface StatsServer {
  readonly cache: Cache
  readonly app: FastifyInstance
  readonly history: StatsHistory | undefined
  readonly store: KeyStore
  close(): Promise<void>
}

async function openStatsServer(file: string, instance: string, options: { history?: boolean; cache?: CacheOptions } = {}): Promise<StatsServer> {
  const cache = createCache({ l3: { sqlite: file, cleanupInterval: 0 }, metrics: { tenants: { max: 10 } }, ...options.cache })
  const store = await openKeyStore(file)
  const history = options.history === false ? undefined : await openStatsHistory({ sqlite: file }, { source: () => cache.metrics(), instance, timer: false })
  // freshnessMs 0: every report flushes, so that each sees the requests just made.
  const app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, stats: { freshnessMs: 0, ...(history === undefined ? {} : { history }) } })
  return {
    cache,
    app,
    history,
    store,
    async close() {
      await app.close()
      await history?.close()
      await cache.close()
      await store.close()
    },
  }
}

async function stats(app: KeyedApp, query = '', headers: Record<string, string> = {}): Promise<StatsReport> {
  const response = await app.inject({ method: 'GET', url: `/v1/stats${query}`, headers })
  expect(response.statusCode, response.body.slice(0, 500)).toBe(200)
  const report = response.json() as StatsReport
  // The answer is exactly the documented shape.
  expect(statsReportSchema.strict().parse(report)).toBeDefined()
  return report
}

/** 12 lookups by acme in flights (8 hits, 4 misses), 4 by bravo (all hits). */
async function workload(acme: KeyedApp, bravo: KeyedApp): Promise<void> {
  expect((await put(acme, 'flights', 'LHR', { value: { price: 1 } })).statusCode).toBe(204)
  expect((await put(acme, 'flights', 'JFK', { value: { price: 2 }, ttl: '30s' })).statusCode).toBe(204)
  for (let i = 0; i < 5; i++) expect((await get(acme, 'flights', 'LHR')).statusCode).toBe(200)
  for (let i = 0; i < 2; i++) expect((await get(acme, 'flights', 'JFK')).statusCode).toBe(200)
  for (let i = 0; i < 3; i++) expect((await get(acme, 'flights', 'missing')).statusCode).toBe(404)
  expect((await acme.inject({ method: 'POST', url: '/v1/entries/flights/batch-get', payload: { keys: ['LHR', 'nope'] } })).statusCode).toBe(200)
  expect((await put(bravo, 'flights', 'x', { value: 0 })).statusCode).toBe(204)
  for (let i = 0; i < 4; i++) expect((await get(bravo, 'flights', 'x')).statusCode).toBe(200)
}

describe('GET /v1/stats', () => {
  let file: string
  let server: StatsServer
  let acme: KeyedApp
  let bravo: KeyedApp
  let ops: KeyedApp
  beforeEach(async () => {
    file = join(mkdtempSync(join(dir, 'db-')), 'cache.db')
    server = await openStatsServer(file, 'one')
    const key = async (tenant: string, roles: ('read' | 'write' | 'admin' | 'service')[]) => keyed(server.app, (await server.store.createKey({ tenant, roles })).key)
    acme = await key('acme', ['read', 'write'])
    bravo = await key('bravo', ['read', 'write'])
    ops = await key('ops', ['read', 'service'])
  })
  afterEach(() => server.close())

  it("answers the tenant's own figures over the range, from the history", async () => {
    await workload(acme, bravo)
    const report = await stats(acme)
    expect(report).toMatchObject({ scope: { tenant: 'acme' }, range: '1h', stepMs: 60_000, instances: 1, history: true })
    expect(report.to - report.from).toBe(3_600_000)
    expect(report.totals).toMatchObject({ requests: 12, hits: 8, misses: 4, staleHits: 0, writes: 2, missReasons: { absent: 8, expired: 0 } })
    expect(report.totals.hitRatio).toBeCloseTo(8 / 12, 12)
    expect(report.totals.tiers.l1).toMatchObject({ hits: 8, misses: 4, served: 8 / 12 })
    expect(report.totals.tiers.l3).toMatchObject({ hits: 0, misses: 4, hitRatio: 0 })
    // Histograms come back from the history's buckets: one L3 read per GET that missed L1, one per batch.
    expect(report.totals.tiers.l3?.latency.count).toBe(4)
    expect(report.totals.tiers.l3?.latency.p99).toBeGreaterThan(0)
    expect(report.namespaces).toEqual([expect.objectContaining({ namespace: 'flights', requests: 12, hits: 8, writes: 2 })])
    expect(report.namespaces[0]).not.toHaveProperty('tenant')
    // The series adds up to the totals, and holds every step of the hour.
    expect(report.series.t).toHaveLength(60)
    expect(report.series.requests.reduce((a, b) => a + b, 0)).toBe(12)
    expect(report.series.hitRatio.l1).toHaveLength(60)
    // Now: this instance's tiers; entry counts are the deployment's, not shown to a tenant.
    expect(report.now.tiers).toEqual({ l1: { kind: 'memory', circuit: 'closed', healthy: true }, l3: { kind: 'sqlite', circuit: 'closed', healthy: true } })
    expect(report.now.bus).toBeNull()
    // Top keys: exact while the sketch has room, busiest first, with misses and the ttl of the last write.
    expect(report.topKeys).toEqual([
      { namespace: 'flights', key: 'LHR', count: 6, error: 0, misses: 0 },
      { namespace: 'flights', key: 'missing', count: 3, error: 0, misses: 3 },
      { namespace: 'flights', key: 'JFK', count: 2, error: 0, misses: 0, ttlMs: 30_000 },
      { namespace: 'flights', key: 'nope', count: 1, error: 0, misses: 1 },
    ])
    expect(report.largestEntries.map((entry) => entry.key)).toEqual(['JFK', 'LHR'])
    expect(report.suggestions).toEqual([])
  })

  it("shows a tenant nothing of another's traffic, and a service key the whole deployment or the tenant it names", async () => {
    await workload(acme, bravo)
    const ofBravo = await stats(bravo)
    expect(ofBravo.totals).toMatchObject({ requests: 4, hits: 4, writes: 1 })
    expect(ofBravo.topKeys.map((hit) => hit.key)).toEqual(['x'])

    const deployment = await stats(ops)
    expect(deployment.scope).toEqual({ deployment: true })
    expect(deployment.totals).toMatchObject({ requests: 16, hits: 12, writes: 3 })
    expect(deployment.namespaces.map((ns) => [ns.tenant, ns.namespace, ns.requests])).toEqual([
      ['acme', 'flights', 12],
      ['bravo', 'flights', 4],
    ])
    expect(deployment.topKeys.slice(0, 2).map((hit) => [hit.tenant, hit.key, hit.count])).toEqual([
      ['acme', 'LHR', 6],
      ['bravo', 'x', 4],
    ])
    expect(deployment.now.tiers.l1?.entries).toBe(3)
    expect(deployment.now.tiers.l1?.capacityEntries).toBe(10_000)

    const named = await stats(ops, '', { 'x-tiercache-tenant': 'bravo' })
    expect(named.scope).toEqual({ tenant: 'bravo' })
    expect(named.totals.requests).toBe(4)
    // Only a service key may name a tenant.
    expectError(await acme.inject({ method: 'GET', url: '/v1/stats', headers: { 'x-tiercache-tenant': 'bravo' } }), 403, 'TC_FORBIDDEN')
  })

  it('filters one namespace, and checks its query', async () => {
    await workload(acme, bravo)
    await put(acme, 'hotels', 'h', { value: 1 })
    await get(acme, 'hotels', 'h')
    const hotels = await stats(acme, '?namespace=hotels&range=24h')
    expect(hotels).toMatchObject({ range: '24h', stepMs: 300_000 })
    expect(hotels.series.t).toHaveLength(288)
    expect(hotels.totals).toMatchObject({ requests: 1, hits: 1 })
    expect(hotels.namespaces.map((ns) => ns.namespace)).toEqual(['hotels'])
    expect(hotels.topKeys.map((hit) => hit.key)).toEqual(['h'])
    for (const range of ['7d', '30d'] as const) expect((await stats(acme, `?range=${range}`)).totals.requests).toBe(13)
    expectError(await acme.inject({ method: 'GET', url: '/v1/stats?range=2h' }), 400, 'TC_BAD_REQUEST')
    expectError(await acme.inject({ method: 'GET', url: '/v1/stats?namespace=a/b' }), 400, 'TC_INVALID_NAMESPACE')
    expectError(await acme.inject({ method: 'GET', url: '/v1/stats?tenant=bravo' }), 400, 'TC_BAD_REQUEST')
  })

  it('says what to act on: an oversized entry, a key missed as expired with a short ttl', async () => {
    await server.close()
    server = await openStatsServer(file, 'one')
    const app = keyed(server.app, (await server.store.createKey({ tenant: 'acme', roles: ['read', 'write'] })).key)
    expect((await put(app, 'docs', 'manual', { value: 'x'.repeat(300 * 1024) })).statusCode).toBe(204)
    expect((await put(app, 'prices', 'p', { value: 1, ttl: '50ms' })).statusCode).toBe(204)
    const freshUntil = ((await get(app, 'prices', 'p')).json() as { freshUntil: number }).freshUntil
    // Waits for the clock, not for an event: the entry must be past its ttl.
    while (Date.now() <= freshUntil) await new Promise((resolve) => setTimeout(resolve, freshUntil + 1 - Date.now()))
    for (let i = 0; i < 60; i++) expect((await get(app, 'prices', 'p')).statusCode).toBe(404)
    const report = await stats(app)
    expect(report.totals.missReasons.expired).toBeGreaterThanOrEqual(60)
    const codes = report.suggestions.map((s) => [s.code, s.key])
    expect(codes).toContainEqual(['oversized-entries', 'manual'])
    expect(codes).toContainEqual(['expired-short-ttl', 'p'])
  })

  it('sums every instance sharing the SQL tier, across a restart of one', async () => {
    let second = await openStatsServer(file, 'two')
    try {
      await workload(acme, bravo)
      const other = keyed(second.app, acme.key)
      await put(other, 'flights', 'SFO', { value: 3 })
      for (let i = 0; i < 3; i++) await get(other, 'flights', 'SFO')
      await second.history?.flush()
      expect((await stats(acme)).totals).toMatchObject({ requests: 15, hits: 11 })

      // Restarted: a new cache and history, the same instance name.
      await second.close()
      second = await openStatsServer(file, 'two')
      const restarted = keyed(second.app, acme.key)
      for (let i = 0; i < 2; i++) await get(restarted, 'flights', 'SFO')
      await second.history?.flush()
      const report = await stats(acme)
      expect(report.totals).toMatchObject({ requests: 17, hits: 13 })
      expect(report.instances).toBe(2)
      // Top keys are each instance's own: these are the first one's.
      expect(report.topKeys.map((hit) => hit.key)).not.toContain('SFO')
      expect((await stats(restarted)).totals.requests).toBe(17)
    } finally {
      await second.close()
    }
  })

  it('without a history, counts this instance since it started', async () => {
    await server.close()
    server = await openStatsServer(file, 'one', { history: false })
    const app = keyed(server.app, (await server.store.createKey({ tenant: 'acme', roles: ['read', 'write'] })).key)
    await put(app, 'ns', 'k', { value: 1 })
    await get(app, 'ns', 'k')
    const report = await stats(app, '?range=7d')
    expect(report).toMatchObject({ history: false, instances: 1, stepMs: 0, totals: { requests: 1, hits: 1 } })
    expect(report.series.t).toEqual([])
  })

  it("warns a tenant when the cache does not label series by tenant, rather than show another's figures", async () => {
    await server.close()
    server = await openStatsServer(file, 'one', { cache: { metrics: {} } })
    const app = keyed(server.app, (await server.store.createKey({ tenant: 'acme', roles: ['read', 'write'] })).key)
    await put(app, 'ns', 'k', { value: 1 })
    await get(app, 'ns', 'k')
    const report = await stats(app)
    expect(report.totals.requests).toBe(0)
    expect(report.suggestions[0]).toMatchObject({ code: 'tenants-unlabelled', severity: 'warning' })
  })

  it('answers 503 TC_CACHE_CLOSED once the cache is closed', async () => {
    await server.cache.close()
    expectError(await acme.inject({ method: 'GET', url: '/v1/stats' }), 503, 'TC_CACHE_CLOSED')
  })
})
