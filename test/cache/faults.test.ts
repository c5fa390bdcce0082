import { describe, expect, it } from 'vitest'
import { GuardedTier } from '../../src/cache/guarded-tier.js'
import { makeEntry } from '../tiers/conformance.js'
import { ControlledTier, cacheOver, sleep } from '../helpers/cache.js'

const breaker = { failureThreshold: 1, openFor: 30 }

describe('a shared tier that misses removals', () => {
  it('replays a delete it missed before it serves again', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: breaker })
    await cache.set('k', 'old')
    l3.failing = true
    await cache.delete('k')
    expect((await l3.store.get('default', 'k'))?.value).toBe('old') // the tier never saw the delete
    l3.failing = false
    await sleep(40)
    expect(await cache.get('k')).toBeUndefined()
    expect(await l3.store.get('default', 'k')).toBeUndefined()
  })

  it('replays a tag invalidation it missed, while its circuit was open', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: breaker })
    await cache.set('a', 1, { tags: ['t'] })
    await cache.set('b', 2)
    l3.failing = true
    await cache.get('x') // opens the circuit
    await cache.invalidateTags(['t']) // skipped: circuit open
    l3.failing = false
    await sleep(40)
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, 2])
  })

  it('removes the value a failed write was replacing', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: breaker })
    await cache.set('k', 'v1')
    l3.failing = true
    await cache.set('k', 'v2')
    l3.failing = false
    await sleep(40)
    expect(await cache.get('k')).toBeUndefined() // not v1
    await cache.set('k', 'v3')
    expect(await cache.get('k')).toBe('v3')
  })

  it('answers a miss, not the old value, while the replay itself fails', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, circuitBreaker: { failureThreshold: 100, openFor: 30 } })
    await cache.set('k', 'old')
    l3.failing = true
    await cache.delete('k')
    // the tier answers reads again, but deletes still fail: the replay fails, so the read is a miss
    const realGet = l3.store.get.bind(l3.store)
    l3.get = async (ns, key) => realGet(ns, key)
    expect(await cache.get('k')).toBeUndefined()
  })
})

describe('a shared tier that hangs', () => {
  it('times out each call, so the caller gets its answer from the origin', async () => {
    const l3 = new ControlledTier()
    const { cache } = cacheOver(l3, { l1: false, tierTimeout: 50 })
    await l3.store.set(makeEntry('default', 'k', 'cached'))
    const release = l3.hold()
    const errors: string[] = []
    cache.on('tier:error', (event) => errors.push(String((event.error as { code?: string }).code)))
    const started = Date.now()
    expect(await cache.getOrSet('k', () => 'origin')).toBe('origin')
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(errors).toContain('TC_TIER_UNAVAILABLE')
    release()
  })
})

describe('GuardedTier', () => {
  it('clears the tier instead when more removals were missed than it remembers', async () => {
    const tier = new ControlledTier()
    const guarded = new GuardedTier('l3', tier, {
      failureThreshold: 100,
      openForMs: 10,
      timeoutMs: 1_000,
      maxRepairs: 2,
      onFailure: () => {},
      onCircuit: () => {},
    })
    await tier.store.set(makeEntry('ns', 'kept-by-nobody', 1))
    for (const key of ['a', 'b', 'c']) guarded.missed({ kind: 'key', namespace: 'ns', key })
    expect(guarded.pendingRepairs).toBe(1) // one clear
    expect(await guarded.call('count', (t) => t.count())).toBe(0)
    expect(guarded.pendingRepairs).toBe(0)
  })

  it('keeps repairs that could not be replayed, in order', async () => {
    const tier = new ControlledTier()
    const failures: string[] = []
    const guarded = new GuardedTier('l3', tier, {
      failureThreshold: 100,
      openForMs: 10,
      timeoutMs: 1_000,
      maxRepairs: 100,
      onFailure: (operation) => failures.push(operation),
      onCircuit: () => {},
    })
    await tier.store.set(makeEntry('ns', 'a', 1))
    await tier.store.set(makeEntry('ns', 'b', 2))
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'a' })
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'b' })
    tier.failing = true
    expect(typeof (await guarded.call('get', (t) => t.get('ns', 'a')))).toBe('symbol')
    expect(failures).toEqual(['repair'])
    expect(guarded.pendingRepairs).toBe(2)
    tier.failing = false
    expect(await guarded.call('get', (t) => t.get('ns', 'b'))).toBeUndefined()
    expect(guarded.pendingRepairs).toBe(0)
  })
})
