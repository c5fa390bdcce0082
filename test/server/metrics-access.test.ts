/**
 * Who may read `GET /metrics` on the REST server (an operator's key: admin and service), what
 * everyone else is answered and how it is audited; and the separate metrics listener.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ListenFailedError, createCache } from '../../src/index.js'
import { startServer } from '../../src/server/index.js'
import { Exposition } from '../metrics/exposition.js'
import { HAS_PROMTOOL, promtool, reportSkipped } from '../metrics/promtool.js'
import { type KeyStore, type TestServer, bearer, buildKeyedServer, entryUrl, expectError, openKeyStore, openServer } from './helpers.js'

const PROMETHEUS_TEXT = 'text/plain; version=0.0.4; charset=utf-8'

describe('GET /metrics on the REST server', () => {
  let server: TestServer
  let keys: Record<'ops' | 'read' | 'tenantAdmin' | 'serviceReader', string>
  beforeAll(async () => {
    server = await openServer()
    const make = (tenant: string, roles: ('read' | 'write' | 'admin' | 'service')[]) => server.createKey({ tenant, roles }).then((created) => created.key)
    keys = {
      ops: await make('ops', ['admin', 'service']),
      read: await make('acme', ['read']),
      tenantAdmin: server.key,
      serviceReader: await make('ops', ['read', 'service']),
    }
  })
  afterAll(() => server?.close())

  const scrape = (headers: Record<string, string> = {}) => server.app.inject({ method: 'GET', url: '/metrics', headers })

  it('answers an admin and service key in the Prometheus text format, uncached, with every family', async () => {
    await server.inject({ method: 'PUT', url: entryUrl('flights', 'k'), payload: { value: 1 } })
    const response = await scrape(bearer(keys.ops))
    expect(response.statusCode).toBe(200)
    expect(response.headers['content-type']).toBe(PROMETHEUS_TEXT)
    expect(response.headers['cache-control']).toBe('no-store')
    const exposition = new Exposition(response.body)
    expect(exposition.value('tiercache_writes_total', { namespace: 'flights', tier: 'l1', kind: 'set' })).toBe(1)
    // The server's own process metrics come too.
    expect(exposition.family('process_resident_memory_bytes').type).toBe('GAUGE')
    // A key name never appears.
    expect(response.body).not.toMatch(/\bk"/)
  })

  reportSkipped('promtool check metrics of a /metrics answer')

  it.runIf(HAS_PROMTOOL)("passes promtool check metrics (the exposition linter) on tiercache's families", async () => {
    // prom-client's own nodejs_active_*_total gauges fail its naming lint: they are not ours.
    const ours = (await scrape(bearer(keys.ops))).body
      .split('\n')
      .filter((line) => /^(# (HELP|TYPE) )?tiercache_/.test(line))
      .join('\n')
    expect(ours).toContain('# TYPE tiercache_misses_total counter')
    const checked = promtool(['check', 'metrics'], `${ours}\n`)
    expect(checked.output).toBe('')
    expect(checked.code).toBe(0)
  })

  it('refuses a request without a key (401) and with an invalid one, and audits it', async () => {
    const none = await scrape({ 'user-agent': 'scraper/1.0' })
    expectError(none, 401, 'TC_UNAUTHORIZED')
    expect(none.headers['www-authenticate']).toBe('Bearer realm="tiercache"')
    const invalid = await scrape(bearer(`tc_tcknope_${'A'.repeat(43)}`))
    expectError(invalid, 401, 'TC_UNAUTHORIZED')
    expect(invalid.headers['www-authenticate']).toMatch(/error="invalid_token"/)
    // A refusal without a tenant is for operators: in the database, with the route.
    const { default: Database } = await import('better-sqlite3')
    const db = new Database(server.dbPath, { readonly: true })
    try {
      const rows = db.prepare("SELECT * FROM tiercache_audit WHERE user_agent = 'scraper/1.0'").all()
      expect(rows).toMatchObject([{ action: 'auth.failure', outcome: 'denied', target: 'GET /metrics', detail: 'no Authorization header' }])
    } finally {
      db.close()
    }
  })

  it("refuses a key without admin, and a tenant's own admin key, with 403, audited for the key's tenant", async () => {
    for (const key of [keys.read, keys.serviceReader]) {
      const refused = await scrape(bearer(key))
      expectError(refused, 403, 'TC_FORBIDDEN')
      expect(refused.headers['www-authenticate']).toMatch(/error="insufficient_scope"/)
    }
    const tenantAdmin = await scrape(bearer(keys.tenantAdmin))
    expectError(tenantAdmin, 403, 'TC_FORBIDDEN')
    expect(tenantAdmin.json()).toMatchObject({ error: { message: expect.stringMatching(/admin and service/) } })
    const events = await server.audit.query({ tenant: 'acme' })
    expect(events.filter((event) => event.target === 'GET /metrics')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'auth.failure', outcome: 'denied', detail: 'this route needs a key with the admin role' }),
        expect.objectContaining({ action: 'auth.failure', outcome: 'denied', keyId: server.created.id, detail: expect.stringMatching(/spans every tenant/) }),
      ]),
    )
    // A service key may not name a tenant here: the answer is nobody's in particular.
    expectError(await scrape({ ...bearer(keys.ops), 'x-tiercache-tenant': 'acme' }), 403, 'TC_FORBIDDEN')
  })

  it('answers 503 TC_CACHE_CLOSED once the cache is closed', async () => {
    const cache = createCache({ l3: false })
    const own = await buildKeyedServer({ cache })
    try {
      const { key } = await own.store.createKey({ tenant: 'ops', roles: ['admin', 'service'] })
      await cache.close()
      expectError(await own.app.inject({ method: 'GET', url: '/metrics', headers: bearer(key) }), 503, 'TC_CACHE_CLOSED')
    } finally {
      await own.close()
    }
  })

  it('is listed in the OpenAPI document with the bearer scheme', async () => {
    const document = (await server.app.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, { get?: { security?: unknown } }> }
    expect(document.paths['/metrics']?.get?.security).toEqual([{ bearerAuth: [] }])
  })
})

describe('the metrics listener', () => {
  let store: KeyStore
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-metrics-listener-'))
  beforeAll(async () => {
    store = await openKeyStore(join(dir, 'keys.db'))
  })
  afterAll(async () => {
    await store?.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it('serves GET /metrics without a key on its own port, nothing else, and closes with the app', async () => {
    const cache = createCache({ l3: false })
    const { app, url, metricsUrl } = await startServer({ cache, credentials: store.credentials, port: 0, metricsListener: { port: 0 } })
    try {
      expect(metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      expect(metricsUrl).not.toBe(url)
      await cache.namespace('flights').set('k', 1)
      const scraped = await fetch(`${metricsUrl}/metrics`)
      expect(scraped.status).toBe(200)
      expect(scraped.headers.get('content-type')).toBe(PROMETHEUS_TEXT)
      const exposition = new Exposition(await scraped.text())
      expect(exposition.value('tiercache_writes_total', { namespace: 'flights', tier: 'l1', kind: 'set' })).toBe(1)
      // The same answer the REST server gives an operator's key (the same registry).
      expect((await fetch(`${url}/metrics`)).status).toBe(401)
      // Only /metrics: the REST routes are not there, with or without a key.
      for (const path of ['/v1/stats', '/health', '/openapi.json', `/v1/entries/flights/k`]) {
        const other = await fetch(`${metricsUrl}${path}`)
        expect(other.status, path).toBe(404)
        expect(await other.json()).toMatchObject({ error: { code: 'TC_NOT_FOUND' } })
      }
      const post = await fetch(`${metricsUrl}/metrics`, { method: 'POST' })
      expect(post.status).toBe(405)
      expect(post.headers.get('allow')).toMatch(/GET/)
    } finally {
      await app.close()
    }
    expect(cache.closed).toBe(true)
    await expect(fetch(`${metricsUrl}/metrics`)).rejects.toThrow()
  })

  it('reports its port in use as TC_LISTEN_FAILED naming the listener, closing the app and leaving the cache open', async () => {
    const blocker = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    const cache = createCache({ l3: false })
    try {
      const failure = startServer({ cache, credentials: store.credentials, port: 0, metricsListener: { port } })
      await expect(failure).rejects.toBeInstanceOf(ListenFailedError)
      await expect(failure).rejects.toMatchObject({
        code: 'TC_LISTEN_FAILED',
        message: `cannot listen on 127.0.0.1:${port} for the metrics listener: the port is in use by another process`,
      })
      await cache.set('still', 'open')
      expect(await cache.get('still')).toBe('open')
    } finally {
      await cache.close()
      await new Promise((resolve) => blocker.close(resolve))
    }
  })

  it('refuses a malformed port before opening anything', async () => {
    const cache = createCache({ l3: false })
    try {
      await expect(startServer({ cache, credentials: store.credentials, port: 0, metricsListener: { port: 70_000 } })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    } finally {
      await cache.close()
    }
  })
})
