/**
 * How KeyvTiercache maps Keyv's namespaces, keys, ttls and values onto tiercache, and its errors,
 * events and disconnect.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import Keyv from 'keyv'
import { afterAll, describe, expect, it } from 'vitest'
import { KEYV_NO_EXPIRY_TTL_MS, KeyvTiercache, keyvNamespaceToTiercache } from '../../src/adapters/keyv.js'
import { NAMESPACE_PATTERN } from '../../src/core/validate.js'
import { type Cache, TierUnavailableError, createCache, isTiercacheError } from '../../src/index.js'
import { ControlledTier, cacheOver } from '../helpers/cache.js'
import { KeyvFixtures, later } from './keyv-helpers.js'

const fixtures = new KeyvFixtures()
afterAll(() => fixtures.cleanup())

/** A memory-only cache, closed at the end of the file. */
function memoryCache(namespace = 'default', grace: string | number = 0): Cache {
  return fixtures.track(createCache({ namespace, grace, l3: false }))
}

/** The error events a Keyv emits. */
function errorsOf(keyv: Keyv): unknown[] {
  const errors: unknown[] = []
  keyv.on('error', (error: unknown) => errors.push(error))
  return errors
}

describe('keyvNamespaceToTiercache', () => {
  it('keeps valid names that start with a letter or digit', () => {
    for (const name of ['keyv', 'sessions.v2', 'A-1_b', '0', 'x'.repeat(128)]) expect(keyvNamespaceToTiercache(name)).toBe(name)
  })

  it('encodes other names reversibly as _ + base64url of their UTF-8', () => {
    for (const name of ['my app', 'app:sessions', 'ünïcødé', '_private', '.hidden', '-dash', ' '.repeat(95), '']) {
      const encoded = keyvNamespaceToTiercache(name)
      expect(encoded.startsWith('_')).toBe(true)
      expect(Buffer.from(encoded.slice(1), 'base64url').toString('utf8')).toBe(name)
    }
  })

  it('hashes names too long to encode, and names with lone surrogates, under _.', () => {
    for (const long of [' '.repeat(96), 'x'.repeat(129), 'ü'.repeat(100)]) {
      expect(keyvNamespaceToTiercache(long)).toMatch(/^_\.[A-Za-z0-9_-]{43}$/)
      expect(keyvNamespaceToTiercache(long)).toBe(keyvNamespaceToTiercache(long))
    }
    expect(keyvNamespaceToTiercache('\uD800')).toMatch(/^_\./)
    expect(keyvNamespaceToTiercache('\uD800')).not.toBe(keyvNamespaceToTiercache('\uFFFD'))
  })

  it('always gives a valid tiercache namespace, and different names for different inputs', () => {
    const names = ['keyv', '_a2V5dg', 'a2V5dg', 'my app', 'my  app', '', ':', '::', 'ü'.repeat(95), 'ü'.repeat(96), '\uD800', '\uDC00']
    const encoded = names.map(keyvNamespaceToTiercache)
    for (const name of encoded) expect(name).toMatch(NAMESPACE_PATTERN)
    expect(new Set(encoded).size).toBe(names.length)
  })
})

