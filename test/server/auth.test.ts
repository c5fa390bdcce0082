import Database from 'better-sqlite3'
import type { InjectOptions, LightMyRequestResponse } from 'fastify'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { CreatedKey } from '../../src/security/credentials/index.js'
import { createCache } from '../../src/index.js'
import { type CredentialStore, buildServer } from '../../src/server/index.js'
import { type TestServer, bearer, buildKeyedServer, entryUrl, expectError, expectStored, keyed, openServer, put } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await openServer()
  expect((await put(server, 'ns', 'keep', { value: 'kept', tags: ['t'] })).statusCode).toBe(204)
})
afterEach(async () => {
  await server.close()
})

/** One request to every /v1 route, each aimed at the entry ns/keep or its namespace. */
const EVERY_ROUTE: readonly (InjectOptions & { readonly role: 'read' | 'write' | 'admin'; readonly across: boolean })[] = [
  { method: 'GET', url: entryUrl('ns', 'keep'), role: 'read', across: true },
  { method: 'HEAD', url: entryUrl('ns', 'keep'), role: 'read', across: true },
  { method: 'PUT', url: entryUrl('ns', 'keep'), payload: { value: 'overwritten' }, role: 'write', across: true },
  { method: 'DELETE', url: entryUrl('ns', 'keep'), role: 'write', across: true },
  { method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['keep'] }, role: 'read', across: true },
  { method: 'GET', url: '/v1/entries/ns', role: 'read', across: true },
  { method: 'POST', url: '/v1/invalidate', payload: { tags: ['t'], namespace: 'ns' }, role: 'write', across: true },
  { method: 'POST', url: '/v1/purge', payload: { tags: ['t'], namespace: 'ns' }, role: 'write', across: true },
  { method: 'POST', url: '/v1/clear', payload: { namespace: 'ns' }, role: 'admin', across: false },
  { method: 'GET', url: '/v1/stats', role: 'read', across: true },
  { method: 'GET', url: '/v1/audit', role: 'admin', across: false },
  // A user's erasure: the tenant's entry ns/keep stays, so that every check below still finds it.
  { method: 'POST', url: '/v1/erase', payload: { userId: 'someone' }, role: 'admin', across: false },
  { method: 'GET', url: '/v1/export?userId=someone', role: 'admin', across: false },
]

const label = (route: InjectOptions) => `${route.method} ${String(route.url)}`

function send(route: InjectOptions, headers: Record<string, string>): Promise<LightMyRequestResponse> {
  const { method, url, payload } = route
  return server.app.inject({ method, url, ...(payload === undefined ? {} : { payload }), headers })
}

/** A 401 with its challenge: `WWW-Authenticate: Bearer realm="tiercache"` (RFC 6750 §3). */
function expectUnauthorized(response: LightMyRequestResponse, presented: boolean): void {
  // A HEAD answer has no body to check.
  if (response.body === '') expect(response.statusCode).toBe(401)
  else expectError(response, 401, 'TC_UNAUTHORIZED')
  const challenge = response.headers['www-authenticate']
  if (presented) expect(challenge).toMatch(/^Bearer realm="tiercache", error="invalid_token"/)
  else expect(challenge).toBe('Bearer realm="tiercache"')
}

