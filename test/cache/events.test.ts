import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import type { CacheEventName, CacheEvents } from '../../src/cache/events.js'
import type { TierStack } from '../../src/cache/tier-stack.js'
import { SEALED } from '../../src/core/codec.js'
import { makeEntry } from '../tiers/conformance.js'
import { ControlledTier, cacheOver } from '../helpers/cache.js'

/** Everything `cache` emits of `names`, in order, as `[name, payload]`. */
function record<E extends CacheEventName>(cache: Cache, ...names: E[]): [E, CacheEvents[E][0]][] {
  const seen: [E, CacheEvents[E][0]][] = []
  for (const name of names) cache.on(name, ((payload: CacheEvents[E][0]) => seen.push([name, payload])) as never)
  return seen
}

function stackOf(cache: Cache): TierStack {
  return (cache as unknown as { core: { stack: TierStack } }).core.stack
}

const staleEntry = (key: string, value: unknown) => {
  const now = Date.now()
  return { ...makeEntry('default', key, value), freshUntil: now - 1, staleUntil: now + 60_000 }
}

const deadEntry = (key: string, value: unknown) => {
  const now = Date.now()
  return { ...makeEntry('default', key, value), freshUntil: now - 2, staleUntil: now - 1 }
}

describe('engine events', () => {
  it('reports hits per tier, and misses as absent, down the stack', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const seen = record(cache, 'tier:hit', 'tier:miss')
    expect(await cache.get('k')).toBeUndefined()
    await l3.store.set(makeEntry('default', 'k', 'v'))
    await cache.get('k') // L3 hit, backfilled
    await cache.get('k') // L1 hit, on the fast path
    expect(seen).toEqual([
      ['tier:miss', { level: 'l1', namespace: 'default', key: 'k', reason: 'absent' }],
      ['tier:miss', { level: 'l3', namespace: 'default', key: 'k', reason: 'absent' }],
      ['tier:miss', { level: 'l1', namespace: 'default', key: 'k', reason: 'absent' }],
      ['tier:hit', { level: 'l3', namespace: 'default', key: 'k' }],
      ['tier:hit', { level: 'l1', namespace: 'default', key: 'k' }],
    ])
  })

  it('tells why L1 missed: expired, invalidated, evicted, suspended', async () => {
    const { cache, l1 } = cacheOver(new ControlledTier(), { l1: { maxEntries: 1 } })
    const misses = record(cache, 'tier:miss')
    const l1Reason = () => misses.filter(([, miss]) => miss.level === 'l1').map(([, miss]) => [miss.key, miss.reason])

    l1?.put(staleEntry('old', 1))
    await cache.get('old')
    await cache.set('deleted', 1)
    await cache.delete('deleted')
    await cache.get('deleted')
    await cache.set('first', 1)
    await cache.set('second', 2) // evicts 'first' (maxEntries 1)
    await cache.get('first')
    stackOf(cache).distrustL1()
    await cache.get('second')
    expect(l1Reason()).toEqual([
      ['old', 'expired'],
      ['deleted', 'invalidated'],
      ['first', 'evicted'],
      ['second', 'suspended'],
    ])
  })

  it('reports a failing shared tier as unavailable and an undecodable entry as unreadable', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false })
    const misses = record(cache, 'tier:miss')
    // A sealed mark on a public entry cannot be opened: corrupt, dropped.
    await l3.store.set({ ...makeEntry('default', 'sealed', 'x'), value: SEALED })
    await cache.get('sealed')
    l3.failing = true
    await cache.get('k')
    expect(misses.map(([, miss]) => [miss.level, miss.key, miss.reason])).toEqual([
      ['l3', 'sealed', 'unreadable'],
      ['l3', 'k', 'unavailable'],
    ])
  })

  it('reports stale values served, with why', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false })
    const stale = record(cache, 'entry:stale')
    await l3.store.set(staleEntry('k', 'old'))
    expect(await cache.get('k', { allowStale: true })).toBe('old')
    expect(
      await cache.getOrSet('k', () => {
        throw new Error('origin down')
      }),
    ).toBe('old')
    expect(stale).toEqual([
      ['entry:stale', { level: 'l3', namespace: 'default', key: 'k', reason: 'requested' }],
      ['entry:stale', { level: 'l3', namespace: 'default', key: 'k', reason: 'factory-error' }],
    ])
  })

  it('reports writes to each tier, backfills apart', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3)
    const writes = record(cache, 'tier:write')
    await cache.set('k', 1)
    await l3.store.set(makeEntry('default', 'lower', 2))
    await cache.get('lower')
    expect(writes.map(([, write]) => [write.level, write.key, write.backfill])).toEqual([
      ['l1', 'k', false],
      ['l3', 'k', false],
      ['l1', 'lower', true],
    ])
  })

  it('reports L1 evictions by count, by size and by expiry', async () => {
    const byCount = cacheOver(undefined, { l1: { maxEntries: 1 } })
    const evictions = record(byCount.cache, 'entry:evict')
    await byCount.cache.set('a', 1)
    await byCount.cache.set('b', 2)
    byCount.l1?.put(deadEntry('c', 3)) // evicts 'b', and is past its grace
    await byCount.cache.get('c')

    const bySize = cacheOver(undefined, { l1: { maxBytes: 1_000 } })
    const sizeEvictions = record(bySize.cache, 'entry:evict')
    await bySize.cache.set('a', 'x'.repeat(400))
    await bySize.cache.set('b', 'x'.repeat(400))
    expect(evictions.map(([, e]) => [e.key, e.reason])).toEqual([
      ['a', 'count'],
      ['b', 'count'],
      ['c', 'expired'],
    ])
    expect(sizeEvictions.map(([, e]) => [e.level, e.key, e.reason])).toEqual([['l1', 'a', 'size']])
  })

  it('reports removals made here and heard from other instances', async () => {
    const { cache } = cacheOver(new ControlledTier())
    const removals = record(cache, 'removal')
    await cache.delete('k')
    await cache.invalidateTags(['t'])
    stackOf(cache).applyRemote({ type: 'set', namespace: 'default', keys: ['a', 'b'] })
    expect(removals.map(([, r]) => [r.removal, r.remote])).toEqual([
      [{ kind: 'key', namespace: 'default', key: 'k' }, false],
      [{ kind: 'tags', namespace: 'default', tags: ['t'] }, false],
      [{ kind: 'key', namespace: 'default', key: 'a' }, true],
      [{ kind: 'key', namespace: 'default', key: 'b' }, true],
    ])
  })

  it('stops calling a listener once it is removed, and then costs nothing', async () => {
    const { cache } = cacheOver(undefined)
    const hits: string[] = []
    const listener = ({ key }: { key: string }) => void hits.push(key)
    cache.on('tier:hit', listener)
    await cache.set('k', 1)
    await cache.getOrSet('k', () => 2)
    cache.off('tier:hit', listener)
    await cache.getOrSet('k', () => 2)
    expect(hits).toEqual(['k'])
    const events = (cache as unknown as { core: { events: { heard: Record<string, boolean> } } }).core.events
    expect(events.heard['tier:hit']).toBe(false)
  })
})