describe('namespaces and keys', () => {
  it("stores Keyv's default namespace 'keyv' as tiercache namespace 'keyv', without Keyv's key prefix", async () => {
    const cache = memoryCache()
    const keyv = new Keyv({ store: new KeyvTiercache(cache) })
    await keyv.set('foo', 'bar')
    const stored = await cache.namespace('keyv').get<string>('foo')
    expect(stored).toBeTypeOf('string')
    expect(JSON.parse(stored as string)).toEqual({ value: 'bar' })
    expect(await cache.namespace('keyv').get('keyv:foo')).toBeUndefined()
  })

  it('keeps namespaces with colons apart from a namespace that is their prefix', async () => {
    const cache = memoryCache()
    const app = new Keyv({ store: new KeyvTiercache(cache), namespace: 'app' })
    const sessions = new Keyv({ store: new KeyvTiercache(cache), namespace: 'app:sessions' })
    // Both are Keyv key 'app:sessions:x'; they stay two entries.
    await app.set('sessions:x', 'in app')
    await sessions.set('x', 'in app:sessions')
    expect(await app.get('sessions:x')).toBe('in app')
    expect(await sessions.get('x')).toBe('in app:sessions')
    await sessions.clear()
    expect(await sessions.get('x')).toBeUndefined()
    expect(await app.get('sessions:x')).toBe('in app')
    expect(await cache.namespace(keyvNamespaceToTiercache('app:sessions')).get('x')).toBeUndefined()
  })

  it('serves namespaces that are not valid tiercache names: spaces, unicode, 300 characters', async () => {
    const cache = memoryCache()
    const names = ['my app', 'ünïcødé', 'n'.repeat(300)]
    const stores = names.map((namespace) => new Keyv({ store: new KeyvTiercache(cache), namespace }))
    await Promise.all(stores.map((keyv, i) => keyv.set('k', names[i])))
    for (const [i, keyv] of stores.entries()) expect(await keyv.get('k')).toBe(names[i])
    await stores[0]?.clear()
    expect(await stores[0]?.get('k')).toBeUndefined()
    expect(await stores[1]?.get('k')).toBe('ünïcødé')
  })

  it("without a Keyv namespace, uses the cache's own namespace and keys as given", async () => {
    const cache = memoryCache('app')
    const keyv = new Keyv({ store: new KeyvTiercache(cache), namespace: undefined })
    await keyv.set('k', 1)
    expect(JSON.parse((await cache.get<string>('k')) as string)).toEqual({ value: 1 })
    await cache.namespace('elsewhere').set('k', 'untouched')
    await keyv.clear()
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.namespace('elsewhere').get('k')).toBe('untouched')
  })

  it('with useKeyPrefix: false, keys are used as given and clear() still clears the namespace', async () => {
    const cache = memoryCache()
    const keyv = new Keyv({ store: new KeyvTiercache(cache), namespace: 'raw', useKeyPrefix: false })
    await keyv.set('k', 1)
    expect(await cache.namespace('raw').get('k')).toBeDefined()
    expect(await keyv.get('k')).toBe(1)
    await keyv.clear()
    expect(await keyv.get('k')).toBeUndefined()
  })

  it('follows a namespace changed on the Keyv instance', async () => {
    const cache = memoryCache()
    const keyv = new Keyv({ store: new KeyvTiercache(cache), namespace: 'one' })
    await keyv.set('k', 'in one')
    keyv.namespace = 'two'
    expect(await keyv.get('k')).toBeUndefined()
    await keyv.set('k', 'in two')
    expect(await cache.namespace('one').get('k')).toBeDefined()
    expect(await cache.namespace('two').get('k')).toBeDefined()
  })

  it("accepts Keyv's empty key under a namespace", async () => {
    const keyv = new Keyv({ store: new KeyvTiercache(memoryCache()) })
    await keyv.set('', 'empty')
    expect(await keyv.get('')).toBe('empty')
  })

  it('refuses keys tiercache cannot store: Keyv returns false and emits TC_INVALID_KEY', async () => {
    const keyv = new Keyv({ store: new KeyvTiercache(memoryCache()) })
    const errors = errorsOf(keyv)
    expect(await keyv.set('k'.repeat(2_000), 'v')).toBe(false)
    expect(await keyv.set('nul\0key', 'v')).toBe(false)
    expect(errors.map((error) => isTiercacheError(error, 'TC_INVALID_KEY'))).toEqual([true, true])
    await expect((keyv.store as KeyvTiercache).get('k'.repeat(2_000))).rejects.toMatchObject({ code: 'TC_INVALID_KEY' })
  })
})