describe('authentication', () => {
  it.each(EVERY_ROUTE.map((route) => [label(route), route] as const))('%s without a key answers 401 and changes nothing', async (_label, route) => {
    expectUnauthorized(await send(route, {}), false)
    await expectStored(server, 'ns', 'keep', 'kept')
  })

  it('refuses every malformed, unknown, revoked or wrong key with 401, whatever the route', async () => {
    const revoked = await server.createKey()
    await server.credentials.revoke(revoked.id)
    const secret = server.key.slice(-43)
    const wrongSecret = server.key.slice(0, -43) + (secret[0] === 'A' ? 'B' : 'A') + secret.slice(1)
    const presented: [string, string, boolean][] = [
      ['an empty header', '', false],
      ['another scheme', `Basic ${Buffer.from(`acme:${server.key}`).toString('base64')}`, false],
      ['the key without a scheme', server.key, false],
      ['the scheme alone', 'Bearer', false],
      ['the scheme and spaces', 'Bearer    ', false],
      ['two tokens', `Bearer ${server.key} ${server.key}`, false],
      ['a token that is not a key', 'Bearer hunter2', true],
      ['a key id alone', `Bearer ${server.created.id}`, true],
      ['an unknown key id', `Bearer tc_tck_aaaaaaaaaaaa_${secret}`, true],
      ['a wrong secret', `Bearer ${wrongSecret}`, true],
      ['a truncated key', `Bearer ${server.key.slice(0, -1)}`, true],
      ['a key in upper case', `Bearer ${server.key.toUpperCase()}`, true],
      ['a revoked key', `Bearer ${revoked.key}`, true],
      ['an overlong token', `Bearer ${'x'.repeat(20_000)}`, true],
    ]
    for (const [name, authorization, isBearer] of presented) {
      for (const route of EVERY_ROUTE) {
        const response = await send(route, { authorization })
        expect(response.statusCode, `${name}: ${label(route)}`).toBe(401)
        expectUnauthorized(response, isBearer)
        expect(response.body).not.toContain(secret)
      }
    }
    await expectStored(server, 'ns', 'keep', 'kept')
  })

  it('takes the Bearer scheme in any case (RFC 7235 §2.1)', async () => {
    for (const scheme of ['bearer', 'BEARER', 'Bearer']) {
      expect((await server.app.inject({ method: 'GET', url: entryUrl('ns', 'keep'), headers: { authorization: `${scheme} ${server.key}` } })).statusCode).toBe(200)
    }
  })

  it('leaves /health and /openapi.json open, and answers unknown /v1 routes 401 without a key, 404 with one', async () => {
    expect((await server.app.inject({ method: 'GET', url: '/health' })).statusCode).toBe(200)
    expect((await server.app.inject({ method: 'GET', url: '/openapi.json' })).statusCode).toBe(200)
    expectUnauthorized(await server.app.inject({ method: 'GET', url: '/v1/nothing/here' }), false)
    expectUnauthorized(await server.app.inject({ method: 'PATCH', url: entryUrl('ns', 'keep') }), false)
    expectError(await server.inject({ method: 'GET', url: '/v1/nothing/here' }), 404, 'TC_NOT_FOUND')
    expectError(await server.inject({ method: 'GET', url: '/v1' }), 404, 'TC_NOT_FOUND')
  })

  it('checks the key before the body: a request without a key learns nothing from validation', async () => {
    expectUnauthorized(await server.app.inject({ method: 'PUT', url: entryUrl('ns', 'keep'), payload: '{"broken', headers: { 'content-type': 'application/json' } }), false)
    expectUnauthorized(await server.app.inject({ method: 'PUT', url: entryUrl('ns', 'keep'), payload: 'x', headers: { 'content-type': 'text/plain' } }), false)
    expectUnauthorized(await server.app.inject({ method: 'GET', url: '/v1/entries/bad%20ns/keep' }), false)
  })

  it('records failures in the audit log, for the claimed key\'s tenant when there is one, never with the secret', async () => {
    const secret = server.key.slice(-43)
    const wrong = server.key.slice(0, -43) + 'A'.repeat(43)
    await server.app.inject({ method: 'GET', url: entryUrl('ns', 'keep'), headers: { authorization: `Bearer ${wrong}`, 'user-agent': 'probe/1.0' } })
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({
      action: 'auth.failure',
      outcome: 'denied',
      keyId: server.created.id,
      tenant: 'acme',
      target: 'GET /v1/entries/:namespace/:key',
      ip: '127.0.0.1',
      userAgent: 'probe/1.0',
      detail: 'wrong secret',
    })
    // A failure without a key of any tenant is for operators: recorded without a tenant.
    await server.app.inject({ method: 'GET', url: '/v1/stats', headers: { 'user-agent': 'anonymous/2.0' } })
    const db = new Database(server.dbPath, { readonly: true })
    try {
      const rows = db.prepare('SELECT * FROM tiercache_audit').all() as { tenant: string | null; user_agent: string | null; detail: string | null }[]
      expect(rows.find((row) => row.user_agent === 'anonymous/2.0')).toMatchObject({ tenant: null, detail: 'no Authorization header' })
      expect(JSON.stringify(rows)).not.toContain(secret)
      expect(JSON.stringify(rows)).not.toContain('A'.repeat(43))
    } finally {
      db.close()
    }
  })

  it('records at most one refusal a minute per client, counting the others', async () => {
    for (let i = 0; i < 5; i++) await server.app.inject({ method: 'GET', url: '/v1/stats', headers: { authorization: `Bearer tc_${server.created.id}_${'B'.repeat(43)}` } })
    const failures = (await server.audit.query({ tenant: 'acme' })).filter((event) => event.action === 'auth.failure')
    expect(failures).toHaveLength(1)
  })
})

