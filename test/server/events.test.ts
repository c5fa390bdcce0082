import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { definePolicy } from '../../src/index.js'
import { type KeyedApp, type TestServer, bearer, expectError, keyed, openServer, raw } from './helpers.js'

const policy = definePolicy({
  rules: {
    'flight.updated': { params: ['id'], tags: ['flight:{id}'], in: ['flights'], namespaces: ['flight_search', 'flight_status'] },
    'template.updated': { params: ['id'], tags: ['template:{id}'], namespaces: ['recommendations'], description: 'a wedding template changed' },
    'board.reloaded': { params: ['gate'], namespaces: ['board_{gate}'] },
  },
})

/** Entries as `[namespace, key, tags]`, written in each scope. */
const SEEDS: readonly (readonly [string, string, readonly string[]])[] = [
  ['flights', 'BA117', ['flight:BA117']],
  ['flights', 'BA118', ['flight:BA118']],
  ['bookings', 'b1', ['flight:BA117']],
  ['flight_search', 'LHR-JFK', []],
  ['flight_status', 'BA118', ['flight:BA118']],
  ['templates', 'rustic', ['template:t1']],
  ['default', 'rustic', ['template:t1']],
  ['recommendations', 'for-you', []],
]

let server: TestServer
let bravo: Cache
let bravoApp: KeyedApp
let readOnly: KeyedApp
let writeOnly: KeyedApp
let service: KeyedApp

beforeAll(async () => {
  server = await openServer({ policies: policy }, { policy })
  bravo = server.cache.withContext({ role: 'authenticated', tenantId: 'bravo' })
  bravoApp = keyed(server.app, (await server.createKey({ tenant: 'bravo', roles: ['read', 'write'] })).key)
  readOnly = keyed(server.app, (await server.createKey({ roles: ['read'] })).key)
  writeOnly = keyed(server.app, (await server.createKey({ roles: ['write'] })).key)
  service = keyed(server.app, (await server.createKey({ tenant: 'ops', roles: ['service', 'write'] })).key)
})
afterAll(() => server.close())

async function seed(view: Cache): Promise<void> {
  for (const [namespace, key, tags] of SEEDS) await view.namespace(namespace).set(key, `${namespace}/${key}`, { ttl: '1h', tags: [...tags] })
}

/** The seeds still in `view`, as `namespace/key`. */
async function remaining(view: Cache): Promise<string[]> {
  const found = await Promise.all(SEEDS.map(async ([namespace, key]) => ((await view.namespace(namespace).get(key)) === undefined ? [] : [`${namespace}/${key}`])))
  return found.flat()
}

