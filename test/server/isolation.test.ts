import Database from 'better-sqlite3'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { userPrefix } from '../../src/cache/scope.js'
import { type KeyedApp, type TestServer, entryUrl, expectError, keyed, openServer } from './helpers.js'

// Tenant A (acme) stores entries; tenant B (bravo), with every role, tries to read, list, batch-get,
// overwrite, delete, invalidate, purge, erase, export, measure and audit them through every /v1
// route, with crafted namespaces, keys and user ids. Every answer must be a coded 4xx, or a 2xx that
// acts on B's own data only; A's entries must be exactly as they were afterwards, in the API and in
// storage.

const A_ENTRIES: readonly [namespace: string, key: string, value: unknown][] = [
  ['ns', 'keep', { owner: 'acme', n: 1 }],
  ['ns', 'a/b', 'slash'],
  ['ns', '~bravo~ns', 'tilde key'],
  ['ns', '..', 'dots'],
  ['ns', '%2F', 'encoded slash'],
  ['ns', 'аcme', 'cyrillic a'],
  ['ns', 'ａ／ｂ', 'fullwidth'],
  ['acme', 'keep', 'namespace named like the tenant'],
  ['a.b-c_d', 'x'.repeat(1024), 'longest key'],
  ['bravo', 'keep', 'namespace named like the other tenant'],
]
const TAGS = ['t', 'route:1', '~bravo~', 'tenant:acme']

/** Users of A, with entries written by the application (the REST API writes the tenant scope only). */
const A_USERS: readonly string[] = ['alice', '~', '~acme~', 'a/b', '/', '%2F', '\u0000', 'аlice', 'ａｌｉｃｅ', 'u'.repeat(256)]
const A_USER_NAMESPACES = ['carts', 'ns']

/** User ids B sends to erase and export: A's, and crafted spellings of A's scope and of them. */
const CRAFTED_USER_IDS: readonly string[] = [
  ...A_USERS,
  'alice~',
  '~acme~alice',
  '~bravo~alice',
  userPrefix('acme', 'alice'),
  userPrefix('acme', 'alice').slice('~acme~'.length, -1),
  '../acme/alice',
  '..%2Facme%2Falice',
  '%252F',
  'acme/alice',
  'alice\u0000',
  '\u0000alice',
  'Alice',
  'alice ',
  'x'.repeat(10_000),
  'u'.repeat(257),
]

let server: TestServer
let a: KeyedApp
let b: KeyedApp
beforeAll(async () => {
  // Series labelled by tenant, as `tiercache serve` has them, so that /v1/stats has figures to keep apart.
  server = await openServer({ metrics: { tenants: { max: 10 } } })
  a = server
  b = keyed(server.app, (await server.createKey({ tenant: 'bravo' })).key)
  for (const [namespace, key, value] of A_ENTRIES) {
    // The key '..' cannot travel in a URL path (clients resolve it): written through the library, in
    // the scope the server gives A's key.
    if (key === '..') await server.view.namespace(namespace).set(key, value, { tags: TAGS })
    else expect((await a.inject({ method: 'PUT', url: entryUrl(namespace, key), payload: { value, tags: TAGS } })).statusCode, `${namespace}/${key}`).toBe(204)
  }
  for (const userId of A_USERS) {
    for (const namespace of A_USER_NAMESPACES) await userView('acme', userId, namespace).set('k', { owner: 'acme', userId })
  }
})

function userView(tenantId: string, userId: string, namespace: string) {
  return server.cache.namespace(namespace).withContext({ role: 'authenticated', tenantId, userId })
}

/** A's users' entries, each read through the library: all there, with their values. */
async function expectAUsersUntouched(): Promise<void> {
  for (const userId of A_USERS) {
    for (const namespace of A_USER_NAMESPACES) expect(await userView('acme', userId, namespace).get('k'), `${JSON.stringify(userId).slice(0, 40)}/${namespace}`).toEqual({ owner: 'acme', userId })
  }
  const exported = await a.inject({ method: 'GET', url: '/v1/export' })
  expect(exported.statusCode).toBe(200)
  expect(exported.body.trim().split('\n').filter((line) => line.includes('"scope":"user"'))).toHaveLength(A_USERS.length * A_USER_NAMESPACES.length)
}
afterAll(async () => {
  await server.close()
})

/** A's entries, each read with A's key: all there, with their values. */
async function expectAUntouched(): Promise<void> {
  for (const [namespace, key, value] of A_ENTRIES) {
    const response = await a.inject({ method: 'POST', url: `/v1/entries/${namespace}/batch-get`, payload: { keys: [key] } })
    expect(response.json(), `${namespace}/${key}`).toMatchObject({ entries: [{ key, found: true, value }] })
  }
}

