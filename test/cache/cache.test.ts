import { describe, expect, it, vi } from 'vitest'
import { CorruptEntryError, createCache } from '../../src/index.js'
import { makeEntry } from '../tiers/conformance.js'
import { ControlledTier, FakeClock, cacheOver, gate, sleep } from '../helpers/cache.js'

describe('get and set', () => {
  it('misses, then serves what was set from L1', async () => {
    const { cache } = cacheOver(new ControlledTier())
    expect(await cache.get('k')).toBeUndefined()
    await cache.set('k', { fare: 420 })
    expect(await cache.get('k')).toEqual({ fare: 420 })
    expect((await cache.getWithInfo('k'))?.source).toBe('l1')
  })

  it('writes through to the shared tier', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('k', 'v', { tags: ['t'] })
    expect((await l3.store.get('default', 'k'))?.value).toBe('v')
  })

  it('backfills L1 from an L3 hit with the remaining ttl', async () => {
    const l3 = new ControlledTier()
    const { cache, l1 } = cacheOver(l3)
    const entry = makeEntry('default', 'k', 'from-l3', { freshMs: 30_000, staleMs: 10_000 })
    await l3.store.set(entry)
    const first = await cache.getWithInfo('k')
    expect(first).toMatchObject({ value: 'from-l3', source: 'l3', stale: false })
    const backfilled = l1?.peek('default:k', Date.now())
    expect(backfilled?.freshUntil).toBe(entry.freshUntil)
    expect(backfilled?.staleUntil).toBe(entry.staleUntil)
    expect((await cache.getWithInfo('k'))?.source).toBe('l1')
  })

  it('round-trips rich values through the shared tier without L1', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false })
    const value = { when: new Date(0), ids: new Set([1n, 2n]), index: new Map([['a', [1, 2]]]), raw: Buffer.from('hi') }
    await cache.set('rich', value)
    expect(await cache.get('rich')).toEqual(value)
  })

  it('returns a stale value only when asked', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const now = Date.now()
    await l3.store.set({ ...makeEntry('default', 'k', 'old'), freshUntil: now - 1, staleUntil: now + 60_000 })
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getWithInfo('k', { allowStale: true })).toMatchObject({ value: 'old', stale: true, source: 'l3' })
  })

  it('gets many in order, asking the shared tier once for the L1 misses', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('a', 1)
    await l3.store.set(makeEntry('default', 'b', 2))
    l3.calls = 0
    const values = await cache.getMany(['a', 'b', 'c'])
    expect(values).toEqual([1, 2, undefined])
    expect(Object.keys(values)).toEqual(['0', '1', '2']) // dense: callers iterate with for...in
    expect(l3.calls).toBe(1)
  })

  it('deletes from every tier', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('k', 1)
    expect(await cache.delete('k')).toBe(true)
    expect(await cache.get('k')).toBeUndefined()
    expect(await l3.store.get('default', 'k')).toBeUndefined()
    expect(await cache.delete('k')).toBe(false)
  })
})

