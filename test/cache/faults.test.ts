import { describe, expect, it } from 'vitest'
import { GuardedTier, type GuardedTierOptions } from '../../src/cache/guarded-tier.js'
import type { WidenedRemoval } from '../../src/cache/missed-removals.js'
import { makeEntry } from '../tiers/conformance.js'
import { ControlledTier, FakeClock, cacheOver } from '../helpers/cache.js'

const breaker = { failureThreshold: 1, openFor: 30 }

/** A cache over `l3` whose circuit breaker reads `clock`, so that a test steps past `openFor` at once. */
function cacheWithClock(l3: ControlledTier, clock: FakeClock) {
  return cacheOver(l3, { l1: false, circuitBreaker: breaker }, undefined, clock.now)
}

describe('a shared tier that misses removals', () => {
  it('replays a delete it missed before it serves again', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheWithClock(l3, clock)
    await cache.set('k', 'old')
    l3.failing = true
    await cache.delete('k')
    expect((await l3.store.get('default', 'k'))?.value).toBe('old') // the tier never saw the delete
    l3.failing = false
    clock.advance(30) // past openFor: the next call is the probe
    expect(await cache.get('k')).toBeUndefined()
    expect(await l3.store.get('default', 'k')).toBeUndefined()
  })

  it('replays a tag invalidation it missed, while its circuit was open', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheWithClock(l3, clock)
    await cache.set('a', 1, { tags: ['t'] })
    await cache.set('b', 2)
    l3.failing = true
    await cache.get('x') // opens the circuit
    await cache.invalidateTags(['t']) // skipped: circuit open
    l3.failing = false
    clock.advance(30) // past openFor: the next call is the probe
    expect(await cache.getMany(['a', 'b'])).toEqual([undefined, 2])
  })

  it('removes the value a failed write was replacing', async () => {
    const l3 = new ControlledTier()
    const clock = new FakeClock()
    const { cache } = cacheWithClock(l3, clock)
    await cache.set('k', 'v1')
    l3.failing = true
    await cache.set('k', 'v2')
    l3.failing = false
    clock.advance(30) // past openFor: the next call is the probe
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

/** A guarded ControlledTier, recording what it reports. */
function guardedOver(options: Partial<GuardedTierOptions> = {}) {
  const tier = new ControlledTier()
  const failures: { operation: string; error: unknown }[] = []
  const widened: WidenedRemoval[] = []
  const guarded = new GuardedTier('l3', tier, {
    failureThreshold: 100,
    openForMs: 10,
    timeoutMs: 1_000,
    maxRepairs: 100,
    onFailure: (operation, error) => failures.push({ operation, error }),
    onCircuit: () => {},
    onWidened: (removal) => widened.push(removal),
    ...options,
  })
  return { tier, guarded, failures, widened }
}

describe('GuardedTier', () => {
  it('past its memory, clears only the namespaces in which it missed removals, and says so', async () => {
    const { tier, guarded, widened } = guardedOver({ maxRepairs: 2 })
    for (const key of ['a', 'b', 'c', 'not-removed']) await tier.store.set(makeEntry('ns', key, 1))
    await tier.store.set(makeEntry('other', 'a', 2))
    await tier.store.set(makeEntry('~acme~ns', 'a', 3))
    for (const key of ['a', 'b', 'c']) guarded.missed({ kind: 'key', namespace: 'ns', key })
    expect(guarded.pendingRepairs).toBe(1) // one clear, of 'ns'
    expect(await guarded.call('count', (t) => t.count())).toBe(2)
    expect(await tier.store.count('ns')).toBe(0)
    expect((await tier.store.get('other', 'a'))?.value).toBe(2)
    expect((await tier.store.get('~acme~ns', 'a'))?.value).toBe(3)
    expect(guarded.pendingRepairs).toBe(0)
    expect(widened).toEqual([{ missed: 3, namespaces: ['ns'], prefixes: [], tags: [], all: false }])
  })

  it('past its memory, keeps erasures and global tag invalidations as they were', async () => {
    const { tier, guarded, widened } = guardedOver({ maxRepairs: 1 })
    await tier.store.set(makeEntry('ns', 'tagged', 1, { tags: ['t'] }))
    await tier.store.set(makeEntry('ns', 'plain', 2))
    await tier.store.set(makeEntry('~acme~ns', 'a', 3))
    await tier.store.set(makeEntry('~other~ns', 'a', 4))
    guarded.missed({ kind: 'tags', namespace: undefined, tags: ['t'] })
    guarded.missed({ kind: 'scope', prefix: '~acme~' })
    expect(await guarded.call('count', (t) => t.count())).toBe(2)
    expect(await tier.store.get('ns', 'tagged')).toBeUndefined()
    expect((await tier.store.get('ns', 'plain'))?.value).toBe(2)
    expect(await tier.store.get('~acme~ns', 'a')).toBeUndefined()
    expect(widened).toEqual([{ missed: 2, namespaces: [], prefixes: ['~acme~'], tags: ['t'], all: false }])
  })

  it('widens to every namespace only for a missed clear of every namespace', async () => {
    const { tier, guarded, widened } = guardedOver({ maxRepairs: 1 })
    await tier.store.set(makeEntry('ns', 'a', 1))
    await tier.store.set(makeEntry('other', 'a', 2))
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'a' })
    guarded.missed({ kind: 'clear', namespace: undefined })
    expect(guarded.pendingRepairs).toBe(1)
    expect(await guarded.call('count', (t) => t.count())).toBe(0)
    expect(widened).toEqual([{ missed: 2, namespaces: [], prefixes: [], tags: [], all: true }])
  })

  it('past its namespace memory too, stops serving rather than clear beyond what it missed', async () => {
    const { tier, guarded, failures } = guardedOver({ maxRepairs: 1, maxRepairNamespaces: 2 })
    await tier.store.set(makeEntry('ns0', 'a', 1))
    for (let i = 0; i < 4; i++) guarded.missed({ kind: 'key', namespace: `ns${i}`, key: 'a' })
    expect(failures.map((failure) => (failure.error as { code?: string }).code)).toEqual(['TC_TIER_UNAVAILABLE'])
    expect(typeof (await guarded.call('get', (t) => t.get('ns0', 'a')))).toBe('symbol')
    expect(tier.calls).toBe(0)
    expect(await tier.store.count()).toBe(1)
  })

  it('keeps a widened removal whose replay failed, and replays it once the tier is back', async () => {
    const { tier, guarded, widened } = guardedOver({ maxRepairs: 1 })
    await tier.store.set(makeEntry('ns', 'a', 1))
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'a' })
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'b' })
    tier.failing = true
    expect(typeof (await guarded.call('get', (t) => t.get('ns', 'a')))).toBe('symbol')
    guarded.missed({ kind: 'key', namespace: 'ns2', key: 'c' })
    expect(guarded.pendingRepairs).toBe(2)
    expect(widened).toEqual([])
    tier.failing = false
    expect(await guarded.call('get', (t) => t.get('ns', 'a'))).toBeUndefined()
    expect(widened).toEqual([{ missed: 3, namespaces: ['ns', 'ns2'], prefixes: [], tags: [], all: false }])
  })

  it('keeps repairs that could not be replayed', async () => {
    const { tier, guarded, failures } = guardedOver()
    await tier.store.set(makeEntry('ns', 'a', 1))
    await tier.store.set(makeEntry('ns', 'b', 2))
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'a' })
    guarded.missed({ kind: 'key', namespace: 'ns', key: 'b' })
    tier.failing = true
    expect(typeof (await guarded.call('get', (t) => t.get('ns', 'a')))).toBe('symbol')
    expect(failures.map((failure) => failure.operation)).toEqual(['repair'])
    expect(guarded.pendingRepairs).toBe(2)
    tier.failing = false
    expect(await guarded.call('get', (t) => t.get('ns', 'b'))).toBeUndefined()
    expect(guarded.pendingRepairs).toBe(0)
  })

  it('does not extend the open window for a call that started before the circuit opened', async () => {
    const clock = new FakeClock()
    const { tier, guarded } = guardedOver({ failureThreshold: 1, openForMs: 100, timeoutMs: 20, now: clock.now })
    const release = tier.hold()
    const slow = guarded.call('get', (t) => t.get('ns', 'k')) // started while closed; times out later
    tier.failing = true
    expect(typeof (await guarded.call('get', (t) => t.get('ns', 'k')))).toBe('symbol')
    expect(guarded.breaker.state).toBe('open')
    clock.advance(50)
    expect(typeof (await slow)).toBe('symbol') // its timeout lands while the circuit is open
    release()
    tier.failing = false
    clock.advance(50) // openFor after the circuit opened, not after the slow call failed
    expect(await guarded.call('get', (t) => t.get('ns', 'k'))).toBeUndefined()
    expect(guarded.breaker.state).toBe('closed')
  })

  it('does not let a late success close the circuit while the probe runs', async () => {
    const clock = new FakeClock()
    const { tier, guarded } = guardedOver({ failureThreshold: 1, openForMs: 100, now: clock.now })
    const release = tier.hold()
    const slow = guarded.call('get', (t) => t.get('ns', 'k'))
    tier.failing = true
    await guarded.call('get', (t) => t.get('ns', 'k'))
    clock.advance(100)
    tier.failing = false
    expect(guarded.breaker.allow()).toBe(true) // the probe, in half-open state
    release()
    expect(await slow).toBeUndefined() // succeeded, but started before the circuit opened
    expect(guarded.breaker.state).toBe('half-open')
  })
})
