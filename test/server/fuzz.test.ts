import type { InjectOptions } from 'fastify'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type TestServer, bearer, entryUrl, expectStored, keyed, openServer, prng } from './helpers.js'

// A seeded fuzz loop: random routes, params, content types, bodies and credentials, valid and not.
// Every answer must be 2xx, or 4xx with a coded JSON error; never 5xx, never a crash. Sentinel
// entries in a namespace the fuzz never names, one of the fuzzing tenant and one of a tenant whose
// key the fuzz never sends, must survive untouched.
// FUZZ_SEED=<n> runs another sequence and prints how many answers each status got.
const SEED = Number(process.env.FUZZ_SEED ?? 0x7c_ac_4e)
const ROUNDS = 800

const SENTINEL = { untouchable: ['yes', 1, null] }
const VICTIM_SENTINEL = { tenant: 'victim', secret: 42 }

let server: TestServer
/** Keys the fuzz sends besides the default one: read-only, of another tenant, a service key, a revoked one. */
let keys: { readOnly: string; otherTenant: string; service: string; revoked: string }
let victimKey: string
beforeAll(async () => {
  server = await openServer()
  expect((await server.inject({ method: 'PUT', url: entryUrl('sentinel', 'keep'), payload: { value: SENTINEL } })).statusCode).toBe(204)
  const revoked = await server.createKey()
  await server.credentials.revoke(revoked.id)
  keys = {
    readOnly: (await server.createKey({ roles: ['read'] })).key,
    otherTenant: (await server.createKey({ tenant: 'bravo' })).key,
    service: (await server.createKey({ tenant: 'ops', roles: ['read', 'write', 'admin', 'service'] })).key,
    revoked: revoked.key,
  }
  victimKey = (await server.createKey({ tenant: 'victim' })).key
  const victim = keyed(server.app, victimKey)
  expect((await victim.inject({ method: 'PUT', url: entryUrl('sentinel', 'keep'), payload: { value: VICTIM_SENTINEL } })).statusCode).toBe(204)
})
afterAll(async () => {
  await server.close()
})

const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

/** encodeURIComponent, except that a lone surrogate is sent as a sloppy client would: its 3 UTF-8-style bytes. */
function encode(text: string): string {
  return text
    .split(LONE_SURROGATE)
    .map((part) => encodeURIComponent(part))
    .join('%ED%A0%80')
}

const path = (namespace: string, key: string) => `/v1/entries/${encode(namespace)}/${encode(key)}`

