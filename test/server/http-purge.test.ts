/**
 * `POST /v1/http/purge` over real HTTP: a server listening on loopback, and an HTTP cache on the
 * same cache in front of a scripted origin (the http-cache harness). Purges by surrogate key, URL and
 * prefix, hard and soft, reach the stored responses; invalid purges answer TC_INVALID_OPTIONS and
 * purge nothing; only an operator's key (write and service) may purge.
 */
import type { FastifyInstance } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Cache, createCache } from '../../src/index.js'
import { buildServer } from '../../src/server/index.js'
import { type Mounted, mount } from '../http-cache/harness.js'
import { type KeyStore, bearer, openKeyStore } from './helpers.js'

let store: KeyStore
const keys: Record<'ops' | 'tenantWriter' | 'serviceReader', string> = { ops: '', tenantWriter: '', serviceReader: '' }
beforeAll(async () => {
  store = await openKeyStore()
  keys.ops = (await store.createKey({ tenant: 'ops', roles: ['write', 'service'] })).key
  keys.tenantWriter = (await store.createKey()).key
  keys.serviceReader = (await store.createKey({ tenant: 'ops', roles: ['read', 'service'] })).key
})
afterAll(() => store?.close())

/** A server listening on loopback over `cache`, with `http` as its HTTP cache when given. */
async function listen(cache: Cache, http?: Mounted): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, ...(http === undefined ? {} : { http: http.httpCache }) })
  const url = await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, url }
}

