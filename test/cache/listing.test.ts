/**
 * Cache.keys and Cache.entries: which tier they list, paging, what they skip, and how they fail.
 */
import { describe, expect, it } from 'vitest'
import type { Entry } from '../../src/core/entry.js'
import { CacheClosedError, type Cache, InvalidOptionsError, TierUnavailableError, type TierErrorEvent } from '../../src/index.js'
import type { KeyPage } from '../../src/tiers/tier.js'
import { ControlledTier, FakeClock, cacheOver } from '../helpers/cache.js'
import { makeEntry } from '../tiers/conformance.js'

/** Everything an async iterable yields. */
async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = []
  for await (const item of iterable) items.push(item)
  return items
}

/** The error an iteration ends with, with what it yielded before. */
async function collectUntilError<T>(iterable: AsyncIterable<T>): Promise<{ items: T[]; error: unknown }> {
  const items: T[] = []
  try {
    for await (const item of iterable) items.push(item)
  } catch (error) {
    return { items, error }
  }
  throw new Error('expected the iteration to fail')
}

/** An entry past its ttl but within grace. */
function gracedEntry(namespace: string, key: string, value: unknown): Entry {
  const now = Date.now()
  return { ...makeEntry(namespace, key, value, { createdAt: now - 10_000 }), freshUntil: now - 1, staleUntil: now + 60_000 }
}

/** An entry past its grace too. */
function expiredEntry(namespace: string, key: string, value: unknown): Entry {
  const now = Date.now()
  return { ...makeEntry(namespace, key, value, { createdAt: now - 10_000 }), freshUntil: now - 2, staleUntil: now - 1 }
}

/** Counts the pages asked of it. */
class CountingTier extends ControlledTier {
  pages: KeyPage[] = []
  override async keys(namespace: string, page: KeyPage): Promise<string[]> {
    this.pages.push(page)
    return super.keys(namespace, page)
  }
}

describe('Cache.keys', () => {
  it('lists the L3 tier, which holds what L1 holds and more, in its order, each key once', async () => {
    const l3 = new ControlledTier()
    const { cache, l1 } = cacheOver(l3)
    await cache.set('b', 2)
    await cache.set('a', 1)
    // written by another process: in L3 only
    await l3.store.set(makeEntry('default', 'c', 3))
    await l3.store.set(makeEntry('default', 'e', 5))
    await l3.store.set(makeEntry('default', 'd', 4))
    expect(l1?.size).toBe(2)
    expect(await collect(cache.keys())).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(await collect(cache.keys({ pageSize: 2 }))).toEqual(['a', 'b', 'c', 'd', 'e'])
    expect(await collect(cache.keys({ pageSize: 1 }))).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('resumes strictly after a given key, which need not be stored, and rejects an empty one', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    for (const key of ['a', 'b', 'c', 'd']) await cache.set(key, key)
    expect(await collect(cache.keys({ after: 'b', pageSize: 1 }))).toEqual(['c', 'd'])
    expect(await collect(cache.keys({ after: 'bb' }))).toEqual(['c', 'd'])
    expect(await collect(cache.entries({ after: 'c' }))).toEqual([['d', 'd']])
    expect(() => cache.keys({ after: '' })).toThrow(InvalidOptionsError)
  })

  it('lists L1 when the cache has no shared tier', async () => {
    const { cache } = cacheOver(undefined)
    for (const key of ['y', 'x', 'z']) await cache.set(key, key)
    expect(await collect(cache.keys({ pageSize: 2 }))).toEqual(['x', 'y', 'z'])
  })

  it('lists nothing when the cache has no tier at all', async () => {
    const { cache } = cacheOver(undefined, { l1: false })
    await cache.set('k', 1)
    expect(await collect(cache.keys())).toEqual([])
  })

  it('lists its own namespace only', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('mine', 1)
    await cache.namespace('other').set('theirs', 2)
    await cache.namespace('default2').set('neighbour', 3)
    expect(await collect(cache.keys())).toEqual(['mine'])
    expect(await collect(cache.namespace('other').keys())).toEqual(['theirs'])
    expect(await collect(cache.namespace('empty').keys())).toEqual([])
  })

  it('pages by 500 by default, walking the cursor until a short page', async () => {
    const l3 = new CountingTier()
    const { cache } = cacheOver(l3, { l1: false })
    const keys = Array.from({ length: 1_000 }, (_, i) => `k${String(i).padStart(4, '0')}`)
    for (const key of keys) await l3.store.set(makeEntry('default', key, key))
    expect(await collect(cache.keys())).toEqual(keys)
    // 500 + 500, then an empty page tells the end
    expect(l3.pages).toEqual([{ limit: 500 }, { after: 'k0499', limit: 500 }, { after: 'k0999', limit: 500 }])
    l3.pages = []
    expect(await collect(cache.keys({ pageSize: 300 }))).toHaveLength(1_000)
    expect(l3.pages.map((page) => page.after)).toEqual([undefined, 'k0299', 'k0599', 'k0899'])
  })

  it('fetches pages as the caller consumes them, not ahead', async () => {
    const l3 = new CountingTier()
    const { cache } = cacheOver(l3, { l1: false })
    for (let i = 0; i < 10; i++) await l3.store.set(makeEntry('default', `k${i}`, i))
    const iterator = cache.keys({ pageSize: 4 })
    expect(l3.pages).toEqual([])
    for (let i = 0; i < 4; i++) await iterator.next()
    expect(l3.pages).toHaveLength(1)
    await iterator.next()
    expect(l3.pages).toHaveLength(2)
    await iterator.return?.()
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })

  it('lists entries within grace, and not expired ones', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('fresh', 1)
    await l3.store.set(gracedEntry('default', 'graced', 2))
    await l3.store.set(expiredEntry('default', 'expired', 3))
    expect(await collect(cache.keys())).toEqual(['fresh', 'graced'])
  })

  it('rejects a bad pageSize at once with TC_INVALID_OPTIONS', async () => {
    const { cache } = cacheOver(new ControlledTier())
    for (const pageSize of [0, -1, 1.5, 10_001, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => cache.keys({ pageSize }), String(pageSize)).toThrow(InvalidOptionsError)
      expect(() => cache.entries({ pageSize }), String(pageSize)).toThrow(InvalidOptionsError)
    }
    expect(await collect(cache.keys({ pageSize: 10_000 }))).toEqual([])
  })

  it('is refused on a closed cache, and stops at the next page when the cache closes meanwhile', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i)
    const iterator = cache.keys({ pageSize: 2 })
    expect((await iterator.next()).value).toBe('k0')
    expect((await iterator.next()).value).toBe('k1')
    await cache.close()
    await expect(iterator.next()).rejects.toBeInstanceOf(CacheClosedError)
    expect(() => cache.keys()).toThrow(CacheClosedError)
    expect(() => cache.entries()).toThrow(CacheClosedError)
  })
})