function generator(random: () => number) {
  const int = (max: number) => Math.floor(random() * max)
  const pick = <T>(items: readonly T[]): T => items[int(items.length)] as T
  const chars = ['a', 'Z', '0', '/', '%', ' ', '?', '#', '&', '=', '+', ';', '.', ':', '\u0000', '\n', 'é', '€', '😀', '\ud800', '\udfff', '"', '\\', '\u2028']
  const text = (max: number) => Array.from({ length: int(max + 1) }, () => pick(chars)).join('')
  // Mostly valid names and keys, so that the accepting paths run as well as the rejecting ones.
  const namespace = () => (random() < 0.7 ? pick(['ns', 'other', 'a.b-c_d']) : pick(['', 'bad ns', 'n$', 'x'.repeat(129), text(5)]))
  const key = () => (random() < 0.6 ? pick(['k', 'a/b', 'user:42', 'é 😀', '%2F', 'k'.repeat(int(1100))]) : pick([text(8), '', 'x'.repeat(int(20_000)), text(40)]))
  /** A user id: mostly a valid one, else empty, overlong, not a string, or with lone surrogates. */
  const userId = (): unknown =>
    random() < 0.7 ? pick(['alice', 'bob@example.com', '~acme~', 'a/b', '%2F', '\u0000', 'аlice', text(10)]) : pick<unknown>(['', 'u'.repeat(257 + int(10_000)), 42, null, [], {}, '\ud800', text(300)])
  const duration = () => (random() < 0.6 ? pick<unknown>([1 + int(100_000), '5m', '1h', '3.5s']) : pick<unknown>([-int(10), 0, 'soon', '', true, null, {}, [], 1e30, text(4)]))

  function json(depth: number): unknown {
    switch (int(depth > 2 ? 5 : 8)) {
      case 0:
        return null
      case 1:
        return random() < 0.5
      case 2:
        return pick([0, -1, 1.5, 1e300, -1e-300, int(1e9)])
      case 3:
        return text(12)
      case 4:
        return pick(['', 'value', '{"not": "parsed"}'])
      case 5:
        return Array.from({ length: int(4) }, () => json(depth + 1))
      default: {
        const object: Record<string, unknown> = {}
        for (let i = int(4); i > 0; i--) object[pick(['a', 'value', 'ttl', 'tags', 'keys', text(3)])] = json(depth + 1)
        return object
      }
    }
  }

  function putBody(): unknown {
    const body: Record<string, unknown> = {}
    if (random() < 0.85) body.value = json(0)
    if (random() < 0.4) body.ttl = duration()
    if (random() < 0.3) body.grace = duration()
    if (random() < 0.4) body.tags = random() < 0.8 ? Array.from({ length: int(5) }, () => (random() < 0.7 ? pick(['t', 'u', 'route:1']) : text(6))) : json(1)
    if (random() < 0.1) body[text(3)] = json(1)
    return random() < 0.1 ? json(0) : body
  }

  function payload(body: unknown): Pick<InjectOptions, 'payload' | 'headers'> {
    const roll = random()
    if (roll < 0.75) return { payload: JSON.stringify(body) ?? 'null', headers: { 'content-type': 'application/json' } }
    if (roll < 0.85) return { payload: JSON.stringify(body)?.slice(0, int(20)) ?? '', headers: { 'content-type': 'application/json' } }
    if (roll < 0.92) return { payload: text(20), headers: { 'content-type': pick(['text/plain', 'application/xml', 'application/json; charset=latin1', 'multipart/form-data']) } }
    return { payload: JSON.stringify(body) ?? '' }
  }

  /** Mostly the default key, else another key, a damaged one, another scheme, or none. */
  function authorization(): Record<string, string> {
    const roll = random()
    if (roll < 0.7) return bearer(server.key)
    const damaged = server.key.slice(0, -1) + (server.key.endsWith('A') ? 'B' : 'A')
    const value = pick<string | undefined>([
      undefined,
      '',
      'Bearer',
      'Bearer ',
      `Bearer ${keys.readOnly}`,
      `Bearer ${keys.otherTenant}`,
      `Bearer ${keys.service}`,
      `Bearer ${keys.revoked}`,
      `Bearer ${damaged}`,
      `bearer ${server.key}`,
      `Bearer  ${server.key} `,
      `Bearer ${server.key} extra`,
      `Basic ${Buffer.from(`acme:${server.key}`).toString('base64')}`,
      `Bearer ${text(30)}`,
      `Bearer tc_tck_aaaaaaaaaaaa_${'A'.repeat(43)}`,
      `Bearer ${'x'.repeat(int(10_000))}`,
      server.key,
    ])
    return value === undefined ? {} : { authorization: value }
  }

  /** Sometimes a tenant header: refused unless a service key sends it on a route that allows it. */
  function tenantHeader(): Record<string, string> {
    if (random() >= 0.1) return {}
    return { 'x-tiercache-tenant': pick(['acme', 'bravo', 'victim', 'fuzz-t', '', 'a b', '~acme~', 'а', 'x'.repeat(65), text(6)]) }
  }

  function request(): InjectOptions {
    const options = route()
    // Header values must be latin1 to be sent at all: the fuzz's unicode goes into URLs and bodies.
    const headers = Object.fromEntries(
      Object.entries({ ...(options.headers as Record<string, string> | undefined), ...authorization(), ...tenantHeader() }).filter(([, value]) => /^[\t\x20-\x7e\x80-\xff]*$/.test(value)),
    )
    return { ...options, headers }
  }

  function route(): InjectOptions {
    const query = random() < 0.2 ? pick(['?allowStale=true', '?allowStale=1', '?x=y', '?allowStale=true&allowStale=true', `?${encode(text(5))}=${encode(text(3))}`]) : ''
    switch (int(13)) {
      case 0:
        return { method: 'GET', url: path(namespace(), key()) + query }
      case 1:
        return { method: 'PUT', url: path(namespace(), key()), ...payload(putBody()) }
      case 2:
        return { method: 'DELETE', url: path(namespace(), key()) }
      case 3: {
        const keys = random() < 0.8 ? Array.from({ length: int(6) }, () => key()) : json(1)
        return { method: 'POST', url: `/v1/entries/${encode(namespace())}/batch-get`, ...payload({ keys, allowStale: random() < 0.5 ? true : json(2) }) }
      }
      case 4: {
        const body: Record<string, unknown> = { tags: random() < 0.8 ? Array.from({ length: int(4) }, () => text(5)) : json(1) }
        if (random() < 0.5) body.namespace = namespace()
        return { method: 'POST', url: pick(['/v1/invalidate', '/v1/purge']), ...payload(body) }
      }
      case 5:
        // Raw paths: unencoded, with broken percent-encodings.
        return { method: pick(['GET', 'PUT', 'DELETE', 'POST', 'PATCH']), url: `/v1/entries/${pick(['ns', '%', '%E0%A4', 'ns/x'])}/${pick(['%', '%FF', '%ED%A0%80', 'a%2', encode(text(4))])}` }
      case 6:
        return {
          method: pick(['GET', 'POST', 'OPTIONS', 'HEAD']),
          url: pick(['/v1/stats', '/v1/audit', '/v1/export', '/v1/erase', '/health', '/openapi.json', '/', '/v1', `/${encode(text(6))}`]),
        }
      case 7: {
        const params = [
          random() < 0.5 ? `limit=${pick(['1', '10', '1000', '1001', '0', '-1', 'ten', '1.5', '', '99999999999'])}` : '',
          random() < 0.5 ? `after=${encode(key())}` : '',
          random() < 0.1 ? `${encode(text(3))}=1` : '',
        ].filter((param) => param !== '')
        return { method: 'GET', url: `/v1/entries/${encode(namespace())}${params.length > 0 ? '?' + params.join('&') : ''}` }
      }
      case 8:
        return { method: 'POST', url: '/v1/clear', ...payload(random() < 0.7 ? { namespace: namespace() } : json(1)) }
      case 9: {
        const params = [
          random() < 0.5 ? `since=${pick(['0', String(Date.now()), '-5', 'yesterday', '1e3', '9'.repeat(20)])}` : '',
          random() < 0.5 ? `limit=${pick(['1', '1000', '1001', '0', 'x'])}` : '',
        ].filter((param) => param !== '')
        return { method: 'GET', url: `/v1/audit${params.length > 0 ? '?' + params.join('&') : ''}` }
      }
      case 10: {
        // Always naming a user (a valid one or garbage): a bare {} would erase the whole tenant, the
        // sentinel with it. Users' entries are not reachable over HTTP, so a user's erasure leaves the
        // sentinel alone.
        const body = random() < 0.7 ? { userId: userId() } : json(1)
        const named = typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0 ? { userId: userId() } : body
        return { method: pick(['POST', 'POST', 'POST', 'PUT', 'DELETE']), url: '/v1/erase', ...payload(named) }
      }
      case 11: {
        const params = [
          random() < 0.7 ? `userId=${random() < 0.8 ? encode(String(userId())) : pick(['', '%', '%ED%A0%80', '%00', 'a&userId=b', text(4)])}` : '',
          random() < 0.1 ? `${pick(['tenant', 'tenantId', encode(text(3))])}=acme` : '',
        ].filter((param) => param !== '')
        return { method: pick(['GET', 'GET', 'GET', 'HEAD', 'POST']), url: `/v1/export${params.length > 0 ? '?' + params.join('&') : ''}` }
      }
      default:
        return { method: pick(['PUT', 'POST']), url: path('ns', key()), ...payload(json(0)) }
    }
  }
  return { request }
}