describe('ttl', () => {
  async function freshUntil(store: KeyvTiercache, key: string): Promise<number | undefined> {
    return (await store.cache.namespace('keyv').getWithInfo(key))?.freshUntil
  }

  function store(cache: Cache = memoryCache()): KeyvTiercache {
    const adapter = new KeyvTiercache(cache)
    adapter.namespace = 'keyv'
    return adapter
  }

  it('maps a ttl in ms to the entry ttl, rounded up to a whole ms', async () => {
    const adapter = store()
    const before = Date.now()
    await adapter.set('k', 'v', 1_500)
    const after = Date.now()
    expect(await freshUntil(adapter, 'k')).toBeGreaterThanOrEqual(before + 1_500)
    expect(await freshUntil(adapter, 'k')).toBeLessThanOrEqual(after + 1_500)
    // tiercache refuses a ttl of 0 ms: a fraction of a ms becomes 1 ms.
    expect(await adapter.set('tiny', 'v', 0.2)).toBe(true)
  })

  it('maps no ttl (undefined or 0) to no expiry: 100 years, and caps longer ttls there', async () => {
    const adapter = store(fixtures.track(createCache({ ttl: '1s', l3: false })))
    const before = Date.now()
    await adapter.set('none', 'v')
    await adapter.set('zero', 'v', 0)
    await adapter.set('infinite', 'v', Number.POSITIVE_INFINITY)
    await adapter.set('huge', 'v', 1e20)
    for (const key of ['none', 'zero', 'infinite', 'huge']) {
      expect(await freshUntil(adapter, key)).toBeGreaterThanOrEqual(before + KEYV_NO_EXPIRY_TTL_MS)
      expect(await freshUntil(adapter, key)).toBeLessThanOrEqual(Date.now() + KEYV_NO_EXPIRY_TTL_MS)
    }
    expect(KEYV_NO_EXPIRY_TTL_MS).toBe(100 * 365 * 24 * 3600 * 1000)
  })

  it("refuses negative and non-numeric ttls with TC_INVALID_DURATION; Keyv's set returns false", async () => {
    const adapter = store()
    await expect(adapter.set('k', 'v', -1)).rejects.toMatchObject({ code: 'TC_INVALID_DURATION' })
    await expect(adapter.set('k', 'v', Number.NaN)).rejects.toMatchObject({ code: 'TC_INVALID_DURATION' })
    await expect(adapter.set('k', 'v', '5m' as unknown as number)).rejects.toMatchObject({ code: 'TC_INVALID_DURATION' })
    const keyv = new Keyv({ store: new KeyvTiercache(memoryCache()) })
    const errors = errorsOf(keyv)
    expect(await keyv.set('k', 'v', -5)).toBe(false)
    expect(isTiercacheError(errors[0], 'TC_INVALID_DURATION')).toBe(true)
  })

  it("writes without grace, even when the cache's default grace is long", async () => {
    const cache = memoryCache('default', '1h')
    const adapter = store(cache)
    await adapter.set('k', 'v', 20)
    await later(40, async () => expect(await cache.namespace('keyv').get('k', { allowStale: true })).toBeUndefined())
  })
})

describe('values', () => {
  it('writing undefined deletes the key', async () => {
    const adapter = new KeyvTiercache(memoryCache())
    await adapter.set('k', 'v')
    expect(await adapter.set('k', undefined)).toBe(true)
    expect(await adapter.get('k')).toBeUndefined()
    expect(await adapter.has('k')).toBe(false)
  })

  it("stores Keyv's raw { value, expires } objects when its serializer is unset, through SQLite", async () => {
    const keyv = new Keyv({ store: fixtures.adapter({ l1: false, l3: { sqlite: fixtures.sqlitePath() } }) })
    keyv.serialize = undefined
    keyv.deserialize = undefined
    const value = { at: new Date(0), big: 10n ** 20n, tags: new Set(['a']), bytes: Buffer.from('hi') }
    await keyv.set('rich', value, 60_000)
    expect(await keyv.get('rich')).toEqual(value)
    expect((await keyv.getRaw('rich'))?.expires).toBeGreaterThan(Date.now())
  })

  it('refuses values over limits.maxValueBytes with TC_VALUE_TOO_LARGE', async () => {
    const cache = fixtures.track(createCache({ l3: false, limits: { maxValueBytes: 1_000 } }))
    const keyv = new Keyv({ store: new KeyvTiercache(cache) })
    const errors = errorsOf(keyv)
    expect(await keyv.set('big', 'x'.repeat(2_000))).toBe(false)
    expect(isTiercacheError(errors[0], 'TC_VALUE_TOO_LARGE')).toBe(true)
  })
})