describe('getOrSet', () => {
  it('runs the factory once for concurrent callers (single flight)', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const factory = vi.fn(async () => {
      await sleep(20)
      return 'value'
    })
    const results = await Promise.all(Array.from({ length: 100 }, () => cache.getOrSet('cold', factory)))
    expect(factory).toHaveBeenCalledTimes(1)
    expect(new Set(results)).toEqual(new Set(['value']))
    expect((await cache.stats()).coalesced).toBe(99)
  })

  it('caches the result and reports where it came from', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const factory = vi.fn(() => 42)
    expect(await cache.getOrSetWithInfo('k', factory)).toMatchObject({ value: 42, source: 'origin', stale: false })
    expect(await cache.getOrSetWithInfo('k', factory)).toMatchObject({ value: 42, source: 'l1' })
    expect(factory).toHaveBeenCalledTimes(1)
  })

  it('lets the factory set ttl and tags, or skip caching', async () => {
    const { cache, l1 } = cacheOver(new ControlledTier())
    const before = Date.now()
    await cache.getOrSet('k', (ctx) => {
      ctx.setTtl('1h')
      ctx.setTags(['from-ctx'])
      return 1
    })
    const entry = l1?.peek('default:k', Date.now())
    expect(entry?.freshUntil).toBeGreaterThanOrEqual(before + 3_600_000)
    expect(entry?.tags).toEqual(['from-ctx'])
    await cache.invalidateTags(['from-ctx'])
    expect(await cache.get('k')).toBeUndefined()

    expect(await cache.getOrSet('skipped', (ctx) => (ctx.skip(), 'fresh'))).toBe('fresh')
    expect(await cache.get('skipped')).toBeUndefined()
  })

  it('serves the stale value when the factory throws (fail-safe)', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const now = Date.now()
    await l3.store.set({ ...makeEntry('default', 'k', 'stale'), freshUntil: now - 1, staleUntil: now + 60_000 })
    const failures: unknown[] = []
    cache.on('factory:error', (event) => failures.push(event.servedStale))
    const result = await cache.getOrSetWithInfo('k', () => {
      throw new Error('origin down')
    })
    expect(result).toMatchObject({ value: 'stale', stale: true })
    expect(failures).toEqual([true])
  })

  it('rejects with FactoryError when the factory throws and nothing is stale', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const origin = new Error('origin down')
    const error = await cache.getOrSet('k', () => Promise.reject(origin)).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TC_FACTORY_ERROR', cause: origin })
    // the failure is not cached: the next call runs the factory again
    expect(await cache.getOrSet('k', () => 'ok')).toBe('ok')
  })

  it('serves stale after the soft timeout and stores the late result', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const now = Date.now()
    await l3.store.set({ ...makeEntry('default', 'k', 'stale'), freshUntil: now - 1, staleUntil: now + 60_000 })
    const slow = gate()
    const result = await cache.getOrSetWithInfo(
      'k',
      async () => {
        await slow.promise
        return 'fresh'
      },
      { timeout: 10 },
    )
    expect(result).toMatchObject({ value: 'stale', stale: true })
    // a caller arriving while the refresh runs also gets the stale value, without a second factory
    const second = vi.fn(() => 'second')
    expect(await cache.getOrSet('k', second, { timeout: 10 })).toBe('stale')
    expect(second).not.toHaveBeenCalled()
    slow.open()
    await vi.waitFor(async () => expect(await cache.get('k')).toBe('fresh'))
  })

  it('rejects with FactoryTimeoutError past the hard timeout and aborts the factory', async () => {
    const { cache } = cacheOver(new ControlledTier())
    let signal: AbortSignal | undefined
    const error = await cache
      .getOrSet(
        'k',
        (ctx) => {
          signal = ctx.signal
          return new Promise<string>(() => {})
        },
        { hardTimeout: 10 },
      )
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'TC_FACTORY_TIMEOUT' })
    expect(signal?.aborted).toBe(true)
  })

  it('does not cache undefined results', async () => {
    const { cache } = cacheOver(new ControlledTier())
    expect(await cache.getOrSet('k', () => undefined)).toBeUndefined()
    expect(await cache.getOrSet('k', () => 'then')).toBe('then')
  })
})

