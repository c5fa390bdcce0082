import { randomBytes, randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import type { FastifyInstance, LightMyRequestResponse } from 'fastify'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest'
import { Cache, type CacheCore, type ExportedEntry } from '../../src/cache/cache.js'
import { tenantPrefix, userPrefix } from '../../src/cache/scope.js'
import { TierUnavailableError } from '../../src/errors.js'
import { createCache } from '../../src/index.js'
import { KeyRing } from '../../src/security/crypto/key-ring.js'
import { buildServer } from '../../src/server/index.js'
import { TEST_POSTGRES_URL } from '../helpers/postgres.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type KeyStore, type KeyedApp, type TestServer, bearer, expectError, get, keyed, openKeyStore, openServer, put } from './helpers.js'

// A user id that must never reach the audit log, in any spelling.
const ALICE = 'alice.personal+gdpr@example.com'
const BOB = 'bob@example.com'
const MARKER = `value-marker-${randomUUID()}`

type Line = { scope: string; namespace: string; key: string; value: unknown; createdAt: number; freshUntil: number; stale: boolean }

/** The lines of an NDJSON answer, each checked to be one JSON object ending with a newline. */
function ndjson(response: LightMyRequestResponse): Line[] {
  expect(response.statusCode, response.body.slice(0, 300)).toBe(200)
  expect(response.headers['content-type']).toBe('application/x-ndjson; charset=utf-8')
  expect(response.headers['cache-control']).toBe('no-store')
  if (response.body === '') return []
  expect(response.body.endsWith('\n')).toBe(true)
  return response.body
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Line)
}

const exportQuery = (userId?: string) => (userId === undefined ? '/v1/export' : `/v1/export?userId=${encodeURIComponent(userId)}`)

