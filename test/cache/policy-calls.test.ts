// The engine's side of the policy layer: a call naming a policy gets the hook's ttl, grace and
// refresh; emit invalidates what the hook's rule names; fallback answers when nothing else can. The
// hook is a stand-in (the engine's logic is under test); the policy layer's own tests are in
// test/policy/.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { EventTargets, PolicyDecision, PolicyHook, PolicyRequest } from '../../src/cache/policy-hook.js'
import { createCache } from '../../src/index.js'
import type { Cache } from '../../src/cache/cache.js'
import { ControlledTier, cacheOver, gate } from '../helpers/cache.js'

/** A policy layer that answers `decisions[policy]` and records what it was asked. */
class StubPolicy implements PolicyHook {
  readonly asked: PolicyRequest[] = []
  readonly emitted: [string, Readonly<Record<string, string | number>>][] = []
  constructor(
    private readonly decisions: Record<string, PolicyDecision>,
    private readonly rules: Record<string, EventTargets> = {},
  ) {}
  decide(request: PolicyRequest): PolicyDecision {
    this.asked.push(request)
    const decision = this.decisions[request.policy]
    if (decision === undefined) throw Object.assign(new Error('unknown'), { code: 'TC_UNKNOWN_POLICY' })
    return decision
  }
  l1Scale(): number {
    return 1
  }
  nextBoundary(): number | undefined {
    return undefined
  }
  targets(event: string, params: Readonly<Record<string, string | number>>): EventTargets {
    this.emitted.push([event, params])
    const targets = this.rules[event]
    if (targets === undefined) throw Object.assign(new Error('unknown event'), { code: 'TC_UNKNOWN_EVENT' })
    return targets
  }
}

const caches: Cache[] = []
afterEach(async () => {
  vi.useRealTimers()
  await Promise.all(caches.splice(0).map((cache) => cache.close()))
})

function cacheWith(policy: PolicyHook | undefined, options: Parameters<typeof cacheOver>[1] = {}): { cache: Cache; l3: ControlledTier } {
  const l3 = new ControlledTier()
  const { cache } = cacheOver(l3, { ...options, ...(policy === undefined ? {} : { policies: policy }) })
  caches.push(cache)
  return { cache, l3 }
}