/** A coded 4xx, or a success. */
function expectCodedOrOk(response: LightMyRequestResponse, context: string): void {
  if (response.statusCode >= 300) {
    expect(response.statusCode, `${context}: ${response.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400)
    expect(response.statusCode, context).toBeLessThan(500)
    if (response.body !== '') expect((response.json() as { error: { code: string } }).error.code, context).toMatch(/^TC_/)
  }
}

/** Every way for B to name A's things: A's namespaces, and crafted spellings of A's scope. */
const NAMESPACE_SEGMENTS: readonly string[] = [
  'ns',
  'acme',
  'bravo',
  'a.b-c_d',
  // crafted: the scope separator, scope prefixes, traversal, encodings, look-alikes, overlong
  '~acme~ns',
  encodeURIComponent('~acme~ns'),
  '%7Eacme%7Ens',
  'acme~ns',
  '~acme~',
  '..',
  '.',
  '%2E%2E',
  'acme%2Fns',
  '..%2Facme%2Fns',
  '%2F..%2F~acme~ns',
  'ns%00',
  '%00',
  encodeURIComponent('аcme'),
  encodeURIComponent('ｎｓ'),
  encodeURIComponent('acme／ns'),
  'n'.repeat(10_000),
  'ns%252F',
]

const KEY_SEGMENTS: readonly string[] = [
  ...new Set(A_ENTRIES.map(([, key]) => encodeURIComponent(key))),
  encodeURIComponent('~acme~ns\u0000keep'),
  '..%2Fkeep',
  '..%2F..%2Facme%2Fns%2Fkeep',
  '%2E%2E%2Fkeep',
  'keep%00',
  encodeURIComponent('ｋｅｅｐ'),
  'k'.repeat(10_000),
  '%25',
]

describe('tenant B cannot reach tenant A', () => {
  it('reads, writes and deletes through crafted paths: each a coded 4xx, or acting on B\'s data only', async () => {
    const keysWrittenByB = new Set<string>()
    for (const namespace of NAMESPACE_SEGMENTS) {
      for (const key of KEY_SEGMENTS) {
        const url = `/v1/entries/${namespace}/${key}`
        const context = url.slice(0, 120)
        const read = await b.inject({ method: 'GET', url })
        expectCodedOrOk(read, `GET ${context}`)
        // Whatever it names, B finds nothing but what it wrote itself in an earlier round. (A path of
        // dot segments resolves to another route: `/v1/entries/./keep` lists the namespace `keep`.)
        if (read.statusCode === 200) {
          const body = read.json() as { value?: unknown; keys?: string[] }
          if (body.keys === undefined) expect(body, `GET ${context}`).toMatchObject({ value: 'bravo was here' })
          else expect(body.keys.filter((listed) => !keysWrittenByB.has(listed)), `GET ${context}`).toEqual([])
        }
        expectCodedOrOk(await b.inject({ method: 'DELETE', url }), `DELETE ${context}`)
        const written = await b.inject({ method: 'PUT', url, payload: { value: 'bravo was here', tags: TAGS } })
        expectCodedOrOk(written, `PUT ${context}`)
        if (written.statusCode === 204) keysWrittenByB.add(safeDecode(key))
      }
    }
    // The crafted paths reached the routes, not only the validation: B did write, to its own scope.
    expect(keysWrittenByB.size).toBeGreaterThan(3)
    await expectAUntouched()
  })

  it('batch-gets, lists, invalidates and purges under every crafted namespace: nothing of A is found or removed', async () => {
    const keys = A_ENTRIES.map(([, key]) => key)
    for (const namespace of NAMESPACE_SEGMENTS) {
      const context = namespace.slice(0, 80)
      const batch = await b.inject({ method: 'POST', url: `/v1/entries/${namespace}/batch-get`, payload: { keys, allowStale: true } })
      expectCodedOrOk(batch, `batch-get ${context}`)
      if (batch.statusCode === 200) {
        for (const entry of (batch.json() as { entries: { found: boolean; value?: unknown }[] }).entries) {
          // Only what B itself wrote in the test before can be found.
          if (entry.found) expect(entry.value).toBe('bravo was here')
        }
      }
      const listed = await b.inject({ method: 'GET', url: `/v1/entries/${namespace}?limit=1000` })
      expectCodedOrOk(listed, `list ${context}`)
      if (listed.statusCode === 200) {
        const page = listed.json() as { keys: string[] }
        for (const key of page.keys) {
          const value = await b.inject({ method: 'GET', url: `/v1/entries/${namespace}/${encodeURIComponent(key)}` })
          expect(value.json(), `${context}/${key}`).toMatchObject({ value: 'bravo was here' })
        }
      }
      const decoded = safeDecode(namespace)
      for (const body of [{ tags: TAGS, namespace: decoded }, { tags: TAGS }, { tags: TAGS, namespace: decoded, tenant: 'acme' }]) {
        expectCodedOrOk(await b.inject({ method: 'POST', url: '/v1/invalidate', payload: body }), `invalidate ${context}`)
        expectCodedOrOk(await b.inject({ method: 'POST', url: '/v1/purge', payload: body }), `purge ${context}`)
      }
      expectCodedOrOk(await b.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: decoded } }), `clear ${context}`)
    }
    await expectAUntouched()
  })

  it("erases and exports only its own users and itself, whatever user id it crafts", async () => {
    const ownValue = (userId: string) => ({ owner: 'bravo', userId })
    const stored = CRAFTED_USER_IDS.filter((userId) => userId.length <= 256)
    for (const userId of stored) await userView('bravo', userId, 'carts').set('k', ownValue(userId))

    for (const userId of CRAFTED_USER_IDS) {
      const context = JSON.stringify(userId).slice(0, 60)
      // The query as a client encodes it, and as it is when sent raw (`%2F` arrives as `/`, `%00` as NUL).
      for (const query of [encodeURIComponent(userId), userId.replace(/[#&?\s]/g, encodeURIComponent)]) {
        const exported = await b.inject({ method: 'GET', url: `/v1/export?userId=${query}` })
        expectCodedOrOk(exported, `export ${context}`)
        if (exported.statusCode === 200) {
          // Only B's own user of that id, if any: never an entry of A.
          for (const line of exported.body.split('\n').filter((text) => text !== '')) {
            const entry = JSON.parse(line) as { scope: string; value: { owner?: string } }
            expect(entry, `export ${context}`).toMatchObject({ scope: 'user', value: { owner: 'bravo' } })
          }
        }
      }
      const erased = await b.inject({ method: 'POST', url: '/v1/erase', payload: { userId } })
      expectCodedOrOk(erased, `erase ${context}`)
      if (userId.length > 256) expectError(erased, 400, 'TC_INVALID_CONTEXT')
      else {
        expect(erased.json(), `erase ${context}`).toEqual({ erased: 'user' })
        // It did erase B's own user of that id.
        expect(await userView('bravo', userId, 'carts').get('k'), `erase ${context}`).toBeUndefined()
      }
      for (const body of [{ userId, tenantId: 'acme' }, { userId, tenant: 'acme' }]) {
        const refused = await b.inject({ method: 'POST', url: '/v1/erase', payload: body })
        expectCodedOrOk(refused, `erase ${context} naming a tenant`)
        expect(refused.statusCode, `erase ${context} naming a tenant`).toBe(400)
      }
    }
    for (const query of ['tenantId=acme', 'tenant=acme', 'userId=alice&tenantId=acme']) expectError(await b.inject({ method: 'GET', url: `/v1/export?${query}` }), 400, 'TC_BAD_REQUEST')

    // B's whole tenant: B's entries go, A's stay.
    const tenantExport = await b.inject({ method: 'GET', url: '/v1/export' })
    expect(tenantExport.statusCode).toBe(200)
    expect(tenantExport.body).not.toContain('acme')
    expect((await b.inject({ method: 'POST', url: '/v1/erase', payload: {} })).json()).toEqual({ erased: 'tenant' })
    expect((await b.inject({ method: 'GET', url: '/v1/export' })).body).toBe('')
    await expectAUntouched()
    await expectAUsersUntouched()
  })

  it('sees only its own figures in /v1/stats, and only its own events in /v1/audit', async () => {
    type Report = { scope: { tenant: string }; totals: { requests: number }; topKeys: { key: string; count: number }[] }
    const before = (await a.inject({ method: 'GET', url: '/v1/stats' })).json() as Report
    expect(before.totals.requests).toBeGreaterThan(0)
    const stats = (await b.inject({ method: 'GET', url: '/v1/stats' })).json() as Report
    expect(stats.scope).toEqual({ tenant: 'bravo' })
    // B's top keys count B's lookups only: at most as many as B made.
    expect(stats.topKeys.reduce((sum, hit) => sum + hit.count, 0)).toBeLessThanOrEqual(stats.totals.requests)
    // A's traffic is not in B's figures, nor B's in A's.
    const after = (await a.inject({ method: 'GET', url: '/v1/stats' })).json() as Report
    expect(after).toMatchObject({ scope: { tenant: 'acme' }, totals: { requests: before.totals.requests } })
    for (const query of ['?tenant=acme', '?scope=deployment']) expectError(await b.inject({ method: 'GET', url: `/v1/stats${query}` }), 400, 'TC_BAD_REQUEST')
    const events = (await b.inject({ method: 'GET', url: '/v1/audit?limit=1000' })).json() as { events: { tenant: string }[] }
    expect(events.events.length).toBeGreaterThan(0)
    expect(events.events.every((event) => event.tenant === 'bravo')).toBe(true)
    // Query parameters cannot widen the audit read to another tenant.
    for (const query of ['?tenant=acme', '?since=0&tenant=acme', '?limit=10&since=0&since=1']) {
      expectError(await b.inject({ method: 'GET', url: `/v1/audit${query}` }), 400, 'TC_BAD_REQUEST')
    }
  })

  it('cannot name A in a tenant header, in any spelling, without being a service key', async () => {
    const attempts: InjectOptions[] = [
      { method: 'GET', url: entryUrl('ns', 'keep') },
      { method: 'PUT', url: entryUrl('ns', 'keep'), payload: { value: 'bravo was here' } },
      { method: 'DELETE', url: entryUrl('ns', 'keep') },
      { method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['keep'] } },
      { method: 'GET', url: '/v1/entries/ns' },
      { method: 'POST', url: '/v1/invalidate', payload: { tags: TAGS, namespace: 'ns' } },
      { method: 'POST', url: '/v1/purge', payload: { tags: TAGS, namespace: 'ns' } },
      { method: 'POST', url: '/v1/clear', payload: { namespace: 'ns' } },
      { method: 'POST', url: '/v1/erase', payload: {} },
      { method: 'POST', url: '/v1/erase', payload: { userId: 'alice' } },
      { method: 'GET', url: '/v1/export' },
      { method: 'GET', url: '/v1/export?userId=alice' },
      { method: 'GET', url: '/v1/stats' },
      { method: 'GET', url: '/v1/audit' },
    ]
    for (const attempt of attempts) {
      for (const tenant of ['acme', 'ACME', ' acme', '~acme~', 'acme%00']) {
        const response = await b.inject({ ...attempt, headers: { 'x-tiercache-tenant': tenant } })
        expectError(response, 403, 'TC_FORBIDDEN')
      }
    }
    await expectAUntouched()
    await expectAUsersUntouched()
  })

  it('gets nothing of A from tenants whose ids look like A, and no tenant id can spell a scope', async () => {
    for (const tenant of ['acme.', 'acme-', 'acme_', 'Acme', '.acme', 'acm']) {
      const lookalike = keyed(server.app, (await server.createKey({ tenant })).key)
      expectError(await lookalike.inject({ method: 'GET', url: entryUrl('ns', 'keep') }), 404, 'TC_NOT_FOUND')
      expect((await lookalike.inject({ method: 'GET', url: '/v1/entries/ns' })).json()).toEqual({ keys: [], next: null })
    }
    for (const tenant of ['acme~ns', '~acme', 'аcme', 'acme／', 'acme/ns', '', 'x'.repeat(65)]) {
      await expect(server.credentials.create({ tenant, roles: ['read'] })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    }
  })

  it("keeps each tenant's entries under its own scope prefix in storage", async () => {
    await expectAUntouched()
    await expectAUsersUntouched()
    const db = new Database(server.dbPath, { readonly: true })
    try {
      const rows = db.prepare('SELECT namespace, key FROM tiercache_entries').all() as { namespace: string; key: string }[]
      const aRows = rows.filter((row) => row.namespace.startsWith('~acme~'))
      const aUserRows = A_USERS.flatMap((userId) => A_USER_NAMESPACES.map((namespace) => `${userPrefix('acme', userId)}${namespace}|k`))
      expect(aRows.map((row) => `${row.namespace}|${row.key}`).sort()).toEqual([...A_ENTRIES.map(([namespace, key]) => `~acme~${namespace}|${key}`), ...aUserRows].sort())
      // Nothing in the public scope, and every other row is B's (or the look-alike tenants', which wrote nothing).
      for (const row of rows) expect(row.namespace, row.key.slice(0, 40)).toMatch(/^~(acme|bravo)~([A-Za-z0-9_-]{22}~)?[A-Za-z0-9._-]+$/)
      // Values are sealed: A's plain values are nowhere in the file.
      const values = db.prepare('SELECT value FROM tiercache_entries').all() as { value: Buffer }[]
      for (const { value } of values) expect(value.includes(Buffer.from('namespace named like the tenant'))).toBe(false)
    } finally {
      db.close()
    }
  })
})

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment)
  } catch {
    return segment
  }
}