const ALL = SEEDS.map(([namespace, key]) => `${namespace}/${key}`)
const emit = (app: KeyedApp, body: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/events', payload: body as object, headers })

describe('POST /v1/events', () => {
  it("invalidates what the rule names in the caller's tenant only", async () => {
    await Promise.all([seed(server.view), seed(bravo), seed(server.cache)])
    const response = await emit(server, { event: 'flight.updated', params: { id: 'BA117' } })
    expect(response.statusCode, response.body).toBe(200)
    expect(response.json()).toEqual({
      event: 'flight.updated',
      invalidated: { tags: ['flight:BA117'], namespaces: ['flight_search', 'flight_status'], tagsIn: ['flights'] },
    })
    expect(await remaining(server.view)).toEqual(ALL.filter((entry) => !['flights/BA117', 'flight_search/LHR-JFK', 'flight_status/BA118'].includes(entry)))
    // Tenant bravo's entries, and the public ones, named and tagged alike, are all still there.
    expect(await remaining(bravo)).toEqual(ALL)
    expect(await remaining(server.cache)).toEqual(ALL)
  })

  it("removes a rule's tags without in in the body's namespace, else the default one", async () => {
    await seed(server.view)
    const inTemplates = await emit(server, { event: 'template.updated', params: { id: 't1' }, namespace: 'templates' })
    expect(inTemplates.json()).toEqual({ event: 'template.updated', invalidated: { tags: ['template:t1'], namespaces: ['recommendations'] } })
    expect(await remaining(server.view)).toEqual(ALL.filter((entry) => !['templates/rustic', 'recommendations/for-you'].includes(entry)))
    await seed(server.view)
    expect((await emit(server, { event: 'template.updated', params: { id: 't1' } })).statusCode).toBe(200)
    expect(await remaining(server.view)).toEqual(ALL.filter((entry) => !['default/rustic', 'recommendations/for-you'].includes(entry)))
  })

  it('lets a service key emit for the tenant it names, and only there', async () => {
    await Promise.all([seed(server.view), seed(bravo)])
    const response = await emit(service, { event: 'flight.updated', params: { id: 'BA117' } }, { 'x-tiercache-tenant': 'bravo' })
    expect(response.statusCode, response.body).toBe(200)
    expect(await remaining(bravo)).toEqual(ALL.filter((entry) => !['flights/BA117', 'flight_search/LHR-JFK', 'flight_status/BA118'].includes(entry)))
    expect(await remaining(server.view)).toEqual(ALL)
    // A tenant's own key may not name another tenant.
    expectError(await emit(bravoApp, { event: 'flight.updated', params: { id: 'BA117' } }, { 'x-tiercache-tenant': 'acme' }), 403, 'TC_FORBIDDEN')
  })

  it('records the invalidation in the audit log', async () => {
    expect((await emit(bravoApp, { event: 'board.reloaded', params: { gate: 'B12' } })).statusCode).toBe(200)
    await emit(service, { event: 'flight.updated', params: { id: 'BA999' } }, { 'x-tiercache-tenant': 'acme' })
    const audit = await server.inject({ method: 'GET', url: '/v1/audit?limit=5' })
    const events = (audit.json() as { events: { action: string; outcome: string; tenant: string; target: string; detail: string | null }[] }).events
    expect(events[0]).toMatchObject({
      action: 'cache.invalidate',
      outcome: 'ok',
      tenant: 'acme',
      target: 'event=flight.updated tags=flight:BA999 in=flights namespaces=flight_search,flight_status',
      detail: 'by a service key of tenant ops',
    })
    // Bravo's event is bravo's, not acme's to read.
    expect(events.some((event) => event.target.includes('board.reloaded'))).toBe(false)
  })

  it('answers 404 TC_UNKNOWN_EVENT for an event no rule declares', async () => {
    await seed(server.view)
    const response = await emit(server, { event: 'flight.cancelled', params: { id: 'BA117' } })
    expectError(response, 404, 'TC_UNKNOWN_EVENT')
    expect(response.json().error.message).toMatch(/no rule for event "flight\.cancelled"; events: board\.reloaded, flight\.updated, template\.updated/)
    expect(await remaining(server.view)).toEqual(ALL)
  })

  it('answers 400 TC_BAD_REQUEST for a param the rule lacks or cannot use, removing nothing', async () => {
    await seed(server.view)
    const missing = await emit(server, { event: 'flight.updated', params: { ID: 'BA117' } })
    expectError(missing, 400, 'TC_BAD_REQUEST')
    expect(missing.json().error.message).toBe('body.params: param id is required by event flight.updated')
    expectError(await emit(server, { event: 'flight.updated' }), 400, 'TC_BAD_REQUEST')
    const spaced = await emit(server, { event: 'board.reloaded', params: { gate: 'B 12' } })
    expectError(spaced, 400, 'TC_BAD_REQUEST')
    expect(spaced.json().error.message).toMatch(/goes into a namespace/)
    expectError(await emit(server, { event: 'flight.updated', params: { id: '' } }), 400, 'TC_BAD_REQUEST')
    expect(await remaining(server.view)).toEqual(ALL)
  })

  it('answers 400 for malformed bodies, naming the field', async () => {
    const cases: [unknown, string, RegExp][] = [
      [{}, 'TC_BAD_REQUEST', /body\.event: is required/],
      [{ event: 42 }, 'TC_BAD_REQUEST', /body\.event: must be a string/],
      [{ event: 'flight updated' }, 'TC_BAD_REQUEST', /body\.event: must be dotted words/],
      [{ event: 'flight.updated', params: ['BA117'] }, 'TC_BAD_REQUEST', /body\.params/],
      [{ event: 'flight.updated', params: { id: true } }, 'TC_BAD_REQUEST', /body\.params\.id: must be a string or a finite number/],
      [{ event: 'flight.updated', params: { id: 'x'.repeat(1025) } }, 'TC_BAD_REQUEST', /body\.params\.id/],
      [{ event: 'flight.updated', params: { id: 'BA117' }, tenant: 'bravo' }, 'TC_BAD_REQUEST', /tenant/],
      [{ event: 'flight.updated', params: { id: 'BA117' }, namespace: '~bravo~flights' }, 'TC_INVALID_NAMESPACE', /body\.namespace/],
      [[], 'TC_BAD_REQUEST', /body/],
    ]
    for (const [body, code, message] of cases) {
      const response = await emit(server, body)
      expectError(response, 400, code)
      expect(response.json().error.message, JSON.stringify(body)).toMatch(message)
    }
    expectError(await raw(server, 'POST', '/v1/events', '{"event":', 'application/json'), 400, 'TC_BAD_REQUEST')
    expectError(await raw(server, 'POST', '/v1/events', 'flight.updated', 'text/plain'), 415, 'TC_UNSUPPORTED_MEDIA_TYPE')
  })

  it('needs a key with the write role', async () => {
    expectError(await emit(readOnly, { event: 'flight.updated', params: { id: 'BA117' } }), 403, 'TC_FORBIDDEN')
    expectError(await server.app.inject({ method: 'POST', url: '/v1/events', payload: { event: 'flight.updated', params: { id: 'BA117' } } }), 401, 'TC_UNAUTHORIZED')
    expect((await emit(writeOnly, { event: 'flight.updated', params: { id: 'BA117' } })).statusCode).toBe(200)
  })
})

describe('GET /v1/rules', () => {
  it('lists the rules by event name, with their templates', async () => {
    const response = await readOnly.inject({ method: 'GET', url: '/v1/rules' })
    expect(response.statusCode).toBe(200)
    expect(response.json()).toEqual({
      rules: [
        { event: 'board.reloaded', params: ['gate'], tags: [], namespaces: ['board_{gate}'] },
        { event: 'flight.updated', params: ['id'], tags: ['flight:{id}'], namespaces: ['flight_search', 'flight_status'], in: ['flights'] },
        { event: 'template.updated', params: ['id'], tags: ['template:{id}'], namespaces: ['recommendations'], description: 'a wedding template changed' },
      ],
    })
  })

  it('needs a key with the read role, and takes no tenant header', async () => {
    expectError(await writeOnly.inject({ method: 'GET', url: '/v1/rules' }), 403, 'TC_FORBIDDEN')
    expectError(await server.app.inject({ method: 'GET', url: '/v1/rules', headers: bearer('tc_nope_nope') }), 401, 'TC_UNAUTHORIZED')
    expectError(await service.inject({ method: 'GET', url: '/v1/rules', headers: { 'x-tiercache-tenant': 'acme' } }), 403, 'TC_FORBIDDEN')
  })

  it('is in the OpenAPI document with POST /v1/events', async () => {
    const doc = (await server.inject({ method: 'GET', url: '/openapi.json' })).json() as { paths: Record<string, Record<string, { tags: string[] }>> }
    expect(doc.paths['/v1/events']?.post?.tags).toEqual(['events'])
    expect(doc.paths['/v1/rules']?.get?.tags).toEqual(['events'])
  })
})

describe('a server without a policy', () => {
  it('lists no rules, and answers every event 404 TC_UNKNOWN_EVENT', async () => {
    const bare = await openServer()
    try {
      expect((await bare.inject({ method: 'GET', url: '/v1/rules' })).json()).toEqual({ rules: [] })
      const response = await bare.inject({ method: 'POST', url: '/v1/events', payload: { event: 'flight.updated', params: { id: 'BA117' } } })
      expectError(response, 404, 'TC_UNKNOWN_EVENT')
      expect(response.json().error.message).toMatch(/this cache has no policy layer/)
    } finally {
      await bare.close()
    }
  })
})
