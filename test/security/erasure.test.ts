import { randomBytes, randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import type { Cache, CacheCore, ExportedEntry } from '../../src/cache/cache.js'
import { scopeFor, tenantPrefix, userPrefix } from '../../src/cache/scope.js'
import { createCache } from '../../src/index.js'
import { KeyRing } from '../../src/security/crypto/key-ring.js'
import { TEST_POSTGRES_URL, openAdminClient } from '../helpers/postgres.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'

// Two instances in one process over the real Redis (L2, bus) and PostgreSQL (L3), as two instances
// of an application: erasure must reach every tier and the other instance's L1.
const MARKER = `marker-${randomUUID()}`
const run = randomUUID().slice(0, 8)
const prefix = `tce${run}`
const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
const alice = { role: 'authenticated', tenantId: `acme${run}`, userId: 'alice@example.com' } as const
const bob = { role: 'authenticated', tenantId: `acme${run}`, userId: 'bob@example.com' } as const
const acme = { role: 'authenticated', tenantId: `acme${run}` } as const
const globex = { role: 'authenticated', tenantId: `globex${run}` } as const
const NAMESPACES = ['carts', 'profiles']

let a: Cache
let b: Cache
const redis = new Redis(TEST_REDIS_URL)
const admin = openAdminClient()

function stackOf(cache: Cache) {
  return (cache as unknown as { core: CacheCore }).core.stack
}

async function listening(cache: Cache): Promise<void> {
  await vi.waitFor(async () => {
    await cache.set('__probe', 1)
    expect((await cache.getWithInfo('__probe'))?.source).toBe('l1')
  })
}

/** Writes one entry per namespace for each context, and reads them all on both instances (filling both L1s). */
async function populate(): Promise<void> {
  for (const ctx of [alice, bob, acme, globex]) {
    for (const ns of NAMESPACES) await a.namespace(ns).withContext(ctx).set('k', { owner: ctx, marker: MARKER }, { tags: ['t'] })
  }
  await a.namespace('profiles').set('k', 'public')
  for (const cache of [a, b]) {
    for (const ctx of [alice, bob, acme, globex]) {
      for (const ns of NAMESPACES) expect(await cache.namespace(ns).withContext(ctx).get('k')).toMatchObject({ owner: ctx })
    }
  }
}

/** Storage namespaces under `scopePrefix` in each place an entry can live. */
async function remaining(scopePrefix: string): Promise<Record<string, string[]>> {
  const redisKeys: string[] = []
  for await (const batch of redis.scanStream({ match: `{${prefix}:${scopePrefix}*`, count: 1000 })) redisKeys.push(...(batch as string[]))
  const rows = await admin<{ namespace: string }[]>`select namespace from tiercache_entries where starts_with(namespace, ${scopePrefix})`
  return {
    aL1: await stackOf(a).l1!.namespaces(scopePrefix),
    bL1: await stackOf(b).l1!.namespaces(scopePrefix),
    redis: redisKeys,
    postgres: rows.map((row) => row.namespace),
  }
}

const none = { aL1: [], bL1: [], redis: [], postgres: [] }

beforeAll(async () => {
  const options = {
    l2: { redis: TEST_REDIS_URL, prefix },
    l3: { postgres: TEST_POSTGRES_URL },
    security: { encryption: { keyRing }, tiers: { user: ['l1', 'l2', 'l3'] as ('l1' | 'l2' | 'l3')[] } },
  }
  a = createCache(options)
  b = createCache(options)
  await Promise.all([listening(a), listening(b)])
})

afterAll(async () => {
  for (const ctx of [acme, globex]) await a.erase({ tenantId: ctx.tenantId })
  await Promise.all([a.namespace('profiles').clear(), a.clear()])
  await Promise.all([a.close(), b.close()])
  redis.disconnect()
  await admin.end()
})

describe('erasure and export across tiers and instances', () => {
  it('stores no plaintext of non-public values in Redis or PostgreSQL', async () => {
    await populate()
    const redisKeys: string[] = []
    for await (const batch of redis.scanStream({ match: `{${prefix}:*`, count: 1000 })) redisKeys.push(...(batch as string[]))
    expect(redisKeys.length).toBeGreaterThan(0)
    for (const key of redisKeys) {
      const type = await redis.type(key)
      const contents =
        type === 'string'
          ? [await redis.getBuffer(key)]
          : type === 'set'
            ? await redis.smembersBuffer(key)
            : type === 'zset'
              ? await redis.zrangeBuffer(key, 0, -1)
              : await redis.hgetallBuffer(key).then((hash) => Object.values(hash))
      for (const content of contents) expect(content?.includes(MARKER) ?? false).toBe(false)
    }
    const rows = await admin<{ row: string }[]>`select t::text as row from tiercache_entries t where starts_with(t.namespace, '~')`
    expect(rows.length).toBeGreaterThanOrEqual(8)
    for (const { row } of rows) expect(row).not.toContain(MARKER)
    // The dump holds the values as bytea: check the decoded bytes too.
    const values = await admin<{ value: Buffer }[]>`select value from tiercache_entries where starts_with(namespace, '~')`
    for (const { value } of values) expect(value.includes(MARKER)).toBe(false)
  })

  it('exports a user, and a tenant with its users, namespace by namespace', async () => {
    await populate()
    const exported: ExportedEntry[] = []
    for await (const entry of a.exportSubject({ tenantId: alice.tenantId, userId: alice.userId })) exported.push(entry)
    expect(exported.map(({ scope, namespace, key }) => ({ scope, namespace, key }))).toEqual(
      NAMESPACES.map((namespace) => ({ scope: 'user', namespace, key: 'k' })),
    )
    expect(exported.every((entry) => (entry.value as { owner: unknown }).owner !== undefined)).toBe(true)
    expect(exported.map((entry) => (entry.value as { owner: typeof alice }).owner.userId)).toEqual([alice.userId, alice.userId])

    const tenant: ExportedEntry[] = []
    for await (const entry of b.exportSubject({ tenantId: acme.tenantId })) tenant.push(entry)
    expect(tenant).toHaveLength(6)
    expect(tenant.filter((entry) => entry.scope === 'tenant')).toHaveLength(2)
    // A tenant's export tells its users apart by the hash the tiers store, never by the id.
    const aliceHash = userPrefix(alice.tenantId, alice.userId).split('~')[2]
    expect(exported.every((entry) => entry.user === aliceHash)).toBe(true)
    expect(new Set(tenant.filter((entry) => entry.scope === 'user').map((entry) => entry.user)).size).toBe(2)
    expect(tenant.filter((entry) => entry.scope === 'tenant').every((entry) => entry.user === undefined)).toBe(true)
  })

  it('erases a user from every tier and every L1, leaving every other subject intact', async () => {
    await populate()
    const alicePrefix = userPrefix(alice.tenantId, alice.userId)
    expect((await remaining(alicePrefix)).postgres).toHaveLength(2)
    expect((await remaining(alicePrefix)).bL1).toHaveLength(2)

    await a.erase({ tenantId: alice.tenantId, userId: alice.userId })
    await vi.waitFor(async () => expect(await remaining(alicePrefix)).toEqual(none))
    for (const cache of [a, b]) {
      for (const ns of NAMESPACES) {
        expect(await cache.namespace(ns).withContext(alice).get('k')).toBeUndefined()
        for (const ctx of [bob, acme, globex]) expect(await cache.namespace(ns).withContext(ctx).get('k')).toMatchObject({ owner: ctx })
      }
    }
    expect(await b.namespace('profiles').get('k')).toBe('public')
  })

  it('erases a tenant with its users, leaving other tenants and the public scope intact', async () => {
    await populate()
    await b.erase({ tenantId: acme.tenantId })
    await vi.waitFor(async () => expect(await remaining(tenantPrefix(acme.tenantId))).toEqual(none))
    for (const cache of [a, b]) {
      for (const ns of NAMESPACES) {
        for (const ctx of [alice, bob, acme]) expect(await cache.namespace(ns).withContext(ctx).get('k')).toBeUndefined()
        expect(await cache.namespace(ns).withContext(globex).get('k')).toMatchObject({ owner: globex })
      }
    }
    expect(await a.namespace('profiles').get('k')).toBe('public')
    expect((await remaining(tenantPrefix(globex.tenantId))).postgres).toHaveLength(2)
  })

  it('lets a scoped view erase and export only within its own scope', async () => {
    await populate()
    const tenantView = a.withContext(acme)
    const userView = a.withContext(alice)
    await expect(tenantView.erase({ tenantId: globex.tenantId })).rejects.toMatchObject({ code: 'TC_FORBIDDEN' })
    await expect(userView.erase({ tenantId: bob.tenantId, userId: bob.userId })).rejects.toMatchObject({ code: 'TC_FORBIDDEN' })
    await expect(userView.erase({ tenantId: acme.tenantId })).rejects.toMatchObject({ code: 'TC_FORBIDDEN' })
    await expect(a.erase({ userId: 'x' } as never)).rejects.toMatchObject({ code: 'TC_INVALID_CONTEXT' })
    await expect(a.exportSubject({ tenantId: 'bad~tenant' }).next()).rejects.toMatchObject({ code: 'TC_INVALID_CONTEXT' })
    await expect(tenantView.exportSubject({ tenantId: globex.tenantId }).next()).rejects.toMatchObject({ code: 'TC_FORBIDDEN' })
    await userView.erase({ tenantId: alice.tenantId, userId: alice.userId })
    expect(await a.namespace('carts').withContext(alice).get('k')).toBeUndefined()
    expect(await a.namespace('carts').withContext(bob).get('k')).toMatchObject({ owner: bob })
    expect(scopeFor(alice).prefix).toBe(userPrefix(alice.tenantId, alice.userId))
  })
})
