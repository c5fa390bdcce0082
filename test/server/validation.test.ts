import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { LightMyRequestResponse } from 'fastify'
import { TierUnavailableError, createCache } from '../../src/index.js'
import { Cache } from '../../src/cache/cache.js'
import { type TestServer, buildKeyedServer, entryUrl, expectError, expectStored, openServer, raw } from './helpers.js'

// Every rejected request targets the entry `ns/keep` (or its tag), which holds PRECIOUS: had a
// rejected write gone through, the value would have changed; had a rejected delete or invalidation
// gone through, it would be gone.
const PRECIOUS = { precious: true, list: [1, 2, 3] }

let server: TestServer
beforeEach(async () => {
  server = await openServer()
  const stored = await server.inject({ method: 'PUT', url: entryUrl('ns', 'keep'), payload: { value: PRECIOUS, tags: ['keep-tag'] } })
  expect(stored.statusCode).toBe(204)
})
afterEach(async () => {
  await expectStored(server, 'ns', 'keep', PRECIOUS)
  await server.close()
})

const putKeep = (body: unknown) => server.inject({ method: 'PUT', url: entryUrl('ns', 'keep'), payload: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

describe('PUT body', () => {
  const cases: [string, unknown, number, string][] = [
    ['no value', { ttl: 1000 }, 400, 'TC_BAD_REQUEST'],
    ['an extra field', { value: 1, extra: true }, 400, 'TC_BAD_REQUEST'],
    ['a scope smuggled in the body', { value: 1, scope: 'tenant:other' }, 400, 'TC_BAD_REQUEST'],
    ['an array body', [1, 2], 400, 'TC_BAD_REQUEST'],
    ['a string body', 'value', 400, 'TC_BAD_REQUEST'],
    ['a number body', 5, 400, 'TC_BAD_REQUEST'],
    ['a null body', null, 400, 'TC_BAD_REQUEST'],
    ['ttl of the wrong type', { value: 1, ttl: true }, 400, 'TC_INVALID_DURATION'],
    ['ttl as an object', { value: 1, ttl: { ms: 5 } }, 400, 'TC_INVALID_DURATION'],
    ['ttl unparsable', { value: 1, ttl: 'soon' }, 400, 'TC_INVALID_DURATION'],
    ['ttl empty', { value: 1, ttl: '' }, 400, 'TC_INVALID_DURATION'],
    ['ttl negative', { value: 1, ttl: -1 }, 400, 'TC_INVALID_DURATION'],
    ['ttl zero', { value: 1, ttl: 0 }, 400, 'TC_INVALID_DURATION'],
    ['ttl past 100 years', { value: 1, ttl: 1e20 }, 400, 'TC_INVALID_DURATION'],
    ['ttl of 200 years', { value: 1, ttl: '73000d' }, 400, 'TC_INVALID_DURATION'],
    ['grace of the wrong type', { value: 1, grace: [] }, 400, 'TC_INVALID_DURATION'],
    ['grace negative', { value: 1, grace: '-5m' }, 400, 'TC_INVALID_DURATION'],
    ['tags not an array', { value: 1, tags: 'a,b' }, 400, 'TC_INVALID_TAG'],
    ['a tag not a string', { value: 1, tags: ['ok', 7] }, 400, 'TC_INVALID_TAG'],
    ['an empty tag', { value: 1, tags: [''] }, 400, 'TC_INVALID_TAG'],
    ['a tag with NUL', { value: 1, tags: ['a\u0000b'] }, 400, 'TC_INVALID_TAG'],
    ['a tag with a lone surrogate', { value: 1, tags: ['\ud800'] }, 400, 'TC_INVALID_TAG'],
    ['a tag over the cache limit (256)', { value: 1, tags: ['t'.repeat(257)] }, 400, 'TC_INVALID_TAG'],
    ['a tag over the edge limit', { value: 1, tags: ['t'.repeat(5000)] }, 400, 'TC_INVALID_TAG'],
    ['more tags than the cache allows (64)', { value: 1, tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }, 400, 'TC_INVALID_TAG'],
    ['a huge tag array', { value: 1, tags: Array.from({ length: 50_000 }, (_, i) => `t${i}`) }, 400, 'TC_INVALID_TAG'],
    ['a value over the cache limit (1 MiB)', { value: 'x'.repeat(1_100_000) }, 413, 'TC_VALUE_TOO_LARGE'],
  ]
  it.each(cases)('rejects %s', async (_name, body, status, code) => {
    expectError(await putKeep(body), status, code)
  })

  it('rejects a value nested too deeply to encode with 400 TC_INVALID_VALUE', async () => {
    const depth = 100_000
    const payload = `{"value":${'['.repeat(depth)}${']'.repeat(depth)}}`
    expectError(await raw(server, 'PUT', entryUrl('ns', 'keep'), payload), 400, 'TC_INVALID_VALUE')
  })

  it('names the offending field in the message', async () => {
    const response = await putKeep({ value: 1, tags: ['ok', 7] })
    expect((response.json() as { error: { message: string } }).error.message).toMatch(/^body\.tags\[1\]: /)
    const missing = await putKeep({ ttl: 5 })
    expect((missing.json() as { error: { message: string } }).error.message).toMatch(/^body\.value: /)
  })

  it('rejects a body over bodyLimit with 413 TC_PAYLOAD_TOO_LARGE', async () => {
    expectError(await putKeep({ value: 'x'.repeat(2 * 1024 * 1024 + 1) }), 413, 'TC_PAYLOAD_TOO_LARGE')
  })

  it('honours a custom bodyLimit', async () => {
    const cache = createCache({ l3: false })
    const app = await buildKeyedServer({ cache, bodyLimit: 1024, closeCacheOnClose: true })
    try {
      expect((await app.inject({ method: 'PUT', url: entryUrl('ns', 'k'), payload: { value: 'x'.repeat(900) } })).statusCode).toBe(204)
      expectError(await app.inject({ method: 'PUT', url: entryUrl('ns', 'k'), payload: { value: 'x'.repeat(1100) } }), 413, 'TC_PAYLOAD_TOO_LARGE')
      expect(await cache.withContext({ role: 'authenticated', tenantId: 'acme' }).namespace('ns').get('k')).toBe('x'.repeat(900))
    } finally {
      await app.close()
    }
  })
})

describe('malformed bodies', () => {
  const cases: [string, string, string][] = [
    ['truncated JSON', '{"value": {"a": 1', 'application/json'],
    ['not JSON at all', 'value=1', 'application/json'],
    ['an empty JSON body', '', 'application/json'],
    ['trailing garbage', '{"value": 1} extra', 'application/json'],
    ['a __proto__ key', '{"value": {"__proto__": {"polluted": true}}}', 'application/json'],
    ['a constructor.prototype key', '{"value": {"constructor": {"prototype": {"polluted": true}}}}', 'application/json'],
  ]
  it.each(cases)('answers %s with 400 TC_BAD_REQUEST', async (_name, payload, contentType) => {
    expectError(await raw(server, 'PUT', entryUrl('ns', 'keep'), payload, contentType), 400, 'TC_BAD_REQUEST')
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })

  it.each([
    ['text/plain', '{"value": 1}', 'text/plain'],
    ['form data', 'value=1', 'application/x-www-form-urlencoded'],
    ['an unknown type', '{"value": 1}', 'application/x-tiercache'],
  ])('answers %s with 415 TC_UNSUPPORTED_MEDIA_TYPE', async (_name, payload, contentType) => {
    expectError(await raw(server, 'PUT', entryUrl('ns', 'keep'), payload, contentType), 415, 'TC_UNSUPPORTED_MEDIA_TYPE')
  })

  it('answers a batch-get and an invalidation with malformed JSON with 400', async () => {
    expectError(await raw(server, 'POST', '/v1/entries/ns/batch-get', '{"keys": ['), 400, 'TC_BAD_REQUEST')
    expectError(await raw(server, 'POST', '/v1/invalidate', '{"tags": ["keep-tag"'), 400, 'TC_BAD_REQUEST')
  })
})

describe('path and query', () => {
  const cases: [string, string, number, string][] = [
    ['a key with NUL', entryUrl('ns', 'a\u0000b'), 400, 'TC_INVALID_KEY'],
    ['a key over the cache limit (1024)', entryUrl('ns', 'k'.repeat(1025)), 400, 'TC_INVALID_KEY'],
    ['a key over the edge limit', entryUrl('ns', 'k'.repeat(20_000)), 400, 'TC_INVALID_KEY'],
    ['a namespace with a space', '/v1/entries/a%20b/keep', 400, 'TC_INVALID_NAMESPACE'],
    ['a namespace with unicode', `/v1/entries/${encodeURIComponent('né')}/keep`, 400, 'TC_INVALID_NAMESPACE'],
    ['a namespace of 129 characters', `/v1/entries/${'n'.repeat(129)}/keep`, 400, 'TC_INVALID_NAMESPACE'],
    ['invalid percent-encoding', '/v1/entries/ns/%FF', 400, 'TC_BAD_REQUEST'],
    ['truncated percent-encoding', '/v1/entries/ns/%E0%A4%A', 400, 'TC_BAD_REQUEST'],
    ['an encoded lone surrogate', '/v1/entries/ns/%ED%A0%80', 400, 'TC_BAD_REQUEST'],
  ]
  it.each(cases)('rejects %s on GET, PUT and DELETE', async (_name, url, status, code) => {
    expectError(await server.inject({ method: 'GET', url }), status, code)
    expectError(await server.inject({ method: 'PUT', url, payload: { value: 'overwritten' } }), status, code)
    expectError(await server.inject({ method: 'DELETE', url }), status, code)
  })

  it.each([
    ['allowStale not a boolean word', '?allowStale=yes'],
    ['allowStale repeated', '?allowStale=true&allowStale=false'],
    ['an unknown parameter', '?allowstale=true'],
  ])('rejects %s with 400 TC_BAD_REQUEST', async (_name, query) => {
    expectError(await server.inject({ method: 'GET', url: entryUrl('ns', 'keep') + query }), 400, 'TC_BAD_REQUEST')
  })

  it('answers an unknown route with 404 TC_NOT_FOUND', async () => {
    expectError(await server.inject({ method: 'GET', url: '/v2/entries/ns/keep' }), 404, 'TC_NOT_FOUND')
    expectError(await server.inject({ method: 'GET', url: '/v1/entries/ns/a/b/c' }), 404, 'TC_NOT_FOUND')
    expectError(await server.inject({ method: 'PATCH', url: '/v1/nowhere' }), 404, 'TC_NOT_FOUND')
  })

  it('answers a wrong method on a known path with 405 TC_METHOD_NOT_ALLOWED and Allow (RFC 9110 §15.5.6)', async () => {
    const cases: [method: 'PATCH' | 'POST' | 'GET' | 'DELETE', url: string, allow: string][] = [
      ['PATCH', entryUrl('ns', 'keep'), 'GET, HEAD, PUT, DELETE'],
      ['POST', `${entryUrl('ns', 'keep')}?allowStale=true`, 'GET, HEAD, PUT, DELETE'],
      ['PATCH', '/v1/entries/ns/batch-get', 'GET, HEAD, PUT, DELETE, POST'],
      ['GET', '/v1/invalidate', 'POST'],
      ['DELETE', '/health', 'GET, HEAD'],
    ]
    for (const [method, url, allow] of cases) {
      const response = await server.inject({ method, url, payload: method === 'GET' ? undefined : { value: 1 } })
      expectError(response, 405, 'TC_METHOD_NOT_ALLOWED')
      expect(response.headers.allow, `${method} ${url}`).toBe(allow)
    }
    // Without a key, the path's methods are not told: 401 first, as for every /v1 request.
    expectError(await server.inject({ method: 'PATCH', url: entryUrl('ns', 'keep'), headers: { authorization: '' } }), 401, 'TC_UNAUTHORIZED')
  })
})

describe('batch-get body', () => {
  const cases: [string, unknown, string][] = [
    ['no keys', {}, 'TC_BAD_REQUEST'],
    ['keys not an array', { keys: 'keep' }, 'TC_BAD_REQUEST'],
    ['an empty key list', { keys: [] }, 'TC_BAD_REQUEST'],
    ['1001 keys', { keys: Array.from({ length: 1001 }, (_, i) => `k${i}`) }, 'TC_BAD_REQUEST'],
    ['a key not a string', { keys: ['keep', 5] }, 'TC_INVALID_KEY'],
    ['an empty key', { keys: [''] }, 'TC_INVALID_KEY'],
    ['a key with NUL', { keys: ['\u0000'] }, 'TC_INVALID_KEY'],
    ['a key over the cache limit', { keys: ['k'.repeat(1025)] }, 'TC_INVALID_KEY'],
    ['allowStale not a boolean', { keys: ['keep'], allowStale: 'true' }, 'TC_BAD_REQUEST'],
    ['an extra field', { keys: ['keep'], namespace: 'other' }, 'TC_BAD_REQUEST'],
  ]
  it.each(cases)('rejects %s', async (_name, body, code) => {
    expectError(await server.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: body as object }), 400, code)
  })

  it('rejects a bad namespace', async () => {
    expectError(await server.inject({ method: 'POST', url: '/v1/entries/n%24/batch-get', payload: { keys: ['keep'] } }), 400, 'TC_INVALID_NAMESPACE')
  })
})