describe('Cache.keys and entries when the listing tier fails', () => {
  function failingSetUp(): { cache: Cache; l3: ControlledTier; errors: TierErrorEvent[] } {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { circuitBreaker: { failureThreshold: 2, openFor: 60_000 } })
    const errors: TierErrorEvent[] = []
    cache.on('tier:error', (event) => errors.push(event))
    return { cache, l3, errors }
  }

  it('rejects with TC_TIER_UNAVAILABLE and the cause, rather than list L1 alone or nothing', async () => {
    const { cache, l3, errors } = failingSetUp()
    await cache.set('in-l1-too', 1)
    l3.failing = true
    for (const iteration of [cache.keys(), cache.entries()]) {
      const { items, error } = await collectUntilError<unknown>(iteration)
      expect(items).toEqual([])
      expect(error).toBeInstanceOf(TierUnavailableError)
      expect(error).toMatchObject({ code: 'TC_TIER_UNAVAILABLE', statusCode: 503 })
      expect(((error as Error).cause as Error).message).toBe('tier down')
    }
    // counted and reported like any tier failure
    expect(errors.map((event) => [event.level, event.operation])).toEqual([
      ['l3', 'keys'],
      ['l3', 'keys'],
    ])
    expect((await cache.stats()).tiers.l3?.errors).toBe(2)
    // reads still answer from the tiers that work
    expect(await cache.get('in-l1-too')).toBe(1)
  })

  it('fails fast while the circuit is open, without calling the tier, and lists again once it closes', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheOver(l3, { circuitBreaker: { failureThreshold: 1, openFor: 50 } }, undefined, clock.now)
    await cache.set('k', 1)
    l3.failing = true
    await expect(collect(cache.keys())).rejects.toBeInstanceOf(TierUnavailableError)
    expect(cache.health().find((tier) => tier.level === 'l3')?.circuit).toBe('open')
    l3.failing = false
    const calls = l3.calls
    const { error } = await collectUntilError(cache.keys())
    expect(error).toBeInstanceOf(TierUnavailableError)
    expect((error as Error).message).toMatch(/circuit is open/)
    expect(l3.calls).toBe(calls)
    clock.advance(50)
    expect(await collect(cache.keys())).toEqual(['k'])
    expect(cache.health().find((tier) => tier.level === 'l3')?.circuit).toBe('closed')
  })

  it('ends with the error after the pages it did list', async () => {
    const { cache, l3 } = failingSetUp()
    for (let i = 0; i < 5; i++) await cache.set(`k${i}`, i)
    const iterator = cache.keys({ pageSize: 2 })
    expect((await iterator.next()).value).toBe('k0')
    expect((await iterator.next()).value).toBe('k1')
    l3.failing = true
    await expect(iterator.next()).rejects.toMatchObject({ code: 'TC_TIER_UNAVAILABLE' })
    // a generator that threw is done
    expect(await iterator.next()).toEqual({ done: true, value: undefined })
  })
})

