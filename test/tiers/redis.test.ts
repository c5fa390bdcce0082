import { Redis } from 'ioredis'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { CacheClosedError, CorruptEntryError, InvalidNamespaceError, InvalidOptionsError, TierUnavailableError } from '../../src/errors.js'
import { type RedisTier, createRedisTier } from '../../src/tiers/redis/index.js'
import { KEYS_SCAN_BUDGET } from '../../src/tiers/redis/index.js'
import { type RedisProcess, TEST_REDIS_URL, startRedisServer } from '../helpers/redis-server.js'
import { makeEntry, runTierConformance } from './conformance.js'

/** A prefix of this run's own: the shared Redis is never flushed, only this prefix is cleared. */
function uniquePrefix(what: string): string {
  return `tc-test-${what}-${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`
}

const conformancePrefix = uniquePrefix('conformance')
runTierConformance('redis', async () => createRedisTier({ connection: TEST_REDIS_URL, prefix: conformancePrefix }))

// The suite clears its entries; the namespace registry would expire by itself within minutes.
afterAll(async () => {
  const admin = new Redis(TEST_REDIS_URL)
  await admin.del(`${conformancePrefix}:namespaces`).finally(() => admin.quit())
})

function deadEntry(namespace: string, key: string, tags: string[] = []) {
  const now = Date.now()
  return { ...makeEntry(namespace, key, key, { createdAt: now - 10_000, tags }), freshUntil: now - 5_000, staleUntil: now - 1 }
}

