/**
 * A REST server over a real stack (L1, Redis as L2 with the bus, SQLite as L3), with an operator's
 * key for `/metrics`, for the tests that read a real `/metrics` answer.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import type { Cache } from '../../src/cache/cache.js'
import { type CacheOptions, KeyRing, createCache } from '../../src/index.js'
import { type BuildServerOptions, buildServer } from '../../src/server/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type KeyStore, bearer, entryUrl, openKeyStore } from '../server/helpers.js'

export interface LiveServer {
  readonly app: FastifyInstance
  readonly cache: Cache
  readonly store: KeyStore
  /** Tenant `ops`, roles admin and service: may read /metrics. */
  readonly opsKey: string
  /** Tenant `acme`, roles read, write and admin. */
  readonly tenantKey: string
  /** `GET /metrics` with `key` (default the ops key; `null`: none). */
  scrape(key?: string | null): Promise<LightMyRequestResponse>
  /** A request of the tenant key. */
  request(method: 'GET' | 'PUT' | 'DELETE' | 'POST', url: string, payload?: object): Promise<LightMyRequestResponse>
  /** A little of everything, so that every namespace series exists: a write, hits, a miss, an origin call. */
  traffic(): Promise<void>
  /**
   * Another instance's cache over one of the server's shared tiers only (no L1), in tenant `acme`'s
   * scope: what it writes lands in that tier alone (with L2, its bus tells the server). Closed with the server.
   */
  writer(level: 'l2' | 'l3'): Cache
  /** The SQLite file of L3 (and of the keys and the audit log). */
  readonly file: string
  close(): Promise<void>
}

/** Opens a {@link LiveServer}; `cacheOptions` are merged over its defaults (L1 of 10,000 entries, costs for `flights`). */
export async function openLiveServer(cacheOptions: CacheOptions = {}, serverOptions: Partial<BuildServerOptions> = {}): Promise<LiveServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-live-'))
  const file = join(dir, 'cache.db')
  const prefix = `tcm${randomBytes(4).toString('hex')}`
  const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
  const writers: Cache[] = []
  const cache = createCache({
    l2: { redis: TEST_REDIS_URL, prefix },
    l3: { sqlite: file, cleanupInterval: 0 },
    security: { encryption: { keyRing } },
    metrics: { costs: { flights: { perCall: 0.002, unit: 'usd' } }, sampleEvery: 1 },
    ...cacheOptions,
  })
  const store = await openKeyStore(file)
  let app: FastifyInstance
  try {
    app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, ...serverOptions })
  } catch (error) {
    await Promise.all([cache.close(), store.close()])
    rmSync(dir, { recursive: true, force: true })
    throw error
  }
  const [ops, tenant] = await Promise.all([store.createKey({ tenant: 'ops', roles: ['admin', 'service'] }), store.createKey()])
  const request: LiveServer['request'] = (method, url, payload) =>
    app.inject({ method, url, headers: bearer(tenant.key), ...(payload === undefined ? {} : { payload }) })
  return {
    app,
    cache,
    store,
    opsKey: ops.key,
    tenantKey: tenant.key,
    scrape: (key = ops.key) => app.inject({ method: 'GET', url: '/metrics', headers: key === null ? {} : bearer(key) }),
    request,
    async traffic() {
      await request('PUT', entryUrl('flights', 'JFK:LHR'), { value: { fare: 420 }, ttl: '5m' })
      await request('GET', entryUrl('flights', 'JFK:LHR'))
      await request('GET', entryUrl('flights', 'nowhere'))
      await cache.namespace('flights').getOrSet('CDG:NRT', async () => ({ fare: 910 }))
      await cache.namespace('flights').getOrSet('CDG:NRT', async () => ({ fare: 911 }))
    },
    writer(level) {
      const tiers = level === 'l2' ? { l2: { redis: TEST_REDIS_URL, prefix }, l3: false as const } : { l3: { sqlite: file, cleanupInterval: 0 } }
      const writer = createCache({ l1: false, ...tiers, security: { encryption: { keyRing } } })
      writers.push(writer)
      return writer.withContext({ role: 'authenticated', tenantId: 'acme' })
    },
    file,
    async close() {
      await app.close()
      await Promise.all(writers.map((writer) => writer.close()))
      await cache.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}