describe('erase and export on one server (SQLite)', () => {
  let server: TestServer
  let bravo: KeyedApp
  const ctx = (tenantId: string, userId?: string) => ({ role: 'authenticated' as const, tenantId, ...(userId === undefined ? {} : { userId }) })
  const user = (tenantId: string, userId: string, namespace: string) => server.cache.namespace(namespace).withContext(ctx(tenantId, userId))

  beforeEach(async () => {
    server = await openServer()
    bravo = keyed(server.app, (await server.createKey({ tenant: 'bravo' })).key)
    // Users' entries come from the application (the library); the REST API writes the tenant scope.
    for (const tenantId of ['acme', 'bravo']) {
      for (const userId of [ALICE, BOB]) {
        for (const namespace of ['carts', 'profiles']) await user(tenantId, userId, namespace).set('k', { tenantId, userId, namespace, marker: MARKER })
      }
    }
    expect((await put(server, 'orders', 'o1', { value: { tenant: 'acme', marker: MARKER } })).statusCode).toBe(204)
    expect((await put(bravo, 'orders', 'o1', { value: { tenant: 'bravo' } })).statusCode).toBe(204)
    await server.cache.namespace('pub').set('p', 'public')
  })
  afterEach(async () => {
    await server.close()
  })

  /** Storage namespaces in the SQLite file that start with `prefix`. */
  function storedUnder(prefix: string): string[] {
    const db = new Database(server.dbPath, { readonly: true })
    try {
      const rows = db.prepare('SELECT namespace FROM tiercache_entries').all() as { namespace: string }[]
      return rows.map((row) => row.namespace).filter((namespace) => namespace.startsWith(prefix))
    } finally {
      db.close()
    }
  }

  it("erases one user of the key's tenant, and nothing else", async () => {
    expect(storedUnder(userPrefix('acme', ALICE))).toHaveLength(2)
    const response = await server.inject({ method: 'POST', url: '/v1/erase', payload: { userId: ALICE } })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({ erased: 'user' })

    expect(storedUnder(userPrefix('acme', ALICE))).toEqual([])
    for (const namespace of ['carts', 'profiles']) {
      expect(await user('acme', ALICE, namespace).get('k')).toBeUndefined()
      expect(await user('acme', BOB, namespace).get('k')).toMatchObject({ userId: BOB })
      // The same user id in another tenant is another subject.
      expect(await user('bravo', ALICE, namespace).get('k')).toMatchObject({ tenantId: 'bravo', userId: ALICE })
    }
    expect((await get(server, 'orders', 'o1')).json()).toMatchObject({ value: { tenant: 'acme' } })
    expect((await get(bravo, 'orders', 'o1')).json()).toMatchObject({ value: { tenant: 'bravo' } })
    expect(await server.cache.namespace('pub').get('p')).toBe('public')
  })

  it('erases the whole tenant with {}, its users included, and nothing of other tenants or the public scope', async () => {
    const response = await server.inject({ method: 'POST', url: '/v1/erase', payload: {} })
    expect(response.json()).toEqual({ erased: 'tenant' })

    expect(storedUnder(tenantPrefix('acme'))).toEqual([])
    expectError(await get(server, 'orders', 'o1'), 404, 'TC_NOT_FOUND')
    for (const namespace of ['carts', 'profiles']) {
      for (const userId of [ALICE, BOB]) {
        expect(await user('acme', userId, namespace).get('k')).toBeUndefined()
        expect(await user('bravo', userId, namespace).get('k')).toMatchObject({ tenantId: 'bravo', userId })
      }
    }
    expect(storedUnder(tenantPrefix('bravo'))).toHaveLength(5)
    expect((await get(bravo, 'orders', 'o1')).json()).toMatchObject({ value: { tenant: 'bravo' } })
    expect(await server.cache.namespace('pub').get('p')).toBe('public')
  })

  it('refuses a request without a JSON object body: a lost body never erases the tenant', async () => {
    const attempts: [string | undefined, string][] = [
      [undefined, 'TC_BAD_REQUEST'],
      ['null', 'TC_BAD_REQUEST'],
      ['[]', 'TC_BAD_REQUEST'],
      ['"alice"', 'TC_BAD_REQUEST'],
      ['{"tenantId":"bravo"}', 'TC_BAD_REQUEST'],
      ['{"userId":"a","tenant":"bravo"}', 'TC_BAD_REQUEST'],
      ['{"userId":""}', 'TC_INVALID_CONTEXT'],
      ['{"userId":null}', 'TC_INVALID_CONTEXT'],
      ['{"userId":42}', 'TC_INVALID_CONTEXT'],
      ['{"userId":["a"]}', 'TC_INVALID_CONTEXT'],
      [JSON.stringify({ userId: 'x'.repeat(257) }), 'TC_INVALID_CONTEXT'],
      ['{"userId":"\\ud800"}', 'TC_INVALID_CONTEXT'],
    ]
    for (const [payload, code] of attempts) {
      const response = await server.inject({ method: 'POST', url: '/v1/erase', ...(payload === undefined ? {} : { payload, headers: { 'content-type': 'application/json' } }) })
      expectError(response, 400, code)
    }
    expect(storedUnder(tenantPrefix('acme'))).toHaveLength(5)
    // The longest user id that is accepted.
    expect((await server.inject({ method: 'POST', url: '/v1/erase', payload: { userId: 'x'.repeat(256) } })).json()).toEqual({ erased: 'user' })
  })

  it("exports exactly the user's entries, with values converted for JSON as documented", async () => {
    const carts = user('acme', ALICE, 'carts')
    const cycle: Record<string, unknown> = { name: 'loop' }
    cycle.self = cycle
    const shared = { n: 1 }
    await carts.set('k', {
      date: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
      invalidDate: new Date(Number.NaN),
      map: new Map<string, unknown>([
        ['b', 1],
        ['a', new Set([1, 2])],
      ]),
      mixedMap: new Map<unknown, unknown>([
        [1, 'one'],
        ['1', 'string one'],
      ]),
      set: new Set(['x', 'y']),
      big: 2n ** 70n,
      bytes: new Uint8Array([0, 1, 254, 255]),
      buffer: Buffer.from('hello'),
      floats: new Float64Array([1.5, Number.NaN, -0]),
      numbers: [Number.NaN, Infinity, -Infinity, -0, 1e300],
      regexp: /a+b/gi,
      nested: [undefined, null, { skipped: undefined, kept: true }],
      cycle,
      twice: [shared, shared],
      text: 'line\nbreak \u2028 "quoted" 😀',
    })
    await carts.set('plain', MARKER, { ttl: 60_000 })

    const lines = ndjson(await server.inject({ method: 'GET', url: exportQuery(ALICE) }))
    expect(lines.map(({ scope, namespace, key }) => [scope, namespace, key])).toEqual([
      ['user', 'carts', 'k'],
      ['user', 'carts', 'plain'],
      ['user', 'profiles', 'k'],
    ])
    const [first, second] = lines as [Line, Line, Line]
    expect(first.value).toEqual({
      date: '2026-01-02T03:04:05.006Z',
      invalidDate: null,
      map: { b: 1, a: [1, 2] },
      mixedMap: [
        [1, 'one'],
        ['1', 'string one'],
      ],
      set: ['x', 'y'],
      big: '1180591620717411303424',
      bytes: { $base64: 'AAH+/w==' },
      buffer: { $base64: 'aGVsbG8=' },
      floats: [1.5, 'NaN', 0],
      numbers: ['NaN', 'Infinity', '-Infinity', 0, 1e300],
      regexp: '/a+b/gi',
      nested: [null, null, { kept: true }],
      cycle: { name: 'loop', self: { $circular: true } },
      twice: [{ n: 1 }, { n: 1 }],
      text: 'line\nbreak \u2028 "quoted" 😀',
    })
    expect(second).toMatchObject({ value: MARKER, stale: false })
    expect(second.freshUntil - second.createdAt).toBeGreaterThanOrEqual(59_000)
    expect(second.freshUntil - second.createdAt).toBeLessThanOrEqual(60_000)
    expect(Math.abs(second.createdAt - Date.now())).toBeLessThan(10_000)
    // Nobody else's entries: not Bob's, not the tenant's, not bravo's Alice.
    expect(lines.every((line) => line.scope === 'user')).toBe(true)
    expect(JSON.stringify(lines)).not.toContain('bravo')
  })

  it("exports the whole tenant, its users included, and nobody else's entries", async () => {
    const lines = ndjson(await server.inject({ method: 'GET', url: exportQuery() }))
    expect(lines).toHaveLength(5)
    expect(lines.filter((line) => line.scope === 'tenant')).toEqual([expect.objectContaining({ namespace: 'orders', key: 'o1', value: { tenant: 'acme', marker: MARKER } })])
    const users = lines.filter((line) => line.scope === 'user').map((line) => line.value as { tenantId: string; userId: string; namespace: string })
    expect(users.map(({ tenantId, userId, namespace }) => `${tenantId}/${userId}/${namespace}`).sort()).toEqual([
      `acme/${ALICE}/carts`,
      `acme/${ALICE}/profiles`,
      `acme/${BOB}/carts`,
      `acme/${BOB}/profiles`,
    ])
    // Bravo's export is bravo's.
    const theirs = ndjson(await bravo.inject({ method: 'GET', url: exportQuery() }))
    expect(theirs).toHaveLength(5)
    expect(JSON.stringify(theirs)).not.toContain('acme')
  })

  it('answers an empty export for a subject with no entries, and rejects malformed queries', async () => {
    expect(ndjson(await server.inject({ method: 'GET', url: exportQuery('nobody') }))).toEqual([])
    for (const query of ['?userId=', `?userId=${'x'.repeat(257)}`, '?userId=a&userId=b']) {
      expectError(await server.inject({ method: 'GET', url: `/v1/export${query}` }), 400, 'TC_INVALID_CONTEXT')
    }
    for (const query of ['?tenant=bravo', '?tenantId=bravo', '?userId=a&tenantId=bravo']) {
      expectError(await server.inject({ method: 'GET', url: `/v1/export${query}` }), 400, 'TC_BAD_REQUEST')
    }
    // No HEAD: it would run the export to send nothing.
    const head = await server.inject({ method: 'HEAD', url: '/v1/export' })
    expect(head.statusCode).toBe(405)
    expect(head.headers.allow).toBe('GET')
  })

  it('answers 403 to keys without the admin role, and to a tenant header even from a service key; nothing is erased', async () => {
    const keys = [
      await server.createKey({ roles: ['read'] }),
      await server.createKey({ roles: ['write'] }),
      await server.createKey({ roles: ['read', 'write'] }),
    ]
    const service = await server.createKey({ tenant: 'ops', roles: ['read', 'write', 'admin', 'service'] })
    for (const headers of [...keys.map((key) => bearer(key.key)), { ...bearer(service.key), 'x-tiercache-tenant': 'acme' }, { ...bearer(server.key), 'x-tiercache-tenant': 'acme' }]) {
      for (const payload of [{}, { userId: ALICE }]) expectError(await server.app.inject({ method: 'POST', url: '/v1/erase', payload, headers }), 403, 'TC_FORBIDDEN')
      for (const url of [exportQuery(), exportQuery(ALICE)]) expectError(await server.app.inject({ method: 'GET', url, headers }), 403, 'TC_FORBIDDEN')
    }
    expect(storedUnder(tenantPrefix('acme'))).toHaveLength(5)
  })

  it('records erasures and exports with the key, the client and the hashed subject; never the user id or a value', async () => {
    const headers = { 'user-agent': 'dpo-tool/1.0' }
    await server.inject({ method: 'GET', url: exportQuery(ALICE), headers })
    await server.inject({ method: 'POST', url: '/v1/erase', payload: { userId: ALICE }, headers })
    await server.inject({ method: 'GET', url: exportQuery(), headers })
    await server.inject({ method: 'POST', url: '/v1/erase', payload: {}, headers })
    // A refused attempt is recorded too, by the route pattern, never by its URL (which holds the user id).
    const reader = await server.createKey({ roles: ['read'] })
    await server.app.inject({ method: 'GET', url: exportQuery(ALICE), headers: bearer(reader.key) })

    const hash = userPrefix('acme', ALICE).slice('~acme~'.length, -1)
    expect(hash).toMatch(/^[A-Za-z0-9_-]{22}$/)
    const events = (await server.audit.query({ tenant: 'acme' })).filter((event) => event.action.startsWith('subject.') || event.keyId === reader.id)
    const common = { keyId: server.created.id, tenant: 'acme', ip: '127.0.0.1', userAgent: 'dpo-tool/1.0', outcome: 'ok' }
    expect(events).toEqual([
      expect.objectContaining({ action: 'auth.failure', keyId: reader.id, outcome: 'denied', target: 'GET /v1/export' }),
      expect.objectContaining({ ...common, action: 'subject.erase', target: 'tenant', detail: null }),
      expect.objectContaining({ ...common, action: 'subject.export', target: 'tenant', detail: 'entries=3' }),
      expect.objectContaining({ ...common, action: 'subject.erase', target: `user:${hash}`, detail: null }),
      expect.objectContaining({ ...common, action: 'subject.export', target: `user:${hash}`, detail: 'entries=2' }),
    ])

    const db = new Database(server.dbPath, { readonly: true })
    try {
      const dump = JSON.stringify(db.prepare('SELECT * FROM tiercache_audit').all())
      for (const spelling of [ALICE, encodeURIComponent(ALICE), 'alice.personal', MARKER]) expect(dump).not.toContain(spelling)
    } finally {
      db.close()
    }
  })

  it('answers a coded error when the export fails before its first entry, and records it', async () => {
    const spy = vi.spyOn(Cache.prototype, 'exportSubject').mockImplementation(async function* (): AsyncGenerator<ExportedEntry, void, undefined> {
      // As a listing does when its tier is down: the first next() rejects.
      await Promise.reject(new TierUnavailableError('l3 is down'))
      yield* []
    })
    try {
      expectError(await server.inject({ method: 'GET', url: exportQuery(ALICE) }), 503, 'TC_TIER_UNAVAILABLE')
    } finally {
      spy.mockRestore()
    }
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({ action: 'subject.export', outcome: 'error', detail: 'failed before the first entry' })
  })

  describe('over a socket', () => {
    let url: string
    beforeEach(async () => {
      url = await server.app.listen({ host: '127.0.0.1', port: 0 })
    })

    it('cuts the answer short when the export fails midway, and keeps serving', async () => {
      const spy = vi.spyOn(Cache.prototype, 'exportSubject').mockImplementation(async function* (): AsyncGenerator<ExportedEntry, void, undefined> {
        yield { scope: 'tenant', namespace: 'orders', key: 'o1', value: 1, createdAt: 1, freshUntil: 2, stale: false }
        throw new TierUnavailableError('l3 went down')
      })
      try {
        const response = await fetch(`${url}/v1/export`, { headers: bearer(server.key) })
        expect(response.status).toBe(200)
        // The chunked body never ends properly: the client sees an error, not a complete export.
        await expect(response.text()).rejects.toThrow()
      } finally {
        spy.mockRestore()
      }
      expect((await fetch(`${url}/health`)).status).toBe(200)
      expect(ndjson(await server.inject({ method: 'GET', url: exportQuery() }))).toHaveLength(5)
      const events = (await server.audit.query({ tenant: 'acme' })).filter((event) => event.action === 'subject.export')
      expect(events.map((event) => [event.outcome, event.detail])).toEqual([
        ['ok', 'entries=5'],
        ['error', 'entries=1; failed while streaming'],
      ])
    })

    it('streams: a client that stops reading holds the export, and one that goes away ends it', async () => {
      const big = 'v'.repeat(64 * 1024)
      const bulk = server.view.namespace('bulk')
      for (let i = 0; i < 400; i++) await bulk.set(`k${String(i).padStart(4, '0')}`, big)
      const controller = new AbortController()
      const response = await fetch(`${url}/v1/export`, { headers: bearer(server.key), signal: controller.signal })
      expect(response.status).toBe(200)
      const reader = response.body!.getReader()
      const first = await reader.read()
      expect(first.done).toBe(false)
      // 25 MiB of export, and the client has read one chunk: the server has not produced it all.
      await new Promise((resolve) => setTimeout(resolve, 200))
      expect((await server.audit.query({ tenant: 'acme' })).filter((event) => event.action === 'subject.export')).toEqual([])
      controller.abort()
      await vi.waitFor(async () => {
        const [event] = (await server.audit.query({ tenant: 'acme' })).filter((e) => e.action === 'subject.export')
        expect(event).toMatchObject({ outcome: 'error' })
        expect(event?.detail).toMatch(/^entries=\d+; the client went away$/)
        // It stopped early: 405 entries were there to send.
        expect(Number(/entries=(\d+)/.exec(event?.detail ?? '')?.[1])).toBeLessThan(405)
      })
      expect((await fetch(`${url}/health`)).status).toBe(200)
    })
  })
})