/** `key` null: no Authorization header. */
async function purge(url: string, body: unknown, key: string | null = keys.ops, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/v1/http/purge`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(key === null ? {} : bearer(key)), ...headers },
    body: JSON.stringify(body),
  })
  return { status: response.status, headers: response.headers, json: (await response.json()) as Record<string, unknown> }
}

/** `path` answers `<path> <n>`, fresh for 600 s, with `headers` beside. */
function serve(env: Mounted, path: string, headers: Record<string, string> = {}): void {
  env.origin.on(path, (_req, n) => ({ headers: { 'cache-control': 'max-age=600', ...headers }, body: `${path} ${n}` }))
}

describe('POST /v1/http/purge on a server with an HTTP cache', () => {
  let cache: Cache
  let env: Mounted
  let server: { app: FastifyInstance; url: string }
  beforeEach(async () => {
    cache = createCache({ l3: false })
    env = await mount({}, { cache })
    server = await listen(cache, env)
  })
  afterEach(async () => {
    await server.app.close()
    await env.close()
  })

  it('a hard purge by surrogate key, by URL and by prefix removes those stored responses, and only those; audited', async () => {
    serve(env, '/p/1', { 'surrogate-key': 'product-1 catalog' })
    serve(env, '/p/2', { 'surrogate-key': 'catalog' })
    for (const path of ['/docs/a', '/docs/b?x=1', '/docs2', '/other']) serve(env, path)
    for (const path of ['/p/1', '/p/2', '/docs/a', '/docs/b?x=1', '/docs2', '/other']) await env.request(path)

    const byKey = await purge(server.url, { keys: ['product-1'] })
    expect(byKey).toMatchObject({ status: 200, json: { namespace: 'http', tags: ['product-1'], soft: false } })
    expect((await env.request('/p/1')).text).toBe('/p/1 2')
    expect((await env.request('/p/2')).text).toBe('/p/2 1')

    const byUrl = await purge(server.url, { urls: [`${env.origin.url}/docs/a`] })
    expect(byUrl.status).toBe(200)
    expect(byUrl.json.tags).toHaveLength(1)
    expect((await env.request('/docs/a')).text).toBe('/docs/a 2')
    expect((await env.request('/docs/b?x=1')).text).toBe('/docs/b?x=1 1')

    expect((await purge(server.url, { prefixes: [`${env.origin.url}/docs`] })).status).toBe(200)
    expect((await env.request('/docs/b?x=1')).text).toBe('/docs/b?x=1 2')
    expect((await env.request('/docs2')).text).toBe('/docs2 1')
    expect((await env.request('/other')).text).toBe('/other 1')

    const events = (await store.audit.query({ tenant: 'ops' })).filter((event) => event.action === 'cache.invalidate')
    expect(events.map((event) => [event.outcome, event.target])).toEqual([
      ['ok', `http namespace=http prefixes=${env.origin.url}/docs soft=false`],
      ['ok', `http namespace=http urls=${env.origin.url}/docs/a soft=false`],
      ['ok', 'http namespace=http keys=product-1 soft=false'],
    ])
  })

  it('a soft purge marks the responses stale: the next request revalidates them with the origin (a 304), counted as revalidated', async () => {
    env.origin.on('/s', (req, n) => (req.headers['if-none-match'] === '"s1"' ? { status: 304, headers: { etag: '"s1"', 'cache-control': 'max-age=600' } } : { headers: { etag: '"s1"', 'cache-control': 'max-age=600', 'surrogate-key': 'soft-one' }, body: `s ${n}` }))
    await env.request('/s')
    expect((await env.request('/s')).headers.get('cache-status')).toMatch(/^tiercache; hit/)
    env.advance(1)
    expect(await purge(server.url, { keys: ['soft-one'], soft: true })).toMatchObject({ status: 200, json: { namespace: 'http', tags: ['soft-one'], soft: true } })
    const after = await env.request('/s')
    expect(after.text).toBe('s 1')
    expect(after.headers.get('cache-status')).toContain('fwd=stale; fwd-status=304')
    expect(env.origin.seen('/s')[1]?.['if-none-match']).toBe('"s1"')
    expect(env.httpCache.counts.rows().filter((row) => row.group === '/s')).toEqual([
      { group: '/s', outcome: 'hit', count: 1 },
      { group: '/s', outcome: 'revalidated', count: 1 },
      { group: '/s', outcome: 'miss', count: 1 },
    ])
  })

  it('refuses an invalid purge with 400 TC_INVALID_OPTIONS (a bad namespace TC_INVALID_NAMESPACE), and purges nothing', async () => {
    serve(env, '/k', { 'surrogate-key': 'k' })
    await env.request('/k')
    const deep = `${env.origin.url}/1/2/3/4/5/6/7/8/9`
    const refusals: unknown[] = [
      {},
      { keys: [] },
      { soft: true },
      { urls: ['/relative'] },
      { urls: ['ftp://h/x'] },
      { keys: ['k'], prefixes: [deep] },
      { keys: ['k'], hard: true },
      { keys: [5] },
      { keys: 'k' },
      { keys: [''] },
      { keys: ['k'], soft: 'yes' },
      { keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) },
      [],
      'k',
      null,
    ]
    for (const body of refusals) {
      const answer = await purge(server.url, body)
      expect([JSON.stringify(body).slice(0, 40), answer.status, (answer.json.error as { code?: string } | undefined)?.code]).toEqual([JSON.stringify(body).slice(0, 40), 400, 'TC_INVALID_OPTIONS'])
    }
    const badNamespace = await purge(server.url, { keys: ['k'], namespace: 'not a namespace' })
    expect(badNamespace.status).toBe(400)
    expect(badNamespace.json.error).toMatchObject({ code: 'TC_INVALID_NAMESPACE' })
    expect((await env.request('/k')).text).toBe('/k 1')
    expect(env.origin.hits('/k')).toBe(1)
  })

  it('answers 401 without a key, 403 to a key without write and service, and to a tenant header; purges nothing', async () => {
    serve(env, '/a', { 'surrogate-key': 'a' })
    await env.request('/a')
    const body = { keys: ['a'] }
    const none = await purge(server.url, body, null)
    expect(none.status).toBe(401)
    expect(none.json.error).toMatchObject({ code: 'TC_UNAUTHORIZED' })
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/)
    expect((await purge(server.url, body, 'tc_notakey_secret')).status).toBe(401)
    // A tenant's own write key: the HTTP cache is every tenant's. Refused before its body is read.
    for (const sent of [body, { nonsense: true }]) {
      const tenant = await purge(server.url, sent, keys.tenantWriter)
      expect(tenant.status).toBe(403)
      expect(tenant.json.error).toMatchObject({ code: 'TC_FORBIDDEN' })
      expect(tenant.headers.get('www-authenticate')).toContain('insufficient_scope')
    }
    const reader = await purge(server.url, body, keys.serviceReader)
    expect(reader.status).toBe(403)
    expect(reader.json.error).toMatchObject({ code: 'TC_FORBIDDEN', message: 'this route needs a key with the write role' })
    const named = await purge(server.url, body, keys.ops, { 'x-tiercache-tenant': 'acme' })
    expect(named.status).toBe(403)
    expect((await env.request('/a')).text).toBe('/a 1')
    const refusals = (await store.audit.query({ tenant: 'acme' })).filter((event) => event.action === 'auth.failure' && event.target === 'POST /v1/http/purge')
    expect(refusals.length).toBeGreaterThan(0)
  })
})

describe('POST /v1/http/purge on a server without an HTTP cache of its own', () => {
  it("purges the namespace http of the server's cache by default, and the one named with namespace", async () => {
    const cache = createCache({ l3: false })
    // Two HTTP caches on the server's cache (in another part of the program), in two namespaces, before one origin.
    const first = await mount({}, { cache })
    const second = await mount({ namespace: 'pages' }, { cache, origin: first.origin })
    const server = await listen(cache)
    try {
      serve(first, '/x', { 'surrogate-key': 'x' })
      await first.request('/x')
      await second.request('/x')
      expect(first.origin.hits('/x')).toBe(2)
      expect(await purge(server.url, { keys: ['x'] })).toMatchObject({ status: 200, json: { namespace: 'http' } })
      expect((await first.request('/x')).text).toBe('/x 3')
      expect((await second.request('/x')).text).toBe('/x 2')
      expect(await purge(server.url, { keys: ['x'], namespace: 'pages' })).toMatchObject({ status: 200, json: { namespace: 'pages', tags: ['x'] } })
      expect((await second.request('/x')).text).toBe('/x 4')
    } finally {
      await server.app.close()
      await second.close()
      await first.close()
    }
  })
})