describe('Cache.entries', () => {
  it('yields [key, value] for every fresh entry, in the listing order, across pages', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('b', { fare: 2 })
    await cache.set('a', { fare: 1 })
    await l3.store.set(makeEntry('default', 'c', { fare: 3 }))
    await cache.namespace('other').set('x', 'not mine')
    const expected = [
      ['a', { fare: 1 }],
      ['b', { fare: 2 }],
      ['c', { fare: 3 }],
    ]
    expect(await collect(cache.entries())).toEqual(expected)
    expect(await collect(cache.entries<{ fare: number }>({ pageSize: 1 }))).toEqual(expected)
  })

  it('skips stale values (listed by keys) and expired ones', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('fresh', 1)
    await l3.store.set(gracedEntry('default', 'graced', 2))
    await l3.store.set(expiredEntry('default', 'expired', 3))
    expect(await collect(cache.keys())).toEqual(['fresh', 'graced'])
    expect(await collect(cache.entries())).toEqual([['fresh', 1]])
  })

  it('skips keys whose entry went between the listing and the read', async () => {
    // Lists a page, then removes its second key, as a concurrent delete would.
    class RacingTier extends ControlledTier {
      override async keys(namespace: string, page: KeyPage): Promise<string[]> {
        const keys = await super.keys(namespace, page)
        if (keys[1] !== undefined) await this.store.delete(namespace, keys[1])
        return keys
      }
    }
    const l3 = new RacingTier()
    const { cache } = cacheOver(l3, { l1: false })
    for (const key of ['a', 'b', 'c', 'd', 'e']) await l3.store.set(makeEntry('default', key, key.toUpperCase()))
    // page [a b c] loses b, then page [d e] loses e, each after being listed
    expect(await collect(cache.entries({ pageSize: 3 }))).toEqual([
      ['a', 'A'],
      ['c', 'C'],
      ['d', 'D'],
    ])
  })

  it('reads each page with one call to the shared tier, and does not fill L1 with what it reads', async () => {
    const l3 = new CountingTier()
    const { cache, l1 } = cacheOver(l3)
    for (let i = 0; i < 10; i++) await l3.store.set(makeEntry('default', `k${i}`, i))
    l3.calls = 0
    expect(await collect(cache.entries({ pageSize: 5 }))).toHaveLength(10)
    // 3 pages of keys (5, 5, 0) and 2 batches of values
    expect(l3.calls).toBe(5)
    expect(l1?.size).toBe(0)
    // an ordinary read does backfill
    await cache.getMany(['k0', 'k1'])
    expect(l1?.size).toBe(2)
  })

  it('serves values L1 holds from L1, counting the reads in stats', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    await cache.set('a', 1)
    await l3.store.set(makeEntry('default', 'b', 2))
    const before = await cache.stats()
    expect(await collect(cache.entries())).toEqual([
      ['a', 1],
      ['b', 2],
    ])
    const after = await cache.stats()
    expect(after.requests - before.requests).toBe(2)
    expect((after.tiers.l1?.hits ?? 0) - (before.tiers.l1?.hits ?? 0)).toBe(1)
    expect((after.tiers.l3?.hits ?? 0) - (before.tiers.l3?.hits ?? 0)).toBe(1)
  })

  it('yields stored keys longer than this cache allows, written by a cache with larger limits', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { limits: { maxKeyLength: 16 } })
    const long = 'k'.repeat(100)
    await l3.store.set(makeEntry('default', long, 'long'))
    expect(await collect(cache.entries())).toEqual([[long, 'long']])
    await expect(cache.get(long)).rejects.toMatchObject({ code: 'TC_INVALID_KEY' })
  })

  it('lists a memory-only cache from L1', async () => {
    const { cache } = cacheOver(undefined)
    await cache.set('k1', 'one')
    await cache.set('k2', 'two', { ttl: 1 })
    await new Promise((resolve) => setTimeout(resolve, 5))
    expect(await collect(cache.entries())).toEqual([['k1', 'one']])
  })
})
