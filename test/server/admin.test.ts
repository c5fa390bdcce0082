import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { ControlledTier } from '../helpers/cache.js'
import { type TestServer, buildKeyedServer, entryUrl, expectError, get, openServer, put, scopedCacheOver } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await openServer()
})
afterEach(async () => {
  await server.close()
})

const invalidate = (body: unknown) => server.inject({ method: 'POST', url: '/v1/invalidate', payload: body as object })
const purge = (body: unknown) => server.inject({ method: 'POST', url: '/v1/purge', payload: body as object })
const clear = (body: unknown) => server.inject({ method: 'POST', url: '/v1/clear', payload: body as object })

describe('POST /v1/invalidate', () => {
  beforeEach(async () => {
    await put(server, 'one', 'tagged', { value: 1, tags: ['t'] })
    await put(server, 'one', 'other-tag', { value: 2, tags: ['u'] })
    await put(server, 'one', 'untagged', { value: 3 })
    await put(server, 'two', 'tagged', { value: 4, tags: ['t', 'v'] })
  })

  it('removes the tagged entries of one namespace only, from every tier', async () => {
    const response = await invalidate({ tags: ['t', 'u', 't'], namespace: 'one' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ invalidated: ['t', 'u'] })
    expectError(await get(server, 'one', 'tagged'), 404, 'TC_NOT_FOUND')
    expectError(await get(server, 'one', 'other-tag'), 404, 'TC_NOT_FOUND')
    expect((await get(server, 'one', 'untagged')).statusCode).toBe(200)
    expect((await get(server, 'two', 'tagged')).statusCode).toBe(200)
    // Gone from L3 as well: a batch-get reaches it for keys L1 no longer holds.
    const batch = await server.inject({ method: 'POST', url: '/v1/entries/one/batch-get', payload: { keys: ['tagged'], allowStale: true } })
    expect(batch.json()).toEqual({ entries: [{ key: 'tagged', found: false }] })
  })

  it('requires a namespace: an invalidation never reaches past one namespace of the tenant', async () => {
    const response = await invalidate({ tags: ['t'] })
    expectError(response, 400, 'TC_INVALID_NAMESPACE')
    expect((response.json() as { error: { message: string } }).error.message).toMatch(/^body\.namespace: is required/)
    expect((await get(server, 'one', 'tagged')).statusCode).toBe(200)
    expect((await get(server, 'two', 'tagged')).statusCode).toBe(200)
  })

  it('answers 200 for tags nothing carries', async () => {
    expect((await invalidate({ tags: ['nobody'], namespace: 'one' })).json()).toEqual({ invalidated: ['nobody'] })
  })

  it('is recorded in the audit log with the key, the namespace and the tags', async () => {
    await invalidate({ tags: ['t'], namespace: 'two' })
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({ action: 'cache.invalidate', outcome: 'ok', keyId: server.created.id, tenant: 'acme', target: 'namespace=two tags=t', ip: '127.0.0.1' })
  })
})

describe('POST /v1/purge', () => {
  it('removes the entries carrying any of the tags, as POST /v1/invalidate does, with the role write', async () => {
    await put(server, 'one', 'tagged', { value: 1, tags: ['t'] })
    await put(server, 'one', 'kept', { value: 2, tags: ['u'] })
    await put(server, 'two', 'tagged', { value: 3, tags: ['t'] })
    const writer = await server.createKey({ roles: ['read', 'write'] })
    const response = await server.inject({ method: 'POST', url: '/v1/purge', payload: { tags: ['t', 't'], namespace: 'one' }, headers: { authorization: `Bearer ${writer.key}` } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ purged: ['t'] })
    expectError(await get(server, 'one', 'tagged'), 404, 'TC_NOT_FOUND')
    expect((await get(server, 'one', 'kept')).statusCode).toBe(200)
    expect((await get(server, 'two', 'tagged')).statusCode).toBe(200)
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({ action: 'cache.invalidate', outcome: 'ok', keyId: writer.id, target: 'namespace=one tags=t' })
  })

  it('refuses the body of the former namespace purge by name, and clears nothing', async () => {
    await put(server, 'one', 'a', { value: 1 })
    const response = await purge({ namespace: 'one' })
    expectError(response, 400, 'TC_BAD_REQUEST')
    expect((response.json() as { error: { message: string } }).error.message).toMatch(/send \{ tags, namespace \}.*POST \/v1\/clear/)
    expect((await get(server, 'one', 'a')).statusCode).toBe(200)
    expectError(await purge({ tags: [], namespace: 'one' }), 400, 'TC_INVALID_TAG')
  })
})

