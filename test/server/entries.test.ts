import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { buildServer } from '../../src/server/index.js'
import { type TestServer, entryUrl, expectError, get, keyed, openServer, put } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await openServer()
})
afterEach(async () => {
  await server.close()
})

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

describe('PUT then GET', () => {
  const values: [string, unknown][] = [
    ['object', { fare: 420, route: ['JFK', 'LHR'], meta: { nested: { deep: true } } }],
    ['array', [1, 'two', null, { three: 3 }, [4]]],
    ['string', 'hello, world'],
    ['empty string', ''],
    ['unicode string', 'héllo € 😀 \u2028'],
    ['number', 42.5],
    ['zero', 0],
    ['negative number', -1e21],
    ['true', true],
    ['false', false],
    ['null', null],
    ['empty object', {}],
    ['empty array', []],
  ]
  it.each(values)('round-trips a value of type %s', async (_name, value) => {
    const stored = await put(server, 'ns', 'k', { value })
    expect(stored.statusCode).toBe(204)
    expect(stored.body).toBe('')
    const response = await get(server, 'ns', 'k')
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ value, source: 'l1', stale: false, ageMs: expect.any(Number), freshUntil: expect.any(Number) })
  })

  it('answers with the Served shape and takes ttl in milliseconds or as a string', async () => {
    const before = Date.now()
    expect((await put(server, 'ns', 'ms', { value: 1, ttl: 60_000 })).statusCode).toBe(204)
    expect((await put(server, 'ns', 'text', { value: 2, ttl: '2h', grace: '1d', tags: ['a', 'b', 'a'] })).statusCode).toBe(204)
    const after = Date.now()
    const ms = (await get(server, 'ns', 'ms')).json() as { freshUntil: number; ageMs: number }
    expect(ms.freshUntil).toBeGreaterThanOrEqual(before + 60_000)
    expect(ms.freshUntil).toBeLessThanOrEqual(after + 60_000)
    expect(ms.ageMs).toBeGreaterThanOrEqual(0)
    const text = (await get(server, 'ns', 'text')).json() as { freshUntil: number }
    expect(text.freshUntil).toBeGreaterThanOrEqual(before + 7_200_000)
    expect(text.freshUntil).toBeLessThanOrEqual(after + 7_200_000)
  })

  it('overwrites a value', async () => {
    await put(server, 'ns', 'k', { value: 'old' })
    await put(server, 'ns', 'k', { value: 'new' })
    expect((await get(server, 'ns', 'k')).json()).toMatchObject({ value: 'new' })
  })

  it('writes through to the SQLite tier: another cache on the same file reads it from L3', async () => {
    await put(server, 'ns', 'durable', { value: { kept: true }, ttl: '1h' })
    const other = createCache({ l3: { sqlite: server.dbPath, cleanupInterval: 0 } })
    const app = keyed(await buildServer({ cache: other, credentials: server.credentials, closeCacheOnClose: true }), server.key)
    try {
      const response = await get(app, 'ns', 'durable')
      expect(response.statusCode).toBe(200)
      expect(response.json()).toMatchObject({ value: { kept: true }, source: 'l3', stale: false })
    } finally {
      await app.app.close()
    }
  })

  it('keeps namespaces apart', async () => {
    await put(server, 'one', 'k', { value: 1 })
    await put(server, 'two', 'k', { value: 2 })
    expect((await get(server, 'one', 'k')).json()).toMatchObject({ value: 1 })
    expect((await get(server, 'two', 'k')).json()).toMatchObject({ value: 2 })
    expectError(await get(server, 'three', 'k'), 404, 'TC_NOT_FOUND')
  })
})

describe('keys in the path', () => {
  const keys = [
    'a/b',
    '/leading/and/trailing/',
    '%',
    '%2F',
    '100%25',
    'a b',
    'tab\there',
    'a?b#c&d=e',
    'semi;colon',
    'plus+sign',
    'héllo wörld',
    '日本語のキー',
    '😀/🚀',
    '.hidden',
    'a/../b',
    'batch-get',
    'x'.repeat(1024),
    '😀'.repeat(512),
  ]
  it.each(keys.map((key) => [key.length > 40 ? `${key.slice(0, 20)}… (${key.length})` : key, key]))(
    'round-trips %j through encodeURIComponent',
    async (_label, key) => {
      expect((await put(server, 'ns', key, { value: key })).statusCode).toBe(204)
      const response = await get(server, 'ns', key)
      expect(response.statusCode).toBe(200)
      expect(response.json()).toMatchObject({ value: key })
      // The key the cache stored is the decoded one, not its encoding.
      expect(await server.view.namespace('ns').get(key)).toBe(key)
      const batch = await server.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: [key] } })
      expect(batch.json()).toMatchObject({ entries: [{ key, found: true, value: key }] })
      const deleted = await server.inject({ method: 'DELETE', url: entryUrl('ns', key) })
      expect(deleted.json()).toEqual({ deleted: true })
    },
  )

  it('does not confuse a/b with a path of two segments', async () => {
    await put(server, 'ns', 'a/b', { value: 'encoded' })
    expectError(await server.inject({ method: 'GET', url: '/v1/entries/ns/a/b' }), 404, 'TC_NOT_FOUND')
  })

  it('answers an empty key (a trailing slash) with TC_INVALID_KEY', async () => {
    expectError(await server.inject({ method: 'GET', url: '/v1/entries/ns/' }), 400, 'TC_INVALID_KEY')
  })
})

