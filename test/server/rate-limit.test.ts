import { randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { type BuildServerOptions, buildServer } from '../../src/server/index.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { type KeyStore, type TestServer, bearer, entryUrl, expectError, keyed, openKeyStore, openServer } from './helpers.js'

const MINUTE = 60_000
/** A plan small enough to reach: 3 requests, then one every 20 s. */
const TINY = { limit: 3, windowMs: MINUTE }

const opened: { close(): Promise<void> }[] = []
afterEach(async () => {
  for (const item of opened.splice(0).reverse()) await item.close()
})

async function server(rateLimits: BuildServerOptions['rateLimits']): Promise<TestServer> {
  const created = await openServer({}, { rateLimits })
  opened.push(created)
  return created
}

const stats = (app: { inject: TestServer['inject'] }) => app.inject({ method: 'GET', url: '/v1/stats' })

describe('rate limits per key (in process)', () => {
  it('allows the plan, then answers 429 TC_RATE_LIMITED with Retry-After, and records the refusal', async () => {
    const s = await server({ plans: { free: TINY } })
    const limited = keyed(s.app, (await s.createKey({ plan: 'free' })).key)
    for (let remaining = 2; remaining >= 0; remaining--) {
      const response = await stats(limited)
      expect(response.statusCode).toBe(200)
      expect(response.headers['ratelimit-limit']).toBe('3')
      expect(response.headers['ratelimit-remaining']).toBe(String(remaining))
      expect(Number(response.headers['ratelimit-reset'])).toBeGreaterThan(0)
      expect(Number(response.headers['ratelimit-reset'])).toBeLessThanOrEqual(60)
    }
    const limitedKey = await s.credentials.verify(limited.key)
    const refused = await limited.inject({ method: 'PUT', url: entryUrl('ns', 'k'), payload: { value: 'not stored' }, headers: { 'user-agent': 'hammer/1' } })
    expectError(refused, 429, 'TC_RATE_LIMITED')
    // A whole number of seconds (RFC 9110 §10.2.3), rounded up: 20 s until one more request is allowed.
    expect(refused.headers['retry-after']).toBe('20')
    expect(refused.headers['ratelimit-remaining']).toBe('0')
    // Refused before anything happened.
    expect(await s.view.namespace('ns').get('k')).toBeUndefined()
    const [event] = await s.audit.query({ tenant: 'acme' })
    expect(event).toMatchObject({
      action: 'rate_limit.refusal',
      outcome: 'denied',
      keyId: limitedKey?.id,
      tenant: 'acme',
      target: 'PUT /v1/entries/:namespace/:key',
      userAgent: 'hammer/1',
      detail: 'plan=free limit=3',
    })

    // Another key of the same tenant has a budget of its own; the refused key stays refused.
    const other = keyed(s.app, (await s.createKey({ plan: 'free' })).key)
    expect((await stats(other)).statusCode).toBe(200)
    expectError(await stats(limited), 429, 'TC_RATE_LIMITED')
  })

  it('takes the plan from the key: unlimited keys carry no headers, unknown plans get the free plan', async () => {
    const s = await server({ plans: { free: TINY, gold: { limit: 100, windowMs: MINUTE }, unlimited: 'unlimited' } })
    const gold = await stats(keyed(s.app, (await s.createKey({ plan: 'gold' })).key))
    expect(gold.headers['ratelimit-limit']).toBe('100')
    const unlimited = keyed(s.app, (await s.createKey({ plan: 'unlimited' })).key)
    for (let i = 0; i < 10; i++) {
      const response = await stats(unlimited)
      expect(response.statusCode).toBe(200)
      expect(response.headers['ratelimit-limit']).toBeUndefined()
    }
    const unknown = await stats(keyed(s.app, (await s.createKey({ plan: 'platinum' })).key))
    expect(unknown.headers['ratelimit-limit']).toBe('3')
  })

  it('refuses a key whose plan is unknown when there is no free plan to fall back on', async () => {
    const s = await server({ plans: { pro: TINY } })
    expectError(await stats(keyed(s.app, (await s.createKey({ plan: 'platinum' })).key)), 403, 'TC_FORBIDDEN')
    expect((await stats(keyed(s.app, (await s.createKey({ plan: 'pro' })).key))).statusCode).toBe(200)
  })

  it('uses the default plans when none are given (free: 1,000 an hour), and none with rateLimits: false', async () => {
    const defaults = await server(undefined)
    const free = await stats(keyed(defaults.app, (await defaults.createKey({ plan: 'free' })).key))
    expect([free.headers['ratelimit-limit'], free.headers['ratelimit-remaining']]).toEqual(['1000', '999'])
    expect(Number(free.headers['ratelimit-reset'])).toBe(4)
    const pro = await stats(keyed(defaults.app, (await defaults.createKey({ plan: 'pro' })).key))
    expect(pro.headers['ratelimit-limit']).toBe('5000')

    const off = await server(false)
    const response = await stats(keyed(off.app, (await off.createKey({ plan: 'free' })).key))
    expect(response.statusCode).toBe(200)
    expect(response.headers['ratelimit-limit']).toBeUndefined()
  })

  it('sends no rate-limit headers with a 401: there is no key to count', async () => {
    const s = await server({ plans: { free: TINY } })
    const response = await s.app.inject({ method: 'GET', url: '/v1/stats' })
    expect(response.statusCode).toBe(401)
    expect(response.headers['ratelimit-limit']).toBeUndefined()
  })

  it('refuses invalid plans at start', async () => {
    const cache = createCache({ l3: false })
    const store = await openKeyStore()
    try {
      for (const plans of [{}, { free: { limit: 0, windowMs: 1 } }, { 'a b': 'unlimited' }, { free: { limit: 1 } }]) {
        await expect(buildServer({ cache, credentials: store.credentials, rateLimits: { plans: plans as never } })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
      }
    } finally {
      await cache.close()
      await store.close()
    }
  })
})

describe('rate limits per key in Redis, shared by every instance', () => {
  const prefix = `tc-test-server-rl-${randomUUID().slice(0, 8)}`
  const dir = mkdtempSync(join(tmpdir(), 'tiercache-rl-'))
  let store: KeyStore

  afterAll(async () => {
    const client = new Redis(TEST_REDIS_URL)
    try {
      let cursor = '0'
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000)
        if (keys.length > 0) await client.del(...keys)
        cursor = next
      } while (cursor !== '0')
    } finally {
      client.disconnect()
      rmSync(dir, { recursive: true, force: true })
    }
  })

  /** An instance with a cache of its own on the shared SQLite file, counting in the shared Redis. */
  async function instance(redis: string | Redis) {
    const cache = createCache({ l3: { sqlite: join(dir, 'cache.db'), cleanupInterval: 0 } })
    const app = await buildServer({ cache, credentials: store.credentials, audit: store.audit, rateLimits: { plans: { free: TINY }, redis, prefix } })
    const closing = { close: async () => (await app.close(), await cache.close()) }
    opened.push(closing)
    return app
  }

  it('two server instances share one key\'s limit, and the refusal is audited', async () => {
    store = await openKeyStore(join(dir, 'cache.db'))
    opened.push(store)
    const first = await instance(TEST_REDIS_URL)
    const client = new Redis(TEST_REDIS_URL)
    opened.push({ close: async () => client.disconnect() })
    // One instance opens its own client from the URL, the other is given one.
    const second = await instance(client)
    const { key, id } = await store.createKey({ plan: 'free' })
    const answers = [first, second, first].map((app) => app.inject({ method: 'GET', url: '/v1/stats', headers: bearer(key) }))
    for (const answer of await Promise.all(answers)) expect(answer.statusCode).toBe(200)
    const refused = await second.inject({ method: 'GET', url: '/v1/stats', headers: bearer(key) })
    expectError(refused, 429, 'TC_RATE_LIMITED')
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(19)
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(20)
    expectError(await first.inject({ method: 'GET', url: '/v1/stats', headers: bearer(key) }), 429, 'TC_RATE_LIMITED')
    // The count is in Redis, under the prefix, by key id.
    expect(await client.exists(`${prefix}:rl:{${id}}`)).toBe(1)
    const events = await store.audit.query({ tenant: 'acme' })
    // Each instance records a key's first refusal of the minute (and counts the ones after it).
    expect(events.filter((event) => event.action === 'rate_limit.refusal' && event.keyId === id)).toHaveLength(2)
  })
})