describe('batch calls', () => {
  it('getMany and hasMany answer in order; deleteMany is true when one key was there', async () => {
    const adapter = new KeyvTiercache(memoryCache())
    adapter.namespace = 'keyv'
    await adapter.set('keyv:a', 'A')
    await adapter.set('keyv:c', 'C')
    const values = await adapter.getMany(['keyv:a', 'keyv:b', 'keyv:c'])
    expect(values).toEqual(['A', undefined, 'C'])
    expect(Object.keys(values)).toEqual(['0', '1', '2'])
    expect(await adapter.hasMany(['keyv:a', 'keyv:b'])).toEqual([true, false])
    expect(await adapter.deleteMany(['keyv:a', 'keyv:b'])).toBe(true)
    expect(await adapter.deleteMany(['keyv:a', 'keyv:b'])).toBe(false)
    expect(await adapter.getMany([])).toEqual([])
  })

  it("Keyv's setMany goes entry by entry and reports each", async () => {
    const keyv = new Keyv({ store: new KeyvTiercache(memoryCache()) })
    expect(await keyv.setMany([{ key: 'a', value: 1 }, { key: 'k'.repeat(2_000), value: 2 }, { key: 'c', value: 3, ttl: 1_000 }])).toEqual([
      true,
      false,
      true,
    ])
    expect(await keyv.hasMany(['a', 'c'])).toEqual([true, true])
  })
})

describe('iteration', () => {
  /** Everything `keyv.iterator()` yields. */
  async function iterate(keyv: Keyv): Promise<unknown[]> {
    const pairs: unknown[] = []
    const iterator = keyv.iterator
    if (iterator === undefined) throw new Error('Keyv built no iterator for this store')
    for await (const pair of iterator(undefined)) pairs.push(pair)
    return pairs
  }

  it("reports the L3's kind as opts.dialect, and 'sqlite' without L3, so that Keyv always builds its iterator", async () => {
    const sqlite = fixtures.adapter({ l3: { sqlite: fixtures.sqlitePath() } })
    // a PostgreSQL L3 connects on first use only: nothing here reaches the server
    const postgres = fixtures.adapter({ l3: { postgres: 'postgres://nobody@127.0.0.1:1/none' } })
    const memory = new KeyvTiercache(memoryCache())
    expect(sqlite.opts.dialect).toBe('sqlite')
    expect(postgres.opts.dialect).toBe('postgres')
    expect(memory.opts.dialect).toBe('sqlite')
    for (const store of [sqlite, postgres, memory]) expect(new Keyv({ store }).iterator).toBeTypeOf('function')
  })

  it("yields [namespace:key, stored value] for the store's namespace, as Keyv expects", async () => {
    const cache = memoryCache()
    const adapter = new KeyvTiercache(cache)
    adapter.namespace = 'sessions'
    await adapter.set('sessions:b', 'B')
    await adapter.set('sessions:a', 'A')
    await cache.namespace('elsewhere').set('x', 'not listed')
    const pairs: unknown[] = []
    for await (const pair of adapter.iterator('sessions')) pairs.push(pair)
    expect(pairs).toEqual([
      ['sessions:a', 'A'],
      ['sessions:b', 'B'],
    ])
  })

  it('iterates namespaces that are not valid tiercache names, keys with colons, and the empty key', async () => {
    const cache = memoryCache()
    const keyv = new Keyv({ store: new KeyvTiercache(cache), namespace: 'my app' })
    await keyv.set('user:42', { name: 'Ada' })
    await keyv.set('', 'empty')
    await keyv.set('plain', 1)
    const pairs = await iterate(keyv)
    expect(pairs).toHaveLength(3)
    expect(new Map(pairs as [string, unknown][])).toEqual(
      new Map<string, unknown>([
        ['user:42', { name: 'Ada' }],
        ['', 'empty'],
        ['plain', 1],
      ]),
    )
  })

  it('iterates raw values when Keyv does not serialize (as cache-manager does)', async () => {
    const keyv = new Keyv({ store: new KeyvTiercache(memoryCache()), serialize: undefined, deserialize: undefined })
    await keyv.set('when', new Date(0))
    expect(await iterate(keyv)).toEqual([['when', new Date(0)]])
  })

  it('lists another process\'s writes from the shared L3, and not what expired there', async () => {
    const sqlite = fixtures.sqlitePath()
    const writer = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'shared' })
    const reader = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }), namespace: 'shared' })
    await writer.set('kept', 1)
    await writer.set('short', 2, 50)
    expect(new Map((await iterate(reader)) as [string, unknown][])).toEqual(new Map([['kept', 1], ['short', 2]]))
    await later(80, async () => {
      expect(await iterate(reader)).toEqual([['kept', 1]])
    })
  })

  it('rejects with TC_CACHE_CLOSED after disconnect', async () => {
    const adapter = new KeyvTiercache(memoryCache())
    await adapter.disconnect()
    await expect(adapter.iterator('keyv').next()).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
  })

  it('rejects with TC_TIER_UNAVAILABLE when the listing tier fails, rather than list part of the namespace', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    fixtures.track(cache)
    const keyv = new Keyv({ store: new KeyvTiercache(cache), namespace: 'ns' })
    await keyv.set('k', 'v')
    l3.failing = true
    const error = await iterate(keyv).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(TierUnavailableError)
    expect(error).toMatchObject({ code: 'TC_TIER_UNAVAILABLE' })
    expect(await keyv.get('k')).toBe('v')
  })
})

