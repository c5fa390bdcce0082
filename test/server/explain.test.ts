import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import type { Explanation } from '../../src/cache/explain.js'
import { type TestServer, bearer, entryUrl, expectError, get, openServer, put } from './helpers.js'

let server: TestServer
beforeEach(async () => {
  server = await openServer()
})
afterEach(async () => {
  await server.close()
})

async function explain(key: string, headers: Record<string, string> = {}, namespace = 'ns'): Promise<Explanation> {
  const response = await server.inject({ method: 'GET', url: `${entryUrl(namespace, key)}?explain=true`, headers })
  expect(response.statusCode, response.body).toBe(200)
  expect(response.headers['content-type']).toMatch(/^application\/json/)
  return response.json()
}

describe('GET /v1/entries/:namespace/:key?explain=true', () => {
  it('answers where the key is in each tier, in the tenant scope, and counts no lookup', async () => {
    expect((await put(server, 'ns', 'a/b', { value: { fare: 'fare-value-7f3a' }, ttl: '5m', grace: '1h', tags: ['route'] })).statusCode).toBe(204)
    const explained = await explain('a/b')
    expect(explained).toMatchObject({ namespace: 'ns', scope: 'tenant', key: 'a/b', answer: 'fresh', source: 'l1', removals: [], bus: 'none' })
    expect(explained.tiers).toMatchObject([
      { level: 'l1', kind: 'memory', state: 'present', freshness: 'fresh', tags: ['route'], graceRemainingMs: 3_600_000 },
      { level: 'l3', kind: 'sqlite', state: 'present', freshness: 'fresh', tags: ['route'], sealed: true, circuit: 'closed' },
    ])
    // No value in an explanation (a string no timestamp can contain, as 420 could).
    expect(JSON.stringify(explained)).not.toContain('fare-value-7f3a')
    const stats = (await server.inject({ method: 'GET', url: '/v1/stats' })).json() as { totals: { requests: number } }
    expect(stats.totals.requests).toBe(0)
  })

  it('answers 200 for a key never stored, and says which removal took one away', async () => {
    expect(await explain('never')).toMatchObject({ answer: 'miss', removals: [] })
    await put(server, 'ns', 'k', { value: 1, tags: ['t'] })
    await server.inject({ method: 'POST', url: '/v1/purge', payload: { tags: ['t'], namespace: 'ns' } })
    expect((await get(server, 'ns', 'k')).statusCode).toBe(404)
    expect((await explain('k')).lastRemoval).toMatchObject({ kind: 'tags', tag: 't', remote: false, tiers: ['l1', 'l3'], certain: true })
    await put(server, 'ns', 'k', { value: 2 })
    await server.inject({ method: 'DELETE', url: entryUrl('ns', 'k') })
    expect((await explain('k')).lastRemoval).toMatchObject({ kind: 'delete' })
  })

  it('leaves the common read as it was, and explain=false is a read', async () => {
    await put(server, 'ns', 'k', { value: 'v' })
    for (const query of ['', '?explain=false', '?allowStale=true&explain=false']) {
      const response = await get(server, 'ns', 'k', query)
      expect(response.statusCode).toBe(200)
      expect(Object.keys(response.json() as object)).toEqual(['value', 'source', 'stale', 'ageMs', 'freshUntil'])
    }
    expectError(await get(server, 'ns', 'missing', '?explain=false'), 404, 'TC_NOT_FOUND')
  })

  it('checks the key, the role and the tenant as the read route does', async () => {
    expectError(await get(server, 'ns', 'k', '?explain=yes'), 400, 'TC_BAD_REQUEST')
    expectError(await server.inject({ method: 'GET', url: `${entryUrl('ns', 'k'.repeat(1025))}?explain=true` }), 400, 'TC_INVALID_KEY')
    expectError(await server.app.inject({ method: 'GET', url: `${entryUrl('ns', 'k')}?explain=true` }), 401, 'TC_UNAUTHORIZED')
    const writer = await server.createKey({ roles: ['write'] })
    expectError(await server.app.inject({ method: 'GET', url: `${entryUrl('ns', 'k')}?explain=true`, headers: bearer(writer.key) }), 403, 'TC_FORBIDDEN')
    const other = await server.createKey({ tenant: 'globex' })
    expectError(
      await server.app.inject({ method: 'GET', url: `${entryUrl('ns', 'k')}?explain=true`, headers: { ...bearer(other.key), 'x-tiercache-tenant': 'acme' } }),
      403,
      'TC_FORBIDDEN',
    )
  })

  it('explains in the tenant the key acts on: its own, or the one a service key names', async () => {
    await put(server, 'ns', 'k', { value: 1 })
    const globex = await server.createKey({ tenant: 'globex' })
    const theirs = await explain('k', bearer(globex.key))
    expect(theirs.answer).toBe('miss')
    expect(theirs.tiers.map((tier) => tier.state)).toEqual(['absent', 'absent'])
    const service = await server.createKey({ tenant: 'ops', roles: ['read', 'service'] })
    expect(await explain('k', { ...bearer(service.key), 'x-tiercache-tenant': 'acme' })).toMatchObject({ answer: 'fresh', scope: 'tenant' })
  })
})
