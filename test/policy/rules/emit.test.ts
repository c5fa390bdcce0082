// cache.emit end to end: a policy's rule, through the engine, against every real tier: L1, Redis
// (L2), and SQLite or PostgreSQL (L3). Each tier is inspected raw (cache.explain), so an entry left
// in any tier fails the test, and so does one removed that the rule does not name.
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../../src/cache/cache.js'
import { KeyRing, createCache, definePolicy } from '../../../src/index.js'
import { type ScratchDatabase, scratchDatabase } from '../../helpers/postgres.js'
import { TEST_REDIS_URL } from '../../helpers/redis-server.js'

const policy = definePolicy({
  rules: {
    'flight.updated': { params: ['id'], tags: ['flight:{id}'], namespaces: ['flight_search', 'flight_status'] },
    'airline.renamed': { params: ['code'], tags: ['airline:{code}'], in: ['flights'] },
  },
})

/** Entries as `[namespace, key, tags]`. */
type Seed = readonly [string, string, readonly string[]]

const SEEDS: readonly Seed[] = [
  ['flights', 'BA117', ['flight:BA117', 'airline:BA']],
  ['flights', 'BA118', ['flight:BA118', 'airline:BA']],
  ['flights', 'plain', []],
  ['bookings', 'b1', ['flight:BA117']],
  ['bookings', 'b2', ['flight:BA1170', 'airline:BA']],
  ['weather', 'LHR', ['flight:ba117']],
  ['flight_search', 'LHR-JFK', []],
  ['flight_search', 'LHR-DXB', ['flight:BA105']],
  ['flight_status', 'BA118', ['flight:BA118']],
  ['flight_statuses', 'BA117', []],
  ['flight', 'status', []],
]

/** Each tier's state of the key: `present` or `absent`, by level. */
async function tiersOf(cache: Cache, namespace: string, key: string): Promise<Record<string, string>> {
  const explained = await cache.namespace(namespace).explain(key)
  return Object.fromEntries(explained.tiers.map((tier) => [tier.level, tier.state]))
}

const EVERYWHERE = { l1: 'present', l2: 'present', l3: 'present' }
const NOWHERE = { l1: 'absent', l2: 'absent', l3: 'absent' }

/** Waits until the cache's bus listens: until then L1 is bypassed, and the test would not see it. */
async function listening(cache: Cache): Promise<void> {
  for (let attempt = 0; attempt < 250; attempt++) {
    await cache.set('__probe', 1)
    if ((await cache.getWithInfo('__probe'))?.source === 'l1') return
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  throw new Error('the bus never listened')
}

async function seed(cache: Cache, seeds: readonly Seed[]): Promise<void> {
  for (const [namespace, key, tags] of seeds) await cache.namespace(namespace).set(key, { namespace, key }, { ttl: '1h', tags: [...tags] })
  for (const [namespace, key] of seeds) expect(await tiersOf(cache, namespace, key), `${namespace}/${key} seeded`).toEqual(EVERYWHERE)
}

/** Asserts that exactly `removed` (as `namespace/key`) are gone from every tier, and every other seed is in every tier. */
async function expectExactly(cache: Cache, seeds: readonly Seed[], removed: readonly string[]): Promise<void> {
  const states = await Promise.all(seeds.map(async ([namespace, key]) => [`${namespace}/${key}`, await tiersOf(cache, namespace, key)] as const))
  expect(Object.fromEntries(states)).toEqual(Object.fromEntries(seeds.map(([namespace, key]) => [`${namespace}/${key}`, removed.includes(`${namespace}/${key}`) ? NOWHERE : EVERYWHERE])))
}

describe.each(['sqlite', 'postgres'] as const)('cache.emit over L1, Redis and %s', (l3Kind) => {
  let dir: string
  let database: ScratchDatabase | undefined
  let cache: Cache

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tiercache-emit-'))
    // A database of its own: a public emit removes its tags in every namespace of the L3 table.
    database = l3Kind === 'postgres' ? await scratchDatabase('emit') : undefined
    const l3 = database === undefined ? { sqlite: join(dir, 'cache.db'), cleanupInterval: 0 } : { postgres: database.url }
    const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
    cache = createCache({ l2: { redis: TEST_REDIS_URL, prefix: `emit${randomUUID().slice(0, 8)}` }, l3, policies: policy, security: { encryption: { keyRing } } })
    await listening(cache)
  }, 30_000)

  afterAll(async () => {
    await cache?.close()
    await database?.drop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('flight.updated {id: BA117} removes exactly the entries tagged flight:BA117 and those of flight_search and flight_status, from every tier', async () => {
    await seed(cache, SEEDS)
    const targets = await cache.emit('flight.updated', { id: 'BA117' })
    expect(targets).toEqual({ tags: ['flight:BA117'], namespaces: ['flight_search', 'flight_status'] })
    await expectExactly(cache, SEEDS, ['flights/BA117', 'bookings/b1', 'flight_search/LHR-JFK', 'flight_search/LHR-DXB', 'flight_status/BA118'])
    // Emitting again finds nothing more to remove.
    await cache.emit('flight.updated', { id: 'BA117' })
    await expectExactly(cache, SEEDS, ['flights/BA117', 'bookings/b1', 'flight_search/LHR-JFK', 'flight_search/LHR-DXB', 'flight_status/BA118'])
  })

  it("a tenant's emit stays in its scope, removing its tags in the rule's in namespaces", async () => {
    const acme = cache.withContext({ role: 'authenticated', tenantId: 'acme' })
    const globex = cache.withContext({ role: 'authenticated', tenantId: 'globex' })
    const seeds: Seed[] = [
      ['flights', 'BA117', ['airline:BA']],
      ['bookings', 'b2', ['airline:BA']],
      ['flights', 'AA100', ['airline:AA']],
    ]
    await Promise.all([seed(acme, seeds), seed(globex, seeds), seed(cache, seeds)])
    expect(await acme.emit('airline.renamed', { code: 'BA' })).toEqual({ tags: ['airline:BA'], namespaces: [], tagsIn: ['flights'] })
    await expectExactly(acme, seeds, ['flights/BA117'])
    await expectExactly(globex, seeds, [])
    await expectExactly(cache, seeds, [])
  })

  it('refuses an unknown event and a missing param, removing nothing', async () => {
    const seeds: Seed[] = [['flights', 'BA200', ['flight:BA200']]]
    await seed(cache, seeds)
    await expect(cache.emit('flight.cancelled', { id: 'BA200' })).rejects.toMatchObject({ code: 'TC_UNKNOWN_EVENT' })
    await expect(cache.emit('flight.updated', {})).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS', message: 'param id is required by event flight.updated' })
    await expectExactly(cache, seeds, [])
  })
})