describe('disconnect and events', () => {
  it('closes a cache it created; later calls reject with TC_CACHE_CLOSED; idempotent', async () => {
    const adapter = new KeyvTiercache({ l3: false })
    const keyv = new Keyv({ store: adapter })
    await keyv.set('k', 'v')
    await keyv.disconnect()
    await adapter.disconnect()
    await expect(adapter.cache.get('k')).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
    await expect(adapter.get('k')).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
    await expect(adapter.clear()).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
  })

  it('leaves a Cache it was given open', async () => {
    const cache = memoryCache()
    const adapter = new KeyvTiercache(cache)
    await adapter.set('k', 'v')
    await adapter.disconnect()
    await expect(adapter.get('k')).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
    expect(await cache.get('k')).toBe('v')
  })

  it('refuses invalid cache options with TC_INVALID_OPTIONS', () => {
    expect(() => new KeyvTiercache({ ttl: -1 })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
  })

  it("forwards its own cache's tier failures to Keyv as TC_TIER_UNAVAILABLE errors, and keeps serving", async () => {
    // A directory where the SQLite file should be: the L3 tier cannot open.
    const sqlite = join(fixtures.root, 'not-a-file')
    mkdirSync(sqlite, { recursive: true })
    const keyv = new Keyv({ store: fixtures.adapter({ l3: { sqlite } }) })
    const errors = errorsOf(keyv)
    expect(await keyv.set('k', 'v')).toBe(true)
    expect(await keyv.get('k')).toBe('v')
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]).toBeInstanceOf(TierUnavailableError)
    expect(errors[0]).toMatchObject({ code: 'TC_TIER_UNAVAILABLE' })
    expect((errors[0] as Error).cause).toBeDefined()
  })

  it('does not throw on tier failures when nobody listens', async () => {
    const sqlite = join(fixtures.root, 'also-not-a-file')
    mkdirSync(sqlite, { recursive: true })
    const adapter = fixtures.adapter({ l3: { sqlite } })
    expect(await adapter.set('k', 'v')).toBe(true)
    expect(await adapter.get('k')).toBe('v')
  })
})