/** An entry that dies `lifeMs` from now. */
function shortLived(namespace: string, key: string, lifeMs: number, tags: string[] = []) {
  const now = Date.now()
  return { ...makeEntry(namespace, key, key, { createdAt: now, tags }), freshUntil: now + lifeMs, staleUntil: now + lifeMs }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The hash tag Redis Cluster hashes for `key`: between the first `{` and the first `}` after it. */
function hashTag(key: string): string {
  const open = key.indexOf('{')
  if (open === -1) return key
  const close = key.indexOf('}', open + 1)
  return close === -1 || close === open + 1 ? key : key.slice(open + 1, close)
}

/** Milliseconds `run` took to settle, and how (the rejection, if any). */
async function timed(run: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = performance.now()
  try {
    await run()
    return { ms: performance.now() - start, error: undefined }
  } catch (error) {
    return { ms: performance.now() - start, error }
  }
}

describe('redis tier', () => {
  let tier: RedisTier
  let raw: Redis
  let prefix: string

  beforeAll(() => {
    raw = new Redis(TEST_REDIS_URL)
  })
  afterAll(async () => {
    await raw.quit()
  })
  beforeEach(() => {
    prefix = uniquePrefix('tier')
    tier = createRedisTier({ connection: TEST_REDIS_URL, prefix })
  })
  afterEach(async () => {
    await tier.clear()
    await tier.close()
    await raw.del(tier.layout.registry)
  })

  /** Every Redis key of a namespace (a SCAN confined to this test's prefix). */
  async function storedKeys(namespace: string): Promise<string[]> {
    const found: string[] = []
    const base = tier.layout.base(namespace)
    let cursor = '0'
    do {
      const [next, keys] = await raw.scan(cursor, 'MATCH', `${base.replace(/[[\]*?\\]/g, '\\$&')}*`, 'COUNT', 1000)
      found.push(...keys)
      cursor = next
    } while (cursor !== '0')
    return found.sort()
  }

  describe('options', () => {
    it('rejects bad options with InvalidOptionsError, never echoing a URL (it may hold a password)', () => {
      const bad: unknown[] = [
        {},
        { connection: 'http://localhost:6379' },
        { connection: 'redis://' },
        { connection: {} },
        { connection: TEST_REDIS_URL, prefix: 'a{b}' },
        { connection: TEST_REDIS_URL, prefix: '' },
        { connection: TEST_REDIS_URL, prefix: 'has space' },
        { connection: TEST_REDIS_URL, commandTimeoutMs: 0 },
        { connection: TEST_REDIS_URL, commandTimeoutMs: 1.5 },
      ]
      for (const options of bad) expect(() => createRedisTier(options as never), JSON.stringify(options)).toThrow(InvalidOptionsError)
      try {
        createRedisTier({ connection: 'http://user:s3cret@localhost' })
      } catch (error) {
        expect(String((error as Error).message)).not.toContain('s3cret')
      }
    })

    it('refuses a given client with a keyPrefix, which its scripts could not follow', async () => {
      const client = new Redis(TEST_REDIS_URL, { keyPrefix: 'app:', lazyConnect: true })
      expect(() => createRedisTier({ connection: client })).toThrow(InvalidOptionsError)
      client.disconnect()
    })

    it('refuses namespaces that could break the hash tag', async () => {
      await expect(tier.get('a}b', 'k')).rejects.toBeInstanceOf(InvalidNamespaceError)
      await expect(tier.set(makeEntry('{x', 'k', 1))).rejects.toBeInstanceOf(InvalidNamespaceError)
    })
  })

  describe('layout', () => {
    it('keeps an entry, its tag sets and its index in the namespace hash slot, whatever the key or tag', () => {
      const base = tier.layout.base('ns')
      const tagged = ['{', '}', '{}', '}{', '{x}', 'a:b', ':e:x', `${base}e:x`, '{other:ns}']
      for (const text of tagged) {
        expect(hashTag(tier.layout.entry(base, text))).toBe(`${prefix}:ns`)
        expect(hashTag(tier.layout.tag(base, text))).toBe(`${prefix}:ns`)
      }
      expect(hashTag(tier.layout.index(base))).toBe(`${prefix}:ns`)
      // the registry lives in a slot of its own, outside every namespace
      expect(hashTag(tier.layout.registry)).toBe(`${prefix}:namespaces`)
    })

    it('stores keys and tags with braces and colons without collisions, listing them in byte order', async () => {
      const keys = ['{', '}', '{}', '}{', '{x}', 'a:b', 'a', ':b', ':e:x', 'e:x', 't:x', 'k', '{tc:ns}:e:x']
      for (const [i, key] of keys.entries()) await tier.set(makeEntry('ns', key, i, { tags: [`{t}`, `t:${i % 2}`, key] }))
      for (const [i, key] of keys.entries()) expect((await tier.get('ns', key))?.value).toBe(i)
      expect((await tier.getMany('ns', keys)).map((entry) => entry?.value)).toEqual(keys.map((_, i) => i))
      const byBytes = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
      expect(await tier.keys('ns', { limit: 100 })).toEqual(byBytes)
      expect(await tier.deleteByTags(['t:1'], 'ns')).toBe(Math.floor(keys.length / 2))
      expect(await tier.deleteByTags(['{'], 'ns')).toBe(1)
      expect(await tier.deleteByTags(['{t}'], 'ns')).toBe(keys.length - Math.floor(keys.length / 2) - 1)
      expect(await storedKeys('ns')).toEqual([])
    })
  })

  describe('expiry', () => {
    it('gives the entry a Redis ttl of staleUntil - now, and its index and tag sets at least as long', async () => {
      const entry = makeEntry('ns', 'k', 1, { freshMs: 30_000, staleMs: 30_000, tags: ['t'] })
      const before = Date.now()
      await tier.set(entry)
      const base = tier.layout.base('ns')
      const expected = entry.staleUntil - Date.now()
      const ttl = await raw.pttl(tier.layout.entry(base, 'k'))
      expect(ttl).toBeGreaterThan(expected - 1_000)
      // The ttl is counted from the call (the set may wait for the connection, and take a while
      // on a busy machine): never more than staleUntil - the time of the call, rounded up.
      expect(ttl).toBeLessThanOrEqual(entry.staleUntil - before + 1)
      expect(await raw.pttl(tier.layout.index(base))).toBeGreaterThanOrEqual(ttl - 10)
      expect(await raw.pttl(tier.layout.tag(base, 't'))).toBeGreaterThanOrEqual(ttl - 10)
      // a shorter-lived entry later never shortens the sets
      await tier.set(makeEntry('ns', 'k2', 1, { freshMs: 1_000, tags: ['t'] }))
      expect(await raw.pttl(tier.layout.tag(base, 't'))).toBeGreaterThan(50_000)
    })

    it('leaves nothing behind once its entries have expired: entries, tag sets and index all go', async () => {
      for (let i = 0; i < 20; i++) await tier.set(shortLived('ns', `k${i}`, 150, ['a', `t${i}`]))
      expect((await storedKeys('ns')).length).toBe(20 + 1 + 1 + 20)
      await sleep(300)
      expect(await storedKeys('ns')).toEqual([])
      expect(await tier.keys('ns', { limit: 10 })).toEqual([])
    })

    it('stores nothing for an entry already dead, removing the one it replaces', async () => {
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      await tier.set(deadEntry('ns', 'k', ['t']))
      expect(await tier.get('ns', 'k')).toBeUndefined()
      expect(await storedKeys('ns')).toEqual([])
    })

    it('does not let a key expired and written again without a tag be removed by that tag', async () => {
      await tier.set(shortLived('ns', 'k', 50, ['old']))
      await sleep(120)
      await tier.set(makeEntry('ns', 'k', 'new', { tags: ['new'] }))
      expect(await tier.deleteByTags(['old'], 'ns')).toBe(0)
      expect((await tier.get('ns', 'k'))?.value).toBe('new')
      expect(await tier.deleteByTags(['old'])).toBe(0)
      expect(await tier.deleteByTags(['new'])).toBe(1)
    })

    it('does not return an entry dead by our clock even while Redis still holds it', async () => {
      await tier.set(makeEntry('ns', 'k', 1))
      // rewrite its record with a staleUntil in the past, leaving the Redis ttl as it is
      const key = tier.layout.entry(tier.layout.base('ns'), 'k')
      const stored = (await raw.getBuffer(key)) as Buffer
      stored.writeDoubleBE(Date.now() - 1, 17)
      await raw.set(key, stored, 'KEEPTTL')
      expect(await tier.get('ns', 'k')).toBeUndefined()
      expect(await tier.getMany('ns', ['k'])).toEqual([undefined])
    })
  })

  describe('bounded growth', () => {
    it('keeps one tag set per live tag through many overwrites of a key', async () => {
      for (let i = 0; i < 300; i++) await tier.set(makeEntry('ns', 'hot', i, { tags: [`v${i}`, 'always'] }))
      const base = tier.layout.base('ns')
      expect(await storedKeys('ns')).toEqual(
        [tier.layout.entry(base, 'hot'), tier.layout.index(base), tier.layout.tag(base, 'always'), tier.layout.tag(base, 'v299')].sort(),
      )
      expect(await raw.scard(tier.layout.tag(base, 'always'))).toBe(1)
    })

    it('prunes members of expired entries from the index and tag sets while writes go on', async () => {
      const writes = 1_500
      for (let i = 0; i < writes; i++) await tier.set(shortLived('ns', `k${i}`, 5, ['shared']))
      const base = tier.layout.base('ns')
      // without pruning both would hold every key ever written; with it, dead members stay about as
      // many as live ones (a few dozen here)
      expect(await raw.scard(tier.layout.tag(base, 'shared'))).toBeLessThan(writes / 3)
      expect(await raw.zcard(tier.layout.index(base))).toBeLessThan(writes / 3)
    })

    it('pages past thousands of expired index members, removing them', async () => {
      const expired = KEYS_SCAN_BUDGET * 2 + 500
      // written in one go with long lives, then turned dead by deleting the entries behind the
      // index's back, as Redis expiry does
      for (let i = 0; i < expired; i += 500) {
        await Promise.all(Array.from({ length: 500 }, (_, j) => tier.set(makeEntry('ns', `a${String(i + j).padStart(5, '0')}`, 0))))
      }
      const base = tier.layout.base('ns')
      const entryKeys = (await storedKeys('ns')).filter((key) => key.startsWith(`${base}e:`))
      for (let i = 0; i < entryKeys.length; i += 500) await raw.del(...entryKeys.slice(i, i + 500))
      await tier.set(makeEntry('ns', 'b1', 1))
      await tier.set(makeEntry('ns', 'b2', 2))
      expect(await tier.keys('ns', { limit: 10 })).toEqual(['b1', 'b2'])
      expect(await raw.zcard(tier.layout.index(base))).toBe(2)
    })

    it('drops namespaces from the registry once they surely hold nothing', async () => {
      await tier.set(makeEntry('ns', 'k', 1))
      const registry = tier.layout.registry
      expect(await raw.zrange(registry, 0, -1)).toEqual(['ns'])
      expect(await raw.pttl(registry)).toBeGreaterThan(60_000)
      await raw.zadd(registry, Date.now() - 1, 'ns')
      expect(await tier.count()).toBe(0)
      expect(await raw.zrange(registry, 0, -1)).toEqual([])
      // (the entry itself stays until its ttl: it is gone from the registry only by this test's forgery)
      await tier.clear('ns')
    })
  })

  describe('registry', () => {
    it('lets another instance delete by tag and clear across namespaces this one wrote', async () => {
      await tier.set(makeEntry('a', 'k', 1, { tags: ['t'] }))
      await tier.set(makeEntry('b', 'k', 2, { tags: ['t'] }))
      await tier.set(makeEntry('c', 'k', 3))
      const other = createRedisTier({ connection: TEST_REDIS_URL, prefix })
      try {
        expect(await other.count()).toBe(3)
        expect(await other.deleteByTags(['t'])).toBe(2)
        await other.clear()
        expect(await tier.get('c', 'k')).toBeUndefined()
      } finally {
        await other.close()
      }
    })

    it('registers a namespace again when its index was created anew (Redis lost it)', async () => {
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      // as after a restart of a Redis without persistence: everything gone, memo still warm
      const base = tier.layout.base('ns')
      await raw.del(tier.layout.registry, tier.layout.index(base), tier.layout.entry(base, 'k'), tier.layout.tag(base, 't'))
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      expect(await tier.deleteByTags(['t'])).toBe(1)
    })
  })

  describe('bad data', () => {
    it('throws CorruptEntryError for an unreadable record, which can still be deleted', async () => {
      const base = tier.layout.base('ns')
      await tier.set(makeEntry('ns', 'short', 1, { tags: ['t'] }))
      await tier.set(makeEntry('ns', 'version', 1, { tags: ['t'] }))
      await tier.set(makeEntry('ns', 'payload', 1, { tags: ['t'] }))
      await raw.set(tier.layout.entry(base, 'short'), 'garbage', 'KEEPTTL')
      const version = (await raw.getBuffer(tier.layout.entry(base, 'version'))) as Buffer
      version[0] = 99
      await raw.set(tier.layout.entry(base, 'version'), version, 'KEEPTTL')
      const payload = (await raw.getBuffer(tier.layout.entry(base, 'payload'))) as Buffer
      // a msgpack array announcing two items but holding one
      await raw.set(tier.layout.entry(base, 'payload'), Buffer.concat([payload.subarray(0, payload.length - 1), Buffer.from([0x92, 0x01])]), 'KEEPTTL')
      for (const key of ['short', 'version', 'payload']) {
        await expect(tier.get('ns', key), key).rejects.toBeInstanceOf(CorruptEntryError)
        await expect(tier.getMany('ns', [key]), key).rejects.toBeInstanceOf(CorruptEntryError)
      }
      expect(await tier.delete('ns', 'short')).toBe(true)
      // found through its tag, an unreadable record goes too
      expect(await tier.deleteByTags(['t'], 'ns')).toBe(2)
      expect(await storedKeys('ns')).toEqual([])
    })

    it('encodes the value itself when an entry comes without its payload', async () => {
      const { payload: _payload, ...withoutPayload } = makeEntry('ns', 'k', { a: [1, 2] })
      await tier.set(withoutPayload)
      expect((await tier.get('ns', 'k'))?.value).toEqual({ a: [1, 2] })
    })

    it('copies the payload out of the reply buffer', async () => {
      await tier.set(makeEntry('ns', 'k', 'value'))
      const payload = (await tier.get('ns', 'k'))?.payload as Uint8Array
      expect(payload.byteOffset).toBe(0)
      expect(payload.buffer.byteLength).toBe(payload.byteLength)
    })
  })

  describe('closing', () => {
    it('closes idempotently a client it created; calls after close reject with CacheClosedError', async () => {
      const own = createRedisTier({ connection: TEST_REDIS_URL, prefix })
      await own.set(makeEntry('ns', 'k', 1))
      await Promise.all([own.close(), own.close()])
      await own.close()
      await expect(own.get('ns', 'k')).rejects.toBeInstanceOf(CacheClosedError)
    })

    it('works with a given client that answers integers as strings (stringNumbers)', async () => {
      const client = new Redis(TEST_REDIS_URL, { stringNumbers: true })
      const given = createRedisTier({ connection: client, prefix })
      try {
        await given.set(makeEntry('ns', 'a', 1, { tags: ['t'] }))
        await given.set(makeEntry('ns', 'b', 2))
        expect(await given.count()).toBe(2)
        expect(await given.delete('ns', 'b')).toBe(true)
        expect(await given.deleteByTags(['t'])).toBe(1)
        expect(await given.keys('ns', { limit: 5 })).toEqual([])
      } finally {
        await given.close()
        await client.quit()
      }
    })

    it('never closes a client it was given', async () => {
      const client = new Redis(TEST_REDIS_URL)
      try {
        const given = createRedisTier({ connection: client, prefix })
        await given.set(makeEntry('ns', 'k', 1))
        await given.close()
        await expect(given.get('ns', 'k')).rejects.toBeInstanceOf(CacheClosedError)
        expect(await client.ping()).toBe('PONG')
        expect((await tier.get('ns', 'k'))?.value).toBe(1)
      } finally {
        await client.quit()
      }
    })
  })
})

describe('redis tier against a private server', () => {
  let server: RedisProcess
  beforeAll(async () => {
    server = await startRedisServer()
  })
  afterAll(async () => {
    await server.stop()
  })

  /** SIGSTOPs the server (it keeps its socket but answers nothing) while `run` runs. */
  async function whilePaused<T>(run: () => Promise<T>): Promise<T> {
    const admin = new Redis(server.url)
    const info = await admin.info('server').finally(() => admin.disconnect())
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1])
    expect(pid).toBeGreaterThan(0)
    process.kill(pid, 'SIGSTOP')
    try {
      return await run()
    } finally {
      process.kill(pid, 'SIGCONT')
    }
  }

  it('rejects within the command timeout when Redis hangs, with a client it created or was given', async () => {
    const own = createRedisTier({ connection: server.url, prefix: uniquePrefix('hang'), commandTimeoutMs: 200 })
    const client = new Redis(server.url)
    const given = createRedisTier({ connection: client, prefix: uniquePrefix('hang'), commandTimeoutMs: 200 })
    try {
      await own.set(makeEntry('ns', 'k', 1))
      await given.set(makeEntry('ns', 'k', 1))
      await whilePaused(async () => {
        for (const tier of [own, given]) {
          for (const call of [() => tier.get('ns', 'k'), () => tier.set(makeEntry('ns', 'k', 2)), () => tier.deleteByTags(['t'])]) {
            const { ms, error } = await timed(call)
            expect(error).toBeInstanceOf(TierUnavailableError)
            expect(ms).toBeGreaterThanOrEqual(190)
            expect(ms).toBeLessThan(1_000)
          }
        }
      })
      await expect.poll(async () => (await own.get('ns', 'k').catch(() => undefined))?.value, { timeout: 5_000, interval: 50 }).toBeDefined()
      await expect.poll(async () => (await given.get('ns', 'k').catch(() => undefined))?.value, { timeout: 5_000, interval: 50 }).toBeDefined()
    } finally {
      await own.clear().catch(() => undefined)
      await own.close()
      await given.close()
      client.disconnect()
    }
  })

  it('fails fast while Redis is down and recovers by itself when it is back', async () => {
    const tier = createRedisTier({ connection: server.url, prefix: uniquePrefix('down'), commandTimeoutMs: 2_000 })
    try {
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      await server.kill()
      // the first call may meet the dying connection; after that, calls fail at once, far within
      // their timeout
      await timed(() => tier.get('ns', 'k'))
      for (let i = 0; i < 5; i++) {
        const { ms, error } = await timed(() => tier.get('ns', 'k'))
        expect(error).toBeInstanceOf(TierUnavailableError)
        expect(ms).toBeLessThan(250)
        await sleep(30)
      }
      await server.restart()
      // back on the same tier object, within the reconnect backoff (at most 2 s)
      await expect.poll(() => tier.get('ns', 'k').then(() => true, () => false), { timeout: 5_000, interval: 50 }).toBe(true)
      // the server came back empty (no persistence): scripts are loaded again and the namespace
      // registered again, so a delete on every namespace finds what is written now
      await tier.set(makeEntry('ns', 'k', 2, { tags: ['t'] }))
      expect((await tier.get('ns', 'k'))?.value).toBe(2)
      expect(await tier.deleteByTags(['t'])).toBe(1)
    } finally {
      await tier.close()
    }
  })

  it('waits for the first connection instead of failing calls made right after creation', async () => {
    const tier = createRedisTier({ connection: server.url, prefix: uniquePrefix('start') })
    try {
      // no await between creation and the calls: the client is still connecting
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => tier.set(makeEntry('ns', `k${i}`, i))))
      expect(results).toHaveLength(20)
      expect(await tier.count('ns')).toBe(20)
    } finally {
      await tier.clear()
      await tier.close()
    }
  })

  it('runs its scripts again after the server forgot them (SCRIPT FLUSH)', async () => {
    const tier = createRedisTier({ connection: server.url, prefix: uniquePrefix('flush') })
    const admin = new Redis(server.url)
    try {
      await tier.set(makeEntry('ns', 'k', 1, { tags: ['t'] }))
      await admin.script('FLUSH')
      await tier.set(makeEntry('ns', 'k', 2, { tags: ['t'] }))
      expect(await tier.deleteByTags(['t'], 'ns')).toBe(1)
    } finally {
      await tier.close()
      await admin.quit()
    }
  })
})