describe('authorization by role', () => {
  let keys: Record<'read' | 'write' | 'admin', CreatedKey>
  beforeEach(async () => {
    keys = {
      read: await server.createKey({ roles: ['read'] }),
      write: await server.createKey({ roles: ['write'] }),
      admin: await server.createKey({ roles: ['admin'] }),
    }
  })

  it.each(EVERY_ROUTE.map((route) => [label(route), route] as const))('%s answers 403 to keys without its role, and serves the key with it', async (_label, route) => {
    for (const role of ['read', 'write', 'admin'] as const) {
      const response = await send(route, bearer(keys[role].key))
      if (role === route.role) {
        expect(response.statusCode, `${role} on ${label(route)}`).toBeLessThan(300)
        continue
      }
      if (route.method === 'HEAD') expect(response.statusCode).toBe(403)
      else expectError(response, 403, 'TC_FORBIDDEN')
      expect(response.headers['www-authenticate']).toBe('Bearer realm="tiercache", error="insufficient_scope"')
      if (role === 'read' || route.role !== 'write') {
        // Nothing this key was refused has happened: the entry is there, with its value.
        await expectStored(server, 'ns', 'keep', 'kept')
      }
    }
  })

  it('records refusals with the key, its tenant and the route', async () => {
    await server.app.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: 'ns' }, headers: { ...bearer(keys.read.key), 'user-agent': 'curl/8' } })
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({
      action: 'auth.failure',
      outcome: 'denied',
      keyId: keys.read.id,
      tenant: 'acme',
      target: 'POST /v1/clear',
      userAgent: 'curl/8',
      detail: 'this route needs a key with the admin role',
    })
  })
})

describe('service keys and X-Tiercache-Tenant', () => {
  let service: CreatedKey
  beforeEach(async () => {
    service = await server.createKey({ tenant: 'ops', roles: ['read', 'write', 'admin', 'service'] })
  })
  const as = (tenant?: string) => ({ ...bearer(service.key), ...(tenant === undefined ? {} : { 'x-tiercache-tenant': tenant }) })

  it("acts on the named tenant's entries on the routes that allow it", async () => {
    const read = await server.app.inject({ method: 'GET', url: entryUrl('ns', 'keep'), headers: as('acme') })
    expect(read.json()).toMatchObject({ value: 'kept' })
    expect((await server.app.inject({ method: 'PUT', url: entryUrl('ns', 'from-ops'), payload: { value: 'hello', tags: ['t'] }, headers: as('acme') })).statusCode).toBe(204)
    await expectStored(server, 'ns', 'from-ops', 'hello')
    const batch = await server.app.inject({ method: 'POST', url: '/v1/entries/ns/batch-get', payload: { keys: ['keep', 'from-ops'] }, headers: as('acme') })
    expect((batch.json() as { entries: { found: boolean }[] }).entries.map((entry) => entry.found)).toEqual([true, true])
    const listed = await server.app.inject({ method: 'GET', url: '/v1/entries/ns', headers: as('acme') })
    expect(listed.json()).toEqual({ keys: ['from-ops', 'keep'], next: null })
    const invalidated = await server.app.inject({ method: 'POST', url: '/v1/invalidate', payload: { tags: ['t'], namespace: 'ns' }, headers: as('acme') })
    expect(invalidated.statusCode).toBe(200)
    expectError(await server.inject({ method: 'GET', url: entryUrl('ns', 'keep') }), 404, 'TC_NOT_FOUND')
    const deleted = await server.app.inject({ method: 'DELETE', url: entryUrl('ns', 'from-ops'), headers: as('acme') })
    expect(deleted.json()).toEqual({ deleted: false })
    // The invalidation is in acme's audit log, by the service key, saying whose key it was.
    const [event] = await server.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({ action: 'cache.invalidate', keyId: service.id, tenant: 'acme', detail: 'by a service key of tenant ops' })
  })

  it('acts on its own tenant without the header', async () => {
    expect((await server.app.inject({ method: 'PUT', url: entryUrl('ns', 'keep'), payload: { value: 'ops' }, headers: as() })).statusCode).toBe(204)
    expect((await server.app.inject({ method: 'GET', url: entryUrl('ns', 'keep'), headers: as() })).json()).toMatchObject({ value: 'ops' })
    await expectStored(server, 'ns', 'keep', 'kept')
  })

  it.each(EVERY_ROUTE.filter((route) => !route.across).map((route) => [label(route), route] as const))(
    '%s refuses the header with 403, even for the key\'s own tenant',
    async (_label, route) => {
      for (const tenant of ['acme', 'ops']) expectError(await send(route, as(tenant)), 403, 'TC_FORBIDDEN')
      await expectStored(server, 'ns', 'keep', 'kept')
    },
  )

  it.each(EVERY_ROUTE.filter((route) => route.across).map((route) => [label(route), route] as const))(
    '%s refuses the header from a key without the service role',
    async (_label, route) => {
      for (const tenant of ['bravo', 'acme']) {
        const response = await send(route, { ...bearer(server.key), 'x-tiercache-tenant': tenant })
        expect(response.statusCode).toBe(403)
      }
      await expectStored(server, 'ns', 'keep', 'kept')
    },
  )

  it.each(['', 'a b', '~acme~', 'acme~x', 'acme/x', 'acme%2Fx', 'a'.repeat(65), 'acme, bravo', 'аcme', 'ａcme'])(
    'answers a malformed tenant header %j with 400 TC_BAD_REQUEST',
    async (tenant) => {
      const headers = as()
      // Header values are latin1 on the wire: a Cyrillic letter arrives as its UTF-8 bytes.
      const value = Buffer.from(tenant, 'utf8').toString('latin1')
      expectError(await server.app.inject({ method: 'GET', url: entryUrl('ns', 'keep'), headers: { ...headers, 'x-tiercache-tenant': value } }), 400, 'TC_BAD_REQUEST')
    },
  )

  it('cannot read the audit log of another tenant, nor purge it', async () => {
    const audit = await server.app.inject({ method: 'GET', url: '/v1/audit', headers: as() })
    expect(audit.statusCode).toBe(200)
    expect((audit.json() as { events: { tenant: string }[] }).events.every((event) => event.tenant === 'ops')).toBe(true)
    expectError(await server.app.inject({ method: 'GET', url: '/v1/audit', headers: as('acme') }), 403, 'TC_FORBIDDEN')
    expectError(await server.app.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: 'ns' }, headers: as('acme') }), 403, 'TC_FORBIDDEN')
    await expectStored(server, 'ns', 'keep', 'kept')
  })
})