describe('POST /v1/clear', () => {
  it("clears one namespace of the tenant, and records it; admin only", async () => {
    await put(server, 'one', 'a', { value: 1 })
    await put(server, 'one', 'b', { value: 2, tags: ['t'] })
    await put(server, 'two', 'c', { value: 3 })
    const response = await clear({ namespace: 'one' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ cleared: 'one' })
    expectError(await get(server, 'one', 'a'), 404, 'TC_NOT_FOUND')
    expectError(await get(server, 'one', 'b'), 404, 'TC_NOT_FOUND')
    expect((await get(server, 'two', 'c')).statusCode).toBe(200)
    expect(await server.view.namespace('one').getMany(['a', 'b'])).toEqual([undefined, undefined])
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({ action: 'cache.clear', outcome: 'ok', keyId: server.created.id, target: 'namespace=one' })

    const writer = await server.createKey({ roles: ['read', 'write'] })
    await put(server, 'two', 'd', { value: 4 })
    expectError(await server.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: 'two' }, headers: { authorization: `Bearer ${writer.key}` } }), 403, 'TC_FORBIDDEN')
    expect((await get(server, 'two', 'd')).statusCode).toBe(200)
  })

  it.each([
    ['no namespace', {}, 'TC_INVALID_NAMESPACE'],
    ['a bad namespace', { namespace: 'a/b' }, 'TC_INVALID_NAMESPACE'],
    ['a namespace not a string', { namespace: 7 }, 'TC_INVALID_NAMESPACE'],
    ['an extra field', { namespace: 'one', all: true }, 'TC_BAD_REQUEST'],
  ])('rejects %s', async (_name, body, code) => {
    await put(server, 'one', 'a', { value: 1 })
    expectError(await clear(body), 400, code)
    expect((await get(server, 'one', 'a')).statusCode).toBe(200)
  })
})

describe('GET /health', () => {
  it('answers ok with every tier, without a key', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/health' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      status: 'ok',
      bus: 'none',
      tiers: [
        { level: 'l1', kind: 'memory', circuit: 'closed', shared: false, durable: false },
        { level: 'l3', kind: 'sqlite', circuit: 'closed', shared: true, durable: true },
      ],
    })
  })

  it('answers 200 degraded while a tier circuit is open, and keeps serving', async () => {
    const l3 = new ControlledTier()
    const app = await buildKeyedServer({ cache: scopedCacheOver(l3, { l1: false }), closeCacheOnClose: true })
    try {
      l3.failing = true
      for (let i = 0; i < 3; i++) expectError(await app.inject({ method: 'GET', url: entryUrl('ns', `k${i}`) }), 404, 'TC_NOT_FOUND')
      const response = await app.inject({ method: 'GET', url: '/health' })
      expect(response.statusCode).toBe(200)
      expect(response.json()).toMatchObject({ status: 'degraded', tiers: [{ level: 'l3', kind: 'controlled', circuit: 'open' }] })
    } finally {
      await app.close()
    }
  })
})

describe('logs', () => {
  it('record tier failures and circuit changes, without keys or API keys, and stop when the app closes', async () => {
    const l3 = new ControlledTier()
    const cache = scopedCacheOver(l3, { l1: false, circuitBreaker: { failureThreshold: 2, openFor: 60_000 } })
    const lines: { event?: string; tier?: string; state?: string; level?: number }[] = []
    const app = await buildKeyedServer({ cache, logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } })
    l3.failing = true
    await app.inject({ method: 'GET', url: entryUrl('ns', 'secret-key-1') })
    await app.inject({ method: 'GET', url: entryUrl('ns', 'secret-key-2') })
    // Once per episode of failures, not once per failed request.
    expect(lines.filter((line) => line.event === 'tier:error')).toHaveLength(1)
    expect(lines.find((line) => line.event === 'circuit:change')).toMatchObject({ tier: 'l3', state: 'open', level: 40 })
    expect(JSON.stringify(lines)).not.toContain('secret-key')
    expect(JSON.stringify(lines)).not.toContain(app.key.slice(-43))
    await app.close()
    const before = lines.length
    await cache.set('k', 1).catch(() => undefined)
    expect(cache.health()[0]?.circuit).toBe('open')
    expect(lines.length).toBe(before)
    await cache.close()
  })
})