describe('fuzz', () => {
  it(`answers ${ROUNDS} random requests with 2xx or coded 4xx, and keeps running`, async () => {
    const { request } = generator(prng(SEED))
    const statuses = new Map<number, number>()
    for (let round = 0; round < ROUNDS; round++) {
      const options = request()
      // The app itself: the fuzz sets (or leaves out) the authorization header on its own.
      const response = await server.app.inject(options)
      const context = `round ${round}: ${options.method} ${String(options.url).slice(0, 200)} → ${response.statusCode} ${response.body.slice(0, 200)}`
      statuses.set(response.statusCode, (statuses.get(response.statusCode) ?? 0) + 1)
      expect(response.statusCode, context).toBeLessThan(500)
      if (response.statusCode >= 400 && options.method !== 'HEAD') {
        const body = response.json() as { error?: { code?: unknown; message?: unknown } }
        expect(body.error?.code, context).toMatch(/^TC_[A-Z_]+$/)
        expect(typeof body.error?.message, context).toBe('string')
      }
      if (response.statusCode === 401) expect(response.headers['www-authenticate'], context).toMatch(/^Bearer realm="tiercache"/)
      // No answer ever echoes a key's secret.
      for (const sent of [server.key, ...Object.values(keys)]) expect(response.body.includes(sent.slice(-43)), context).toBe(false)
    }
    if (process.env.FUZZ_SEED) console.log(JSON.stringify([...statuses]))
    // The fuzz exercised both the accepting and the rejecting paths, authentication's included.
    expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(204) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(401) ?? 0).toBeGreaterThan(0)
    expect(statuses.get(403) ?? 0).toBeGreaterThan(0)
    expect([...statuses.keys()].some((status) => status >= 400 && status !== 401 && status !== 403)).toBe(true)

    const health = await server.app.inject({ method: 'GET', url: '/health' })
    expect(health.statusCode).toBe(200)
    expect(health.json()).toMatchObject({ status: 'ok' })
    await expectStored(server, 'sentinel', 'keep', SENTINEL)
    await expectStored(keyed(server.app, victimKey), 'sentinel', 'keep', VICTIM_SENTINEL)
    // The key still works: no fuzzed request revoked or broke it.
    expect((await server.credentials.verify(server.key))?.tenant).toBe('acme')
  })
})