describe('a call naming a policy', () => {
  it('stores with the ttl and grace the policy decides, asked with the role, the context and the time', async () => {
    const policy = new StubPolicy({ flightStatus: { ttlMs: 60_000, graceMs: 300_000 } })
    const { cache, l3 } = cacheWith(policy, { ttl: '1h' })
    const before = Date.now()
    const served = await cache.getOrSetWithInfo('BA117', () => 'on time', { policy: 'flightStatus', context: { freshness: 'realtime' } })
    const stored = await l3.store.get('default', 'BA117')
    expect(stored?.freshUntil).toBe(served.freshUntil)
    expect(stored!.freshUntil - stored!.createdAt).toBe(60_000)
    expect(stored!.staleUntil - stored!.freshUntil).toBe(300_000)
    expect(policy.asked).toHaveLength(1)
    expect(policy.asked[0]).toMatchObject({ policy: 'flightStatus', role: undefined, context: { freshness: 'realtime' } })
    expect(policy.asked[0]!.now).toBeGreaterThanOrEqual(before)

    await cache.withContext({ role: 'anon' }).set('k', 1, { policy: 'flightStatus' })
    expect(policy.asked[1]).toMatchObject({ policy: 'flightStatus', role: 'anon' })
  })

  it('lets an explicit ttl or grace win, skips security.ttlMultiplier, and still cuts to security.retention', async () => {
    const policy = new StubPolicy({ p: { ttlMs: 60_000, graceMs: 60_000 } })
    const { cache, l3 } = cacheWith(policy, { security: { ttlMultiplier: { anon: 10 }, retention: { public: '90s' } } })
    await cache.set('explicit', 1, { policy: 'p', ttl: '10s' })
    const explicit = await l3.store.get('default', 'explicit')
    expect(explicit!.freshUntil - explicit!.createdAt).toBe(10_000)
    expect(explicit!.staleUntil - explicit!.freshUntil).toBe(60_000)

    await cache.withContext({ role: 'anon' }).set('anon', 1, { policy: 'p' })
    const anon = await l3.store.get('default', 'anon')
    // 60 s from the policy, not ×10; grace cut so that ttl + grace fit in 90 s of retention.
    expect(anon!.freshUntil - anon!.createdAt).toBe(60_000)
    expect(anon!.staleUntil - anon!.createdAt).toBe(90_000)
  })

  it('is refused, storing nothing, when the cache has no policy layer or the context is not an object', async () => {
    const { cache, l3 } = cacheWith(undefined)
    await expect(cache.set('k', 1, { policy: 'nope' })).rejects.toMatchObject({ code: 'TC_UNKNOWN_POLICY' })
    await expect(cache.getOrSet('k', () => 1, { policy: 'nope' })).rejects.toMatchObject({ code: 'TC_UNKNOWN_POLICY' })
    const withLayer = cacheWith(new StubPolicy({ p: { ttlMs: 1000, graceMs: 0 } })).cache
    await expect(withLayer.set('k', 1, { policy: 'p', context: 'realtime' as never })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(withLayer.set('k', 1, { policy: 'p', contxt: {} } as never)).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    expect(await l3.store.count()).toBe(0)
  })

  it('refuses a bad refresh setting', async () => {
    const { cache } = cacheWith(undefined)
    await expect(cache.getOrSet('k', () => 1, { refresh: { threshold: 1.5 } })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(cache.getOrSet('k', () => 1, { refresh: { beta: 0 } })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
    await expect(cache.getOrSet('k', () => 1, { refresh: {} })).rejects.toMatchObject({ code: 'TC_INVALID_OPTIONS' })
  })
})

describe('emit', () => {
  it('removes the tags everywhere and clears the namespaces its rule names, and nothing else', async () => {
    const policy = new StubPolicy({}, { 'flight.updated': { tags: ['flight:BA117'], namespaces: ['flight_search'] } })
    const { cache, l3 } = cacheWith(policy)
    const flights = cache.namespace('flights')
    await flights.set('BA117', 'a', { tags: ['flight:BA117'] })
    await flights.set('BA118', 'b', { tags: ['flight:BA118'] })
    await cache.namespace('status').set('BA117', 'c', { tags: ['flight:BA117'] })
    await cache.namespace('flight_search').set('LHR-JFK', 'd')
    await cache.namespace('other').set('x', 'e')

    const targets = await cache.emit('flight.updated', { id: 'BA117' })
    expect(targets).toEqual({ tags: ['flight:BA117'], namespaces: ['flight_search'] })
    expect(policy.emitted).toEqual([['flight.updated', { id: 'BA117' }]])
    expect(await flights.get('BA117')).toBeUndefined()
    expect(await cache.namespace('status').get('BA117')).toBeUndefined()
    expect(await cache.namespace('flight_search').get('LHR-JFK')).toBeUndefined()
    expect(await flights.get('BA118')).toBe('b')
    expect(await cache.namespace('other').get('x')).toBe('e')
    expect(await l3.store.count()).toBe(2)
  })

  it("keeps a tenant's event in its scope: the rule's namespaces, and its tags in the view's namespace or the rule's `in`", async () => {
    const policy = new StubPolicy(
      {},
      {
        here: { tags: ['t'], namespaces: [] },
        there: { tags: ['t'], namespaces: ['cleared'], tagsIn: ['a', 'b'] },
      },
    )
    const cache = createCache({ l3: false, policies: policy, security: { encryption: false, tiers: { tenant: ['l1'] } } })
    caches.push(cache)
    const acme = cache.withContext({ role: 'service', tenantId: 'acme' })
    const other = cache.withContext({ role: 'service', tenantId: 'other' })
    for (const view of [acme, other, cache]) {
      for (const ns of ['a', 'b', 'c', 'cleared']) await view.namespace(ns).set('k', ns, { tags: ['t'] })
    }
    await acme.namespace('c').emit('here')
    expect(await acme.namespace('c').get('k')).toBeUndefined()
    expect(await acme.namespace('a').get('k')).toBe('a')
    await acme.emit('there')
    expect(await acme.namespace('a').get('k')).toBeUndefined()
    expect(await acme.namespace('b').get('k')).toBeUndefined()
    expect(await acme.namespace('cleared').get('k')).toBeUndefined()
    for (const view of [other, cache]) {
      for (const ns of ['a', 'b', 'c', 'cleared']) expect(await view.namespace(ns).get('k')).toBe(ns)
    }
  })

  it('answers TC_UNKNOWN_EVENT without a policy layer, and passes the layer\'s errors through', async () => {
    await expect(cacheWith(undefined).cache.emit('x')).rejects.toMatchObject({ code: 'TC_UNKNOWN_EVENT' })
    await expect(cacheWith(new StubPolicy({})).cache.emit('x')).rejects.toMatchObject({ code: 'TC_UNKNOWN_EVENT' })
  })
})

describe('fallback', () => {
  it('answers with the fallback value, flagged, when the factory fails and nothing stale exists; caches nothing', async () => {
    const { cache, l3 } = cacheWith(undefined)
    const seen: unknown[] = []
    const served = await cache.getOrSetWithInfo(
      'BA117',
      () => {
        throw new Error('origin down')
      },
      { fallback: (error) => (seen.push(error), { status: 'scheduled', historical: true }) },
    )
    expect(served).toMatchObject({ value: { status: 'scheduled', historical: true }, source: 'fallback', stale: true })
    expect((seen[0] as Error).message).toBe('origin down')
    expect(await cache.get('BA117')).toBeUndefined()
    expect(await l3.store.count()).toBe(0)
  })

  it('is not called while a stale value can be served, and a failing fallback leaves the factory error', async () => {
    const { cache } = cacheWith(undefined)
    await cache.set('k', 'old', { ttl: 1, grace: '1h' })
    await new Promise((resolve) => setTimeout(resolve, 5))
    const fallback = vi.fn(() => 'fallback')
    const fail = () => {
      throw new Error('down')
    }
    expect(await cache.getOrSetWithInfo('k', fail, { fallback })).toMatchObject({ value: 'old', stale: true, source: 'l1' })
    expect(fallback).not.toHaveBeenCalled()
    const rejected = cache.getOrSet('other', fail, {
      fallback: () => {
        throw new Error('fallback down too')
      },
    })
    await expect(rejected).rejects.toMatchObject({ code: 'TC_FACTORY_ERROR', cause: { message: 'down' } })
  })

  it('answers after a hard timeout too', async () => {
    const { cache } = cacheWith(undefined)
    const never = gate()
    const served = await cache.getOrSetWithInfo('k', () => never.promise.then(() => 'late'), { hardTimeout: 20, fallback: (error) => (error as { code: string }).code })
    expect(served).toMatchObject({ value: 'TC_FACTORY_TIMEOUT', source: 'fallback' })
    never.open()
  })
})

describe('createCache({ policies })', () => {
  it('takes a policy layer, and refuses something that is none', () => {
    const cache = createCache({ l3: false, policies: new StubPolicy({}) })
    caches.push(cache)
    expect(() => createCache({ l3: false, policies: 42 as never })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
  })
})
