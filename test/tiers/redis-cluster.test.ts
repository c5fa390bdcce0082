import { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type RedisTier, createRedisTier } from '../../src/tiers/redis/index.js'
import { type RedisClusterProcess, startRedisCluster } from '../helpers/redis-cluster.js'
import { makeEntry, runTierConformance } from './conformance.js'

let cluster: RedisClusterProcess
let client: Cluster

beforeAll(async () => {
  cluster = await startRedisCluster(3)
  client = new Cluster([...cluster.startupNodes])
})
afterAll(async () => {
  await client?.quit().catch(() => client.disconnect())
  await cluster?.stop()
})

runTierConformance('redis cluster', async () => createRedisTier({ connection: client, prefix: 'tc' }))

describe('redis tier on a cluster', () => {
  let tier: RedisTier
  beforeAll(() => {
    tier = createRedisTier({ connection: client, prefix: 'spread' })
  })
  afterAll(async () => {
    await tier.clear()
    await tier.close()
  })

  /** The port of the master serving each namespace's slot, checked to hold the namespace's index. */
  async function mastersOf(namespaces: readonly string[]): Promise<number[]> {
    const ranges = await client.cluster('SLOTS')
    return Promise.all(
      namespaces.map(async (namespace) => {
        const index = tier.layout.index(tier.layout.base(namespace))
        const slot = Number(await client.cluster('KEYSLOT', index))
        const range = ranges.find(([from, to]) => from <= slot && slot <= to)
        const port = range?.[2]?.[1] as number
        const owner = client.nodes('master').find((node) => Number(node.options.port) === port)
        expect(await owner?.exists(index), namespace).toBe(1)
        return port
      }),
    )
  }

  it('spreads namespaces over the masters, each whole on one', async () => {
    const namespaces = Array.from({ length: 12 }, (_, i) => `ns${i}`)
    for (const namespace of namespaces) {
      for (let i = 0; i < 5; i++) await tier.set(makeEntry(namespace, `k${i}`, i, { tags: ['t', `t${i}`] }))
    }
    const masters = await mastersOf(namespaces)
    expect(new Set(masters).size).toBeGreaterThanOrEqual(2)
    // every key of a namespace, entries and tag sets included, sits on the namespace's master
    for (const namespace of namespaces) {
      const base = tier.layout.base(namespace)
      const slot = await client.cluster('KEYSLOT', tier.layout.index(base))
      for (const key of [tier.layout.entry(base, 'k0'), tier.layout.tag(base, 't3'), tier.layout.tag(base, '{t}')]) {
        expect(await client.cluster('KEYSLOT', key)).toBe(slot)
      }
    }
    expect(await tier.count()).toBe(namespaces.length * 5)
  })

  it('deletes by tag across namespaces on different masters, and clears them all', async () => {
    await tier.clear()
    const namespaces = Array.from({ length: 8 }, (_, i) => `tags${i}`)
    for (const namespace of namespaces) {
      await tier.set(makeEntry(namespace, 'hit', 1, { tags: ['gone', namespace] }))
      await tier.set(makeEntry(namespace, 'kept', 2, { tags: ['stays'] }))
    }
    expect(new Set(await mastersOf(namespaces)).size).toBeGreaterThanOrEqual(2)
    expect(await tier.deleteByTags(['gone'])).toBe(namespaces.length)
    for (const namespace of namespaces) {
      expect(await tier.get(namespace, 'hit')).toBeUndefined()
      expect((await tier.get(namespace, 'kept'))?.value).toBe(2)
    }
    expect(await tier.deleteByTags(['tags3', 'stays'], 'tags3')).toBe(1)
    await tier.clear()
    expect(await tier.count()).toBe(0)
  })

  it('reads and writes keys with braces in one slot (no CROSSSLOT)', async () => {
    const keys = ['{a}', '}{', '{', '{spread:other}:e:x', 'a:{b}:c']
    for (const key of keys) await tier.set(makeEntry('braces', key, key, { tags: [`{${key}}`] }))
    expect((await tier.getMany('braces', keys)).map((entry) => entry?.value)).toEqual(keys)
    expect(await tier.keys('braces', { limit: 10 })).toHaveLength(keys.length)
    expect(await tier.deleteByTags(keys.map((key) => `{${key}}`), 'braces')).toBe(keys.length)
  })
})