describe('GET /v1/audit', () => {
  it("shows a tenant's admin its own tenant's events only, newest first, with since and limit", async () => {
    const bravo = keyed(server.app, (await server.createKey({ tenant: 'bravo' })).key)
    await server.inject({ method: 'POST', url: '/v1/invalidate', payload: { tags: ['t'], namespace: 'ns' } })
    await bravo.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: 'ns' } })
    await server.inject({ method: 'POST', url: '/v1/clear', payload: { namespace: 'other' } })

    const mine = await server.inject({ method: 'GET', url: '/v1/audit' })
    expect(mine.statusCode).toBe(200)
    const events = (mine.json() as { events: { action: string; tenant: string; target: string; keyId: string; at: number; id: number }[] }).events
    expect(events.map((event) => [event.action, event.target])).toEqual([
      ['cache.clear', 'namespace=other'],
      ['cache.invalidate', 'namespace=ns tags=t'],
    ])
    expect(events.every((event) => event.tenant === 'acme' && event.keyId === server.created.id)).toBe(true)
    const theirs = (await bravo.inject({ method: 'GET', url: '/v1/audit' })).json() as { events: { tenant: string; action: string }[] }
    expect(theirs.events.map((event) => [event.tenant, event.action])).toEqual([['bravo', 'cache.clear']])

    const limited = (await server.inject({ method: 'GET', url: '/v1/audit?limit=1' })).json() as { events: unknown[] }
    expect(limited.events).toHaveLength(1)
    const later = (await server.inject({ method: 'GET', url: `/v1/audit?since=${Date.now() + 60_000}` })).json() as { events: unknown[] }
    expect(later.events).toEqual([])
  })

  it('refuses a read-only or write key with 403, and bad parameters with 400', async () => {
    for (const roles of [['read'], ['read', 'write']]) {
      const key = await server.createKey({ roles })
      expectError(await server.app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(key.key) }), 403, 'TC_FORBIDDEN')
    }
    for (const query of ['?limit=0', '?limit=1001', '?limit=x', '?since=-1', '?since=1e3', '?tenant=bravo', '?limit=1&limit=2']) {
      expectError(await server.inject({ method: 'GET', url: `/v1/audit${query}` }), 400, 'TC_BAD_REQUEST')
    }
  })
})

describe('route declarations', () => {
  it('refuses to register a /v1 route that declares no access, and a server without credentials', async () => {
    const cache = createCache({ l3: false })
    const app = await buildKeyedServer({ cache, closeCacheOnClose: true })
    try {
      expect(() => app.app.get('/v1/extra', () => 'unguarded')).toThrow(/declares no access/)
      app.app.get('/v1/extra', { config: { access: { role: 'admin' } } }, () => ({ guarded: true }))
      expect((await app.inject({ method: 'GET', url: '/v1/extra' })).json()).toEqual({ guarded: true })
      expect((await app.app.inject({ method: 'GET', url: '/v1/extra' })).statusCode).toBe(401)
    } finally {
      await app.close()
    }
    const bare = createCache({ l3: false })
    try {
      await expect(buildServer({ cache: bare, credentials: undefined as unknown as CredentialStore })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    } finally {
      await bare.close()
    }
  })
})