describe('GET /health on a closed cache', () => {
  it('answers 503 TC_CACHE_CLOSED', async () => {
    const cache = scopedCacheOver(new ControlledTier())
    const app = await buildKeyedServer({ cache })
    try {
      await cache.close()
      expectError(await app.inject({ method: 'GET', url: '/health' }), 503, 'TC_CACHE_CLOSED')
    } finally {
      await app.close()
    }
  })
})

describe('a cache that cannot keep tenants apart', () => {
  it('is refused at start with TC_INVALID_OPTIONS', async () => {
    // Redis as L2 and no key ring: tenants' entries could not be encrypted in it.
    const cache = createCache({ l2: { redis: 'redis://127.0.0.1:1' }, l3: false })
    try {
      await expect(buildKeyedServer({ cache })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS', message: expect.stringMatching(/TIERCACHE_KEYS/) })
    } finally {
      await cache.close()
    }
  })
})

describe('limits at the edge', () => {
  it('applies the cache limits, not wider ones', async () => {
    const cache = scopedCacheOver(new ControlledTier(), { limits: { maxKeyLength: 8, maxTags: 2 } })
    const app = await buildKeyedServer({ cache, closeCacheOnClose: true })
    try {
      expectError(await app.inject({ method: 'GET', url: entryUrl('ns', 'k'.repeat(9)) }), 400, 'TC_INVALID_KEY')
      const put = (tags: string[]) => app.inject({ method: 'PUT', url: entryUrl('ns', 'k'), payload: { value: 1, tags } })
      expectError(await put(['a', 'b', 'c']), 400, 'TC_INVALID_TAG')
      expect((await put(['a', 'b'])).statusCode).toBe(204)
    } finally {
      await app.close()
    }
  })
})

describe('GET /openapi.json', () => {
  it('documents every route with its schemas and the bearer scheme, without a key', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    const doc = response.json() as {
      openapi: string
      components: { securitySchemes: Record<string, unknown> }
      paths: Record<
        string,
        Record<string, { requestBody?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, unknown>; security?: unknown }>
      >
    }
    expect(doc.openapi).toBe('3.1.0')
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: 'http', scheme: 'bearer' })
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
    expect(routes.sort()).toEqual(
      [
        'GET /v1/entries/{namespace}/{key}',
        'PUT /v1/entries/{namespace}/{key}',
        'DELETE /v1/entries/{namespace}/{key}',
        'POST /v1/entries/{namespace}/batch-get',
        'GET /v1/entries/{namespace}',
        'POST /v1/invalidate',
        'POST /v1/purge',
        'POST /v1/clear',
        'GET /v1/stats',
        'GET /v1/audit',
        'POST /v1/erase',
        'GET /v1/export',
        'POST /v1/events',
        'GET /v1/rules',
        'POST /v1/warm',
        'GET /v1/warm/{id}',
        'POST /v1/http/purge',
        'GET /metrics',
        'GET /health',
      ].sort(),
    )
    const entry = doc.paths['/v1/entries/{namespace}/{key}']
    expect(entry?.get?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:key', 'path:namespace', 'query:allowStale', 'query:explain'])
    expect(entry?.get?.security).toEqual([{ bearerAuth: [] }])
    expect(entry?.put?.requestBody).toBeDefined()
    expect(Object.keys(entry?.put?.responses ?? {}).sort()).toEqual(['204', '4XX', '5XX'])
    expect(doc.paths['/v1/invalidate']?.post?.requestBody).toBeDefined()
    expect(doc.paths['/v1/http/purge']?.post?.requestBody).toMatchObject({ content: { 'application/json': { schema: { properties: { keys: {}, urls: {}, prefixes: {}, soft: {}, namespace: {} } } } } })
    expect(doc.paths['/v1/entries/{namespace}']?.get?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:namespace', 'query:after', 'query:limit'])
    expect(doc.paths['/v1/audit']?.get?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['query:limit', 'query:since'])
    expect(doc.paths['/v1/erase']?.post?.requestBody).toBeDefined()
    expect(doc.paths['/v1/export']?.get?.parameters?.map((p) => `${p.in}:${p.name}`)).toEqual(['query:userId'])
    expect(doc.paths['/v1/export']?.get?.responses['200']).toMatchObject({ content: { 'application/x-ndjson': { schema: { type: 'object' } } } })
    expect(doc.paths['/metrics']?.get?.responses['200']).toMatchObject({ content: { 'text/plain': { schema: { type: 'string' } } } })
    expect(doc.paths['/health']?.get?.security).toBeUndefined()
  })
})