describe('invalidation', () => {
  it('removes tagged entries from every tier, only in its namespace', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const other = cache.namespace('other')
    await cache.set('jfk-lhr', 1, { tags: ['route:JFK:LHR'] })
    await cache.set('jfk-cdg', 2, { tags: ['route:JFK:CDG'] })
    await other.set('jfk-lhr', 3, { tags: ['route:JFK:LHR'] })
    await cache.invalidateTags(['route:JFK:LHR'])
    expect(await cache.get('jfk-lhr')).toBeUndefined()
    expect(await l3.store.get('default', 'jfk-lhr')).toBeUndefined()
    expect(await cache.get('jfk-cdg')).toBe(2)
    expect(await other.get('jfk-lhr')).toBe(3)
  })

  it('removes tagged entries in every namespace when asked', async () => {
    const { cache } = cacheOver(new ControlledTier())
    await cache.set('k', 1, { tags: ['shared'] })
    await cache.namespace('other').set('k', 2, { tags: ['shared'] })
    await cache.namespace('other').set('kept', 3, { tags: ['own'] })
    await cache.invalidateTags(['shared'], { allNamespaces: true })
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.namespace('other').get('k')).toBeUndefined()
    expect(await cache.namespace('other').get('kept')).toBe(3)
  })

  it('keeps a factory that started before an invalidation from storing its result', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const slow = gate()
    const started = gate()
    const pending = cache.getOrSet(
      'k',
      async () => {
        started.open()
        await slow.promise
        return 'outdated'
      },
      { tags: ['t'] },
    )
    await started.promise
    await cache.invalidateTags(['t'])
    slow.open()
    expect(await pending).toBe('outdated')
    expect(await cache.get('k')).toBeUndefined()
    expect(await l3.store.get('default', 'k')).toBeUndefined()
  })

  it('keeps a factory from overwriting a set or delete that came after it started', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const slow = gate()
    const started = gate()
    const pending = cache.getOrSet('k', async () => (started.open(), await slow.promise, 'from-factory'))
    await started.promise
    await cache.set('k', 'from-set')
    slow.open()
    await pending
    expect(await cache.get('k')).toBe('from-set')
  })

  it('does not backfill an entry read before an invalidation that finished meanwhile', async () => {
    const l3 = new ControlledTier()
    const { cache, l1 } = cacheOver(l3)
    await l3.store.set(makeEntry('default', 'k', 'old', { tags: ['t'] }))
    const release = l3.hold()
    const read = cache.getWithInfo('k')
    await l3.reached()
    // the invalidation's own calls must not wait on the held get
    const invalidated = cache.invalidateTags(['t'])
    await invalidated
    release()
    await read
    expect(l1?.peek('default:k', Date.now())).toBeUndefined()
    expect(await cache.get('k')).toBeUndefined()
  })

  it('clears one namespace', async () => {
    const { cache } = cacheOver(new ControlledTier())
    await cache.set('k', 1)
    await cache.namespace('other').set('k', 2)
    await cache.clear()
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.namespace('other').get('k')).toBe(2)
  })
})

describe('tier failures', () => {
  it('never fails the caller, and opens the circuit after repeated failures', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: { failureThreshold: 3, openFor: 50 } }, undefined, clock.now)
    const errors: string[] = []
    const circuit: string[] = []
    cache.on('tier:error', (event) => errors.push(event.operation))
    cache.on('circuit:change', (event) => circuit.push(event.state))
    l3.failing = true
    for (let i = 0; i < 10; i++) expect(await cache.getOrSet(`k${i}`, () => i)).toBe(i)
    expect(circuit).toEqual(['open'])
    const callsWhileOpen = l3.calls
    await cache.set('x', 1)
    expect(l3.calls).toBe(callsWhileOpen)
    expect(cache.health().find((t) => t.level === 'l3')?.circuit).toBe('open')

    l3.failing = false
    clock.advance(50)
    await cache.set('y', 2) // the probe
    expect(circuit).toEqual(['open', 'half-open', 'closed'])
    expect(await cache.get('y')).toBe(2)
    expect(errors.length).toBeGreaterThanOrEqual(3)
  })

  it('treats a corrupt stored entry as a miss and removes it', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await l3.store.set(makeEntry('default', 'k', 'v'))
    const events: string[] = []
    cache.on('entry:corrupt', (event) => events.push(event.key))
    vi.spyOn(l3, 'get').mockRejectedValueOnce(new CorruptEntryError('bad bytes'))
    expect(await cache.get('k')).toBeUndefined()
    await vi.waitFor(async () => expect(await l3.store.get('default', 'k')).toBeUndefined())
    expect(events).toEqual(['k'])
    expect(cache.health().find((t) => t.level === 'l3')?.circuit).toBe('closed')
  })
})

describe('corrupt entries in a batch', () => {
  it('drops only the undecodable entry of a getMany', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false })
    await l3.store.set(makeEntry('default', 'a', 1))
    await l3.store.set(makeEntry('default', 'b', 2))
    vi.spyOn(l3, 'getMany').mockRejectedValueOnce(new CorruptEntryError('bad bytes'))
    const realGet = l3.get.bind(l3)
    vi.spyOn(l3, 'get').mockImplementation(async (ns, key) => {
      if (key === 'b') throw new CorruptEntryError('bad bytes')
      return realGet(ns, key)
    })
    expect(await cache.getMany(['a', 'b'])).toEqual([1, undefined])
    await vi.waitFor(async () => expect(await l3.store.get('default', 'b')).toBeUndefined())
    expect((await l3.store.get('default', 'a'))?.value).toBe(1)
  })
})