// Two server instances over one Redis (L2 and the bus) and one PostgreSQL (L3), as in production: an
// erasure through one must leave nothing of the subject served by the other, its L1 included.
describe('erase across two server instances sharing Redis and PostgreSQL', () => {
  const run = randomUUID().slice(0, 8)
  const tenant = `acme${run}`
  const other = `globex${run}`
  const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
  const options = {
    l2: { redis: TEST_REDIS_URL, prefix: `tcs${run}` },
    l3: { postgres: TEST_POSTGRES_URL },
    // User entries in L1 too, so that the test sees the erasure reach the other instance's memory.
    security: { encryption: { keyRing }, tiers: { user: ['l1', 'l2', 'l3'] as ('l1' | 'l2' | 'l3')[] } },
  }
  let store: KeyStore
  let caches: [Cache, Cache]
  let apps: FastifyInstance[] = []
  let one: KeyedApp
  let two: KeyedApp
  let twoOther: KeyedApp

  const stackOf = (cache: Cache) => (cache as unknown as { core: CacheCore }).core.stack
  const as = (cache: Cache, userId: string, namespace = 'carts') => cache.namespace(namespace).withContext({ role: 'authenticated', tenantId: tenant, userId })

  beforeAll(async () => {
    store = await openKeyStore()
    caches = [createCache(options), createCache(options)]
    // Both instances listen on the bus before the test writes.
    for (const cache of caches) {
      await vi.waitFor(async () => {
        await cache.set('__probe', 1)
        expect((await cache.getWithInfo('__probe'))?.source).toBe('l1')
      })
    }
    apps = await Promise.all(caches.map((cache) => buildServer({ cache, credentials: store.credentials, audit: store.audit })))
    const admin = await store.createKey({ tenant })
    const otherAdmin = await store.createKey({ tenant: other })
    one = keyed(apps[0]!, admin.key)
    two = keyed(apps[1]!, admin.key)
    twoOther = keyed(apps[1]!, otherAdmin.key)
  })
  afterAll(async () => {
    for (const tenantId of [tenant, other]) await caches[0].erase({ tenantId })
    await caches[0].clear()
    await Promise.all(apps.map((app) => app.close()))
    await Promise.all(caches.map((cache) => cache.close()))
    await store.close()
  })

  /** Entries of Alice, Bob, the tenant and another tenant, each read through instance two (so in its L1). */
  async function populate(): Promise<void> {
    const [a, b] = caches
    for (const userId of [ALICE, BOB]) for (const namespace of ['carts', 'profiles']) await as(a, userId, namespace).set('k', { userId, marker: MARKER })
    expect((await put(one, 'orders', 'o1', { value: 'tenant entry' })).statusCode).toBe(204)
    expect((await put(one, 'orders', 'o2', { value: 'tenant entry 2' })).statusCode).toBe(204)
    expect((await put(keyed(apps[0]!, (await store.createKey({ tenant: other })).key), 'orders', 'o1', { value: 'other tenant' })).statusCode).toBe(204)
    // Until each read is served from instance two's L1 (a write's notice, arriving late, may evict once).
    await vi.waitFor(async () => {
      for (const userId of [ALICE, BOB]) {
        for (const namespace of ['carts', 'profiles']) expect(await as(b, userId, namespace).getWithInfo('k')).toMatchObject({ source: 'l1', value: { userId } })
      }
      for (const key of ['o1', 'o2']) expect((await get(two, 'orders', key)).json()).toMatchObject({ source: 'l1' })
      expect((await get(twoOther, 'orders', 'o1')).json()).toMatchObject({ value: 'other tenant', source: 'l1' })
    })
    expect(await stackOf(b).l1!.namespaces(userPrefix(tenant, ALICE))).toHaveLength(2)
  }

  it('erases a user through instance one: instance two serves nothing of the user, from any tier', async () => {
    await populate()
    const [, b] = caches
    expect((await one.inject({ method: 'POST', url: '/v1/erase', payload: { userId: ALICE } })).json()).toEqual({ erased: 'user' })
    await vi.waitFor(async () => {
      expect(await stackOf(b).l1!.namespaces(userPrefix(tenant, ALICE))).toEqual([])
      for (const namespace of ['carts', 'profiles']) expect(await as(b, ALICE, namespace).getWithInfo('k', { allowStale: true })).toBeUndefined()
    })
    expect(ndjson(await two.inject({ method: 'GET', url: exportQuery(ALICE) }))).toEqual([])
    // Everyone else is still served by instance two, from its memory.
    for (const namespace of ['carts', 'profiles']) expect(await as(b, BOB, namespace).getWithInfo('k')).toMatchObject({ source: 'l1', value: { userId: BOB } })
    expect((await get(two, 'orders', 'o1')).json()).toMatchObject({ value: 'tenant entry', source: 'l1' })
    expect(ndjson(await two.inject({ method: 'GET', url: exportQuery() }))).toHaveLength(4)
  })

  it('erases the tenant through instance one: instance two serves nothing of it, and all of the other tenant', async () => {
    await populate()
    const [, b] = caches
    expect((await one.inject({ method: 'POST', url: '/v1/erase', payload: {} })).json()).toEqual({ erased: 'tenant' })
    await vi.waitFor(async () => {
      expect(await stackOf(b).l1!.namespaces(tenantPrefix(tenant))).toEqual([])
      for (const key of ['o1', 'o2']) expectError(await get(two, 'orders', key), 404, 'TC_NOT_FOUND')
    })
    for (const userId of [ALICE, BOB]) for (const namespace of ['carts', 'profiles']) expect(await as(b, userId, namespace).get('k')).toBeUndefined()
    expect(ndjson(await two.inject({ method: 'GET', url: exportQuery() }))).toEqual([])
    expect((await get(twoOther, 'orders', 'o1')).json()).toMatchObject({ value: 'other tenant', source: 'l1' })
    const [event] = await store.audit.query({ tenant })
    expect(event).toMatchObject({ action: 'subject.export', target: 'tenant', detail: 'entries=0' })
  })
})
