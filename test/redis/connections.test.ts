import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCache, isTiercacheError } from '../../src/index.js'
import { createRedisBus, createRedisConnections, createRedisLock, createRedisTier } from '../../src/redis.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'

// The Redis connections a cache opens, as the server sees them (CLIENT LIST). Test files run one
// after another (vitest.config.ts), and the test Redis db is this run's own, so the connections of
// that db named tiercache:* are the ones opened here.
const db = Number(new URL(TEST_REDIS_URL).pathname.slice(1) || '0')
let admin: Redis
beforeAll(() => {
  admin = new Redis(TEST_REDIS_URL)
})
afterAll(async () => {
  await admin.quit()
})

/** The names of the connections on the test db named tiercache:*, sorted; the admin's is unnamed. */
async function tiercacheConnections(): Promise<string[]> {
  const list = String(await admin.client('LIST'))
  return list
    .split('\n')
    .filter((line) => line.includes(` db=${db} `))
    .map((line) => / name=(\S*)/.exec(line)?.[1] ?? '')
    .filter((name) => name.startsWith('tiercache'))
    .sort()
}

describe('the Redis connections of a cache', () => {
  it('are one command connection and one subscriber, closed with the cache', async () => {
    const before = await tiercacheConnections()
    const prefix = `conn${randomUUID().slice(0, 8)}`
    const cache = createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false })
    try {
      // Every user of Redis at work: the tier (get, set), the bus (listening), the lock (acquire) and
      // its waiters (a lock held elsewhere makes getOrSet wait for its release).
      await vi.waitFor(() => expect(cache.busState).toBe('listening'))
      await admin.set(`${prefix}:lock:default:held`, 'elsewhere', 'PX', 300)
      expect(await cache.getOrSet('held', () => 'v')).toBe('v')
      await cache.set('k', 1)
      expect(await cache.get('k')).toBe(1)
      const during = await tiercacheConnections()
      expect(during.length - before.length, during.join(', ')).toBe(2)
    } finally {
      await cache.close()
    }
    expect(await tiercacheConnections()).toEqual(before)
  })
})

describe('connections given by the caller', () => {
  it('a client passed to createCache gets commands and a duplicate subscriber, and is never closed', async () => {
    const client = new Redis(TEST_REDIS_URL, { connectionName: 'tiercache:test:given' })
    try {
      await client.ping()
      const before = await tiercacheConnections()
      const prefix = `conn${randomUUID().slice(0, 8)}`
      const cache = createCache({ l2: { redis: client, prefix }, l3: false })
      await vi.waitFor(() => expect(cache.busState).toBe('listening'))
      await admin.set(`${prefix}:lock:default:held`, 'elsewhere', 'PX', 300)
      expect(await cache.getOrSet('held', () => 'v')).toBe('v')
      const during = await tiercacheConnections()
      expect(during.length - before.length, during.join(', ')).toBe(1)
      await cache.close()
      expect(await tiercacheConnections()).toEqual(before)
      expect(await client.ping()).toBe('PONG')
    } finally {
      await client.quit()
    }
  })

  it('one createRedisConnections serves a tier, a bus and a lock, and closes with the last of them', async () => {
    const before = await tiercacheConnections()
    const connections = createRedisConnections(TEST_REDIS_URL, { name: `test-${randomUUID()}` })
    const prefix = `conn${randomUUID().slice(0, 8)}`
    const tier = createRedisTier({ connection: connections, prefix })
    const bus = createRedisBus({ connection: connections, channel: `${prefix}:bus` })
    const lock = createRedisLock({ connection: connections, prefix: `${prefix}:lock:`, channel: `${prefix}:lock-released` })
    await bus.start({ message() {}, deaf() {}, listening() {} })
    const token = await lock.acquire('k', 1_000)
    expect(token).toBeDefined()
    const waited = lock.waitForRelease('k', 5_000)
    await lock.release('k', token ?? '')
    await waited
    expect(await tier.count()).toBe(0)
    const names = await tiercacheConnections()
    expect(names.length - before.length, names.join(', ')).toBe(2)
    expect(names).toEqual(expect.arrayContaining([`tiercache:cmd:${connections.name}`, `tiercache:sub:${connections.name}`]))
    await Promise.all([tier.close(), bus.close()])
    expect(connections.closed).toBe(false)
    expect(await lock.acquire('k2', 1_000)).toBeDefined()
    await lock.close()
    expect(connections.closed).toBe(true)
    expect(await tiercacheConnections()).toEqual(before)
    expect(() => createRedisTier({ connection: connections, prefix })).toThrow(expect.toSatisfy((error) => isTiercacheError(error, 'TC_CACHE_CLOSED')))
  })
})

describe('a cache that cannot be created', () => {
  it('throws for a malformed TIERCACHE_KEYS, and leaves no Redis connection open', async () => {
    const before = await tiercacheConnections()
    const prefix = `conn${randomUUID().slice(0, 8)}`
    vi.stubEnv('TIERCACHE_KEYS', 'k1:not-a-key')
    try {
      expect(() => createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false })).toThrow(
        expect.toSatisfy((error) => isTiercacheError(error, 'TC_INVALID_OPTIONS') && /TIERCACHE_KEYS entry 1/.test(String(error))),
      )
    } finally {
      vi.unstubAllEnvs()
    }
    // A cache made meanwhile, once its connections are up: a refused one that opened its own would
    // have them up by then too.
    const cache = createCache({ l2: { redis: TEST_REDIS_URL, prefix }, l3: false })
    try {
      await vi.waitFor(() => expect(cache.busState).toBe('listening'))
      await cache.set('k', 1)
      expect((await tiercacheConnections()).length - before.length).toBe(2)
    } finally {
      await cache.close()
    }
    expect(await tiercacheConnections()).toEqual(before)
  })
})