describe('invalidate body', () => {
  const cases: [string, unknown, string][] = [
    ['no tags', { namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['an empty tag list', { tags: [], namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['tags not an array', { tags: 'keep-tag', namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['a tag not a string', { tags: ['keep-tag', 1], namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['a tag with NUL', { tags: ['keep-tag', 'x\u0000'], namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['more tags than the cache allows', { tags: ['keep-tag', ...Array.from({ length: 64 }, (_, i) => `t${i}`)], namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['a huge tag array', { tags: ['keep-tag', ...Array.from({ length: 50_000 }, (_, i) => `t${i}`)], namespace: 'ns' }, 'TC_INVALID_TAG'],
    ['no namespace', { tags: ['keep-tag'] }, 'TC_INVALID_NAMESPACE'],
    ['a bad namespace', { tags: ['keep-tag'], namespace: 'a/b' }, 'TC_INVALID_NAMESPACE'],
    ['a namespace not a string', { tags: ['keep-tag'], namespace: 5 }, 'TC_INVALID_NAMESPACE'],
    ['an extra field', { tags: ['keep-tag'], namespace: 'ns', all: true }, 'TC_BAD_REQUEST'],
  ]
  it.each(cases)('rejects %s', async (_name, body, code) => {
    expectError(await server.inject({ method: 'POST', url: '/v1/invalidate', payload: body as object }), 400, code)
  })
})

describe('server-side failures', () => {
  // `ns/keep` is fresh in L1, which the read route answers without getWithInfo: the read is made to
  // take the way through the tiers, where the failures below come from.
  const missL1Once = () => vi.spyOn(Cache.prototype, 'getWithInfoNow').mockReturnValueOnce(undefined)

  it('answers an unexpected error with 500 TC_INTERNAL and a generic message', async () => {
    missL1Once()
    vi.spyOn(Cache.prototype, 'getWithInfo').mockRejectedValueOnce(new Error('password=hunter2 in a driver message'))
    const response = await server.inject({ method: 'GET', url: entryUrl('ns', 'keep') })
    expectError(response, 500, 'TC_INTERNAL')
    expect(response.body).not.toContain('hunter2')
  })

  it('passes a catalogue error through with its status and code', async () => {
    missL1Once()
    vi.spyOn(Cache.prototype, 'getWithInfo').mockRejectedValueOnce(new TierUnavailableError('every tier is down'))
    expectError(await server.inject({ method: 'GET', url: entryUrl('ns', 'keep') }), 503, 'TC_TIER_UNAVAILABLE')
  })

  it('answers 503 TC_CACHE_CLOSED once the cache is closed', async () => {
    const cache = createCache({ l3: false })
    const app = await buildKeyedServer({ cache })
    await cache.close()
    const answers: LightMyRequestResponse[] = [
      await app.inject({ method: 'GET', url: entryUrl('ns', 'k') }),
      await app.inject({ method: 'PUT', url: entryUrl('ns', 'k'), payload: { value: 1 } }),
      await app.inject({ method: 'DELETE', url: entryUrl('ns', 'k') }),
      await app.inject({ method: 'GET', url: '/v1/stats' }),
    ]
    for (const answer of answers) expectError(answer, 503, 'TC_CACHE_CLOSED')
    await app.close()
  })

  it('sends a bigint stored through the library as a decimal string instead of failing', async () => {
    await server.view.namespace('ns').set('big', { id: 2n ** 70n })
    const response = await server.inject({ method: 'GET', url: entryUrl('ns', 'big') })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toMatchObject({ value: { id: (2n ** 70n).toString() } })
  })
})

describe('logging', () => {
  it('logs one debug line per request, with the route and status but not the URL; none at info', async () => {
    const lines = (level: string) => {
      const written: string[] = []
      return { written, logger: { level, stream: { write: (line: string) => void written.push(line) } } }
    }
    const debug = lines('debug')
    const info = lines('info')
    for (const { logger } of [debug, info]) {
      const app = await buildKeyedServer({ cache: createCache({ l3: false }), closeCacheOnClose: true, logger })
      try {
        for (let i = 0; i < 3; i++) expect((await app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
        expect((await app.inject({ method: 'PUT', url: entryUrl('ns', 'secret-key'), payload: { value: 1 } })).statusCode).toBe(204)
      } finally {
        await app.close()
      }
    }
    const parsed = (written: string[]) => written.map((line) => JSON.parse(line) as { level: number; msg: string; req?: unknown; res?: unknown })
    const completed = parsed(debug.written).filter((line) => line.msg === 'request completed')
    expect(completed).toHaveLength(4)
    expect(completed[0]).toMatchObject({ level: 20, req: { method: 'GET', route: '/health' }, res: { statusCode: 200 } })
    expect(completed[3]).toMatchObject({ req: { method: 'PUT', route: '/v1/entries/:namespace/:key' }, res: { statusCode: 204 } })
    expect(debug.written.join('')).not.toContain('secret-key')
    expect(parsed(debug.written).some((line) => line.msg === 'incoming request')).toBe(false)
    // At info, a request that succeeds costs no line at all.
    expect(parsed(info.written).filter((line) => line.msg === 'request completed' || line.msg === 'incoming request')).toEqual([])
  })

  it('never logs values or keys, and logs the details of a 500', async () => {
    const lines: string[] = []
    const cache = createCache({ l3: false })
    const app = await buildKeyedServer({ cache, closeCacheOnClose: true, logger: { level: 'debug', stream: { write: (line: string) => void lines.push(line) } } })
    try {
      await app.inject({ method: 'PUT', url: entryUrl('ns', 'user:alice@example.com'), payload: { value: { card: '4111-1111-1111-1111' } } })
      await app.inject({ method: 'GET', url: entryUrl('ns', 'user:alice@example.com') })
      await app.inject({ method: 'PUT', url: entryUrl('ns', 'user:alice@example.com'), payload: { value: { card: '4111-1111-1111-1111' }, ttl: 'never' } })
      await app.inject({ method: 'GET', url: entryUrl('ns', 'user:alice@example.com') + '/nope' })
      await app.inject({ method: 'GET', url: entryUrl('ns', 'k'), headers: { authorization: `Bearer ${app.key.slice(0, -1)}x` } })
      vi.spyOn(Cache.prototype, 'getWithInfo').mockRejectedValueOnce(new Error('boom detail'))
      await app.inject({ method: 'GET', url: entryUrl('ns', 'k') })
    } finally {
      await app.close()
    }
    const log = lines.join('')
    expect(lines.length).toBeGreaterThan(5)
    expect(log).not.toContain('4111')
    expect(log).not.toContain('alice')
    // Neither the key sent with every request nor the wrong one.
    expect(log).not.toContain(app.key.slice(-43, -1))
    expect(log).toContain('TC_UNAUTHORIZED')
    expect(log).toContain('/v1/entries/:namespace/:key')
    expect(log).toContain('boom detail')
  })
})
