/**
 * How the server's HTTP cache served its responses, in `GET /v1/stats` (the `http` section, in
 * deployment reports only: the HTTP cache is no tenant's) and in `GET /metrics`
 * (`tiercache_http_responses_total`, on the REST server and on the metrics listener), after real
 * requests through an HTTP cache on the server's cache.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { type StartedServer, type StatsReport, startServer, statsReportSchema } from '../../src/server/index.js'
import { type Mounted, mount } from '../http-cache/harness.js'
import { Exposition } from '../metrics/exposition.js'
import { type KeyStore, bearer, openKeyStore } from './helpers.js'

let store: KeyStore
let env: Mounted
let server: StartedServer
const keys: Record<'ops' | 'acme', string> = { ops: '', acme: '' }

beforeAll(async () => {
  store = await openKeyStore()
  keys.ops = (await store.createKey({ tenant: 'ops', roles: ['read', 'admin', 'service'] })).key
  keys.acme = (await store.createKey()).key
  const cache = createCache({ l3: false, metrics: { tenants: { max: 10 } } })
  env = await mount({ routeGroup: (url) => (url.pathname.startsWith('/api/') ? '/api' : '/') }, { cache })
  server = await startServer({ cache, credentials: store.credentials, http: env.httpCache, port: 0, metricsListener: { port: 0 } })
  env.origin.on('/api/fares', () => ({ headers: { 'cache-control': 'max-age=600' }, body: 'fares' }))
  env.origin.on('/home', () => ({ headers: { 'cache-control': 'max-age=10, stale-while-revalidate=60' }, body: 'home' }))
  for (let i = 0; i < 4; i++) await env.request('/api/fares')
  await env.request('/home')
  env.advance(30)
  await env.request('/home')
  await env.httpCache.idle()
  await env.request('/api/fares', { method: 'POST', body: '{}' })
})

afterAll(async () => {
  await server?.app.close()
  await env?.close()
  await store?.close()
})

async function stats(key: string, headers: Record<string, string> = {}): Promise<StatsReport> {
  const response = await fetch(`${server.url}/v1/stats`, { headers: { ...bearer(key), ...headers } })
  expect(response.status).toBe(200)
  return statsReportSchema.parse(await response.json())
}

describe('the HTTP cache in GET /v1/stats', () => {
  it('gives a service key the http section: per route group (the cache\'s routeGroup) and in total, busiest first', async () => {
    const report = await stats(keys.ops)
    expect(report.scope).toEqual({ deployment: true })
    const zero = { hit: 0, stale: 0, revalidated: 0, collapsed: 0, miss: 0, pass: 0, error: 0 }
    expect(report.http).toEqual({
      rows: [
        { group: '/api', ...zero, hit: 3, miss: 1, pass: 1, responses: 5, hits: 3, hitRatio: 0.75 },
        { group: '/', ...zero, stale: 1, miss: 1, responses: 2, hits: 1, hitRatio: 0.5 },
      ],
      totals: { ...zero, hit: 3, stale: 1, miss: 2, pass: 1, responses: 7, hits: 4, hitRatio: 4 / 6 },
    })
  })

  it("leaves it out of a tenant's report, and of the report of a tenant a service key names", async () => {
    expect(await stats(keys.acme)).not.toHaveProperty('http')
    expect(await stats(keys.ops, { 'x-tiercache-tenant': 'acme' })).not.toHaveProperty('http')
  })
})

describe('the HTTP cache in GET /metrics', () => {
  it('exposes tiercache_http_responses_total by group and outcome, on the REST server and on the metrics listener', async () => {
    const scraped = await fetch(`${server.url}/metrics`, { headers: bearer(keys.ops) })
    expect(scraped.status).toBe(200)
    const listener = await fetch(`${server.metricsUrl}/metrics`)
    for (const text of [await scraped.text(), await listener.text()]) {
      const exposition = new Exposition(text)
      expect(exposition.family('tiercache_http_responses_total').type).toBe('COUNTER')
      expect(exposition.value('tiercache_http_responses_total', { group: '/api', outcome: 'hit' })).toBe(3)
      expect(exposition.value('tiercache_http_responses_total', { group: '/api', outcome: 'pass' })).toBe(1)
      expect(exposition.value('tiercache_http_responses_total', { group: '/', outcome: 'stale' })).toBe(1)
      expect(exposition.value('tiercache_http_responses_total', { group: '/', outcome: 'collapsed' })).toBe(0)
      expect(exposition.sum('tiercache_http_responses_total')).toBe(7)
    }
  })

  it('has no HTTP family, and no http section, on a server without an HTTP cache', async () => {
    const cache = createCache({ l3: false })
    const other = await openKeyStore()
    const ops = (await other.createKey({ tenant: 'ops', roles: ['read', 'admin', 'service'] })).key
    const plain = await startServer({ cache, credentials: other.credentials, port: 0 })
    try {
      const text = await (await fetch(`${plain.url}/metrics`, { headers: bearer(ops) })).text()
      expect(new Exposition(text).families.has('tiercache_http_responses_total')).toBe(false)
      const report = (await (await fetch(`${plain.url}/v1/stats`, { headers: bearer(ops) })).json()) as StatsReport
      expect(report).not.toHaveProperty('http')
    } finally {
      await plain.app.close()
      await other.close()
    }
  })
})