describe('input validation', () => {
  const { cache } = cacheOver(new ControlledTier())
  const code = (promise: Promise<unknown>) => promise.then(() => 'resolved', (e: { code?: string }) => e.code)

  it.each([
    ['empty', ''],
    ['NUL', 'a\0b'],
    ['lone surrogate', 'a\uD800'],
    ['too long', 'x'.repeat(1025)],
    ['not a string', 42 as unknown as string],
  ])('rejects a key that is %s', async (_, key) => {
    expect(await code(cache.set(key, 1))).toBe('TC_INVALID_KEY')
    expect(await code(cache.get(key))).toBe('TC_INVALID_KEY')
    expect(await code(cache.getOrSet(key, () => 1))).toBe('TC_INVALID_KEY')
    expect(await code(cache.delete(key))).toBe('TC_INVALID_KEY')
  })

  it('rejects values it cannot store, and leaves the old value', async () => {
    await cache.set('k', 'kept')
    expect(await code(cache.set('k', undefined))).toBe('TC_INVALID_VALUE')
    expect(await code(cache.set('k', () => 1))).toBe('TC_INVALID_VALUE')
    expect(await code(cache.set('k', 'x'.repeat(2 * 1024 * 1024)))).toBe('TC_VALUE_TOO_LARGE')
    expect(await cache.get('k')).toBe('kept')
  })

  it('rejects bad ttls and tags', async () => {
    expect(await code(cache.set('k', 1, { ttl: -1 }))).toBe('TC_INVALID_DURATION')
    expect(await code(cache.set('k', 1, { ttl: 0 }))).toBe('TC_INVALID_DURATION')
    expect(await code(cache.set('k', 1, { ttl: '5 parsecs' }))).toBe('TC_INVALID_DURATION')
    expect(await code(cache.set('k', 1, { tags: [''] }))).toBe('TC_INVALID_TAG')
    expect(await code(cache.set('k', 1, { tags: 'not-a-list' as unknown as string[] }))).toBe('TC_INVALID_TAG')
    expect(await code(cache.set('k', 1, { tags: Array.from({ length: 65 }, (_, i) => `t${i}`) }))).toBe('TC_INVALID_TAG')
    expect(await code(cache.invalidateTags(['a\0']))).toBe('TC_INVALID_TAG')
  })

  it('rejects bad options and namespaces at construction', () => {
    expect(() => createCache({ ttl: 'soon' })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => createCache({ l1: { maxEntries: -1 } })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => createCache({ l3: false, namespace: 'a:b' })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => createCache({ l3: false }).namespace('a/b')).toThrow(expect.objectContaining({ code: 'TC_INVALID_NAMESPACE' }))
  })

  it('rejects calls after close', async () => {
    const { cache: closed } = cacheOver(new ControlledTier())
    await closed.set('k', 1)
    await closed.close()
    expect(await code(closed.get('k'))).toBe('TC_CACHE_CLOSED')
    expect(await code(closed.getOrSet('k', () => 1))).toBe('TC_CACHE_CLOSED')
  })
})

describe('stats', () => {
  it('counts requests, hits per tier and origin calls', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.getOrSet('a', () => 1) // origin
    await cache.getOrSet('a', () => 1) // l1
    await l3.store.set(makeEntry('default', 'b', 2))
    await cache.get('b') // l3
    const stats = await cache.stats()
    expect(stats.requests).toBe(3)
    expect(stats.tiers.l1).toMatchObject({ hits: 1, misses: 2 })
    expect(stats.tiers.l3).toMatchObject({ hits: 1, misses: 1, entries: 2 })
    expect(stats.origin.calls).toBe(1)
    expect(stats.hitRatio).toBeCloseTo(2 / 3)
  })
})
