import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { buildServer } from '../../src/server/index.js'
import { ControlledTier, cacheOver } from '../helpers/cache.js'
import { type TestServer, entryUrl, expectError, get, openServer, put } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await openServer()
})
afterEach(async () => {
  await server.close()
})

const invalidate = (body: unknown) => server.app.inject({ method: 'POST', url: '/v1/invalidate', payload: body as object })

describe('POST /v1/invalidate', () => {
  beforeEach(async () => {
    await put(server.app, 'one', 'tagged', { value: 1, tags: ['t'] })
    await put(server.app, 'one', 'other-tag', { value: 2, tags: ['u'] })
    await put(server.app, 'one', 'untagged', { value: 3 })
    await put(server.app, 'two', 'tagged', { value: 4, tags: ['t', 'v'] })
  })

  it('removes the tagged entries of one namespace only', async () => {
    const response = await invalidate({ tags: ['t'], namespace: 'one' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ invalidated: ['t'] })
    expectError(await get(server.app, 'one', 'tagged'), 404, 'TC_NOT_FOUND')
    expect((await get(server.app, 'one', 'other-tag')).statusCode).toBe(200)
    expect((await get(server.app, 'one', 'untagged')).statusCode).toBe(200)
    expect((await get(server.app, 'two', 'tagged')).statusCode).toBe(200)
  })

  it('removes the tagged entries of every namespace when none is given, from every tier', async () => {
    const response = await invalidate({ tags: ['t', 'u', 't'] })
    expect(response.json()).toEqual({ invalidated: ['t', 'u'] })
    expectError(await get(server.app, 'one', 'tagged'), 404, 'TC_NOT_FOUND')
    expectError(await get(server.app, 'one', 'other-tag'), 404, 'TC_NOT_FOUND')
    expectError(await get(server.app, 'two', 'tagged'), 404, 'TC_NOT_FOUND')
    expect((await get(server.app, 'one', 'untagged')).statusCode).toBe(200)
    // Gone from L3 as well: a batch-get reaches it for keys L1 no longer holds.
    const batch = await server.app.inject({ method: 'POST', url: '/v1/entries/two/batch-get', payload: { keys: ['tagged'], allowStale: true } })
    expect(batch.json()).toEqual({ entries: [{ key: 'tagged', found: false }] })
  })

  it('answers 200 for tags nothing carries', async () => {
    expect((await invalidate({ tags: ['nobody'] })).json()).toEqual({ invalidated: ['nobody'] })
  })
})

describe('GET /v1/stats', () => {
  it('answers the cache stats, reflecting hits and misses', async () => {
    const before = (await server.app.inject({ method: 'GET', url: '/v1/stats' })).json() as { requests: number; hits: number }
    await put(server.app, 'ns', 'k', { value: 1 })
    await get(server.app, 'ns', 'k')
    await get(server.app, 'ns', 'k')
    await get(server.app, 'ns', 'missing')
    const response = await server.app.inject({ method: 'GET', url: '/v1/stats' })
    expect(response.statusCode).toBe(200)
    const stats = response.json() as Record<string, unknown> & { requests: number; hits: number; tiers: Record<string, { hits: number; writes: number; kind: string }> }
    expect(stats).toEqual(await server.cache.stats())
    expect(stats.requests - before.requests).toBe(3)
    expect(stats.hits - before.hits).toBe(2)
    expect(stats.tiers.l1?.hits).toBe(2)
    expect(stats.tiers.l3?.kind).toBe('sqlite')
    expect(stats.tiers.l3?.writes).toBe(1)
    expect(stats).toMatchObject({ origin: { calls: 0, errors: 0, timeouts: 0 }, staleServed: 0, coalesced: 0 })
  })
})

describe('GET /health', () => {
  it('answers ok with every tier', async () => {
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
    const { cache } = cacheOver(l3, { l1: false })
    const app = await buildServer({ cache, closeCacheOnClose: true })
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
  it('record tier failures and circuit changes, without keys, and stop when the app closes', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: { failureThreshold: 2, openFor: 60_000 } })
    const lines: { event?: string; tier?: string; state?: string; level?: number }[] = []
    const app = await buildServer({ cache, logger: { level: 'info', stream: { write: (line: string) => void lines.push(JSON.parse(line)) } } })
    l3.failing = true
    await app.inject({ method: 'GET', url: entryUrl('ns', 'secret-key-1') })
    await app.inject({ method: 'GET', url: entryUrl('ns', 'secret-key-2') })
    expect(lines.filter((line) => line.event === 'tier:error')).toHaveLength(2)
    expect(lines.find((line) => line.event === 'circuit:change')).toMatchObject({ tier: 'l3', state: 'open', level: 40 })
    expect(JSON.stringify(lines)).not.toContain('secret-key')
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
    const { cache } = cacheOver(new ControlledTier())
    const app = await buildServer({ cache })
    try {
      await cache.close()
      expectError(await app.inject({ method: 'GET', url: '/health' }), 503, 'TC_CACHE_CLOSED')
    } finally {
      await app.close()
    }
  })
})

describe('limits at the edge', () => {
  it('applies the cache limits, not wider ones', async () => {
    const { cache } = cacheOver(new ControlledTier(), { limits: { maxKeyLength: 8, maxTags: 2 } })
    const app = await buildServer({ cache, closeCacheOnClose: true })
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
  it('documents every route with its schemas', async () => {
    const response = await server.app.inject({ method: 'GET', url: '/openapi.json' })
    expect(response.statusCode).toBe(200)
    const doc = response.json() as {
      openapi: string
      paths: Record<string, Record<string, { requestBody?: unknown; parameters?: { name: string; in: string }[]; responses: Record<string, unknown> }>>
    }
    expect(doc.openapi).toBe('3.1.0')
    const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`))
    expect(routes.sort()).toEqual(
      [
        'GET /v1/entries/{namespace}/{key}',
        'PUT /v1/entries/{namespace}/{key}',
        'DELETE /v1/entries/{namespace}/{key}',
        'POST /v1/entries/{namespace}/batch-get',
        'POST /v1/invalidate',
        'GET /v1/stats',
        'GET /health',
      ].sort(),
    )
    const entry = doc.paths['/v1/entries/{namespace}/{key}']
    expect(entry?.get?.parameters?.map((p) => `${p.in}:${p.name}`).sort()).toEqual(['path:key', 'path:namespace', 'query:allowStale'])
    expect(entry?.put?.requestBody).toBeDefined()
    expect(Object.keys(entry?.put?.responses ?? {}).sort()).toEqual(['204', '4XX', '5XX'])
    expect(doc.paths['/v1/invalidate']?.post?.requestBody).toBeDefined()
  })
})