describe('GET', () => {
  it('answers 404 TC_NOT_FOUND for a missing key', async () => {
    expectError(await get(server, 'ns', 'missing'), 404, 'TC_NOT_FOUND')
  })

  it('serves a value past its ttl only with allowStale=true', async () => {
    await put(server, 'ns', 'k', { value: 'aging', ttl: 1, grace: '1h' })
    await sleep(10)
    expectError(await get(server, 'ns', 'k'), 404, 'TC_NOT_FOUND')
    expectError(await get(server, 'ns', 'k', '?allowStale=false'), 404, 'TC_NOT_FOUND')
    const stale = await get(server, 'ns', 'k', '?allowStale=true')
    expect(stale.statusCode).toBe(200)
    expect(stale.json()).toMatchObject({ value: 'aging', stale: true })
  })
})

describe('DELETE', () => {
  it('answers deleted: true, then false, and the entry is gone', async () => {
    await put(server, 'ns', 'k', { value: 1 })
    const first = await server.inject({ method: 'DELETE', url: entryUrl('ns', 'k') })
    expect(first.statusCode).toBe(200)
    expect(first.json()).toEqual({ deleted: true })
    expect((await server.inject({ method: 'DELETE', url: entryUrl('ns', 'k') })).json()).toEqual({ deleted: false })
    expectError(await get(server, 'ns', 'k'), 404, 'TC_NOT_FOUND')
  })
})

describe('POST batch-get', () => {
  it('answers one result per key, in order, duplicates included', async () => {
    await put(server, 'ns', 'a', { value: 'A' })
    await put(server, 'ns', 'b/c', { value: { b: 'C' } })
    await put(server, 'other', 'x', { value: 'elsewhere' })
    const response = await server.inject({
      method: 'POST',
      url: '/v1/entries/ns/batch-get',
      payload: { keys: ['missing', 'b/c', 'a', 'x', 'a'] },
    })
    expect(response.statusCode).toBe(200)
    const { entries } = response.json() as { entries: Record<string, unknown>[] }
    expect(entries.map((entry) => [entry.key, entry.found, entry.value])).toEqual([
      ['missing', false, undefined],
      ['b/c', true, { b: 'C' }],
      ['a', true, 'A'],
      ['x', false, undefined],
      ['a', true, 'A'],
    ])
    expect(entries[0]).toEqual({ key: 'missing', found: false })
    expect(entries[1]).toEqual({ key: 'b/c', found: true, value: { b: 'C' }, source: 'l1', stale: false, ageMs: expect.any(Number), freshUntil: expect.any(Number) })
  })

  it('reads from L3 what L1 does not hold', async () => {
    await put(server, 'ns', 'a', { value: 'A' })
    const other = createCache({ l3: { sqlite: server.dbPath, cleanupInterval: 0 } })
    const app = keyed(await buildServer({ cache: other, credentials: server.credentials, closeCacheOnClose: true }), server.key)
    try {
      const response = await app.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['a', 'b'] } })
      expect(response.json()).toMatchObject({ entries: [{ key: 'a', found: true, source: 'l3' }, { key: 'b', found: false }] })
    } finally {
      await app.app.close()
    }
  })

  it('includes stale values only with allowStale', async () => {
    await put(server, 'ns', 'old', { value: 'aging', ttl: 1, grace: '1h' })
    await sleep(10)
    const strict = await server.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['old'] } })
    expect(strict.json()).toEqual({ entries: [{ key: 'old', found: false }] })
    const lenient = await server.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['old'], allowStale: true } })
    expect(lenient.json()).toMatchObject({ entries: [{ key: 'old', found: true, value: 'aging', stale: true }] })
  })

  it('accepts 1000 keys', async () => {
    const keys = Array.from({ length: 1000 }, (_, index) => `k${index}`)
    const response = await server.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys } })
    expect(response.statusCode).toBe(200)
    expect((response.json() as { entries: unknown[] }).entries).toHaveLength(1000)
  })
})
