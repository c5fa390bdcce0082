// Refresh before expiry: the due test (threshold and XFetch), and the engine's background refresh:
// the caller is answered at once with the current value, one refresh at a time across caches that
// share a lock (as processes share Redis), every tier written, failures reported and survived.
// Time is Date's, faked; the multi-process proof over real Redis is test/multiprocess/refresh-ahead.test.ts.
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import type { PolicyDecision, PolicyHook } from '../../src/cache/policy-hook.js'
import { dueForRefresh } from '../../src/cache/refresh-ahead.js'
import { ControlledTier, cacheOver, gate } from '../helpers/cache.js'
import { MemoryLock } from '../helpers/memory-lock.js'

afterEach(() => {
  vi.useRealTimers()
})

describe('dueForRefresh', () => {
  it('is due from the threshold fraction of the ttl on, not before', () => {
    expect(dueForRefresh(0, 1000, 799, { threshold: 0.8 }, () => undefined, () => 0.5)).toBe(false)
    expect(dueForRefresh(0, 1000, 800, { threshold: 0.8 }, () => undefined, () => 0.5)).toBe(true)
  })

  it('follows XFetch: due when now - δ·β·ln(random) reaches the expiry', () => {
    // δ = 100 ms, β = 1, 100 ms before expiry: due exactly when -ln(random) >= 1, i.e. random <= 1/e.
    expect(dueForRefresh(0, 1000, 900, { beta: 1 }, () => 100, () => Math.exp(-1))).toBe(true)
    expect(dueForRefresh(0, 1000, 900, { beta: 1 }, () => 100, () => Math.exp(-1) + 1e-9)).toBe(false)
    // β = 2 doubles the reach: 200 ms before expiry with the same draw.
    expect(dueForRefresh(0, 1000, 800, { beta: 2 }, () => 100, () => Math.exp(-1))).toBe(true)
    expect(dueForRefresh(0, 1000, 800, { beta: 1 }, () => 100, () => Math.exp(-1))).toBe(false)
    // Without a δ there is nothing to scale: only the threshold can make it due.
    expect(dueForRefresh(0, 1000, 999, { beta: 1 }, () => undefined, () => 1e-12)).toBe(false)
  })

  it('refreshes earlier the nearer the expiry: the share of due reads grows towards it', () => {
    const share = (now: number) => {
      let due = 0
      for (let i = 1; i <= 10_000; i++) if (dueForRefresh(0, 1000, now, { beta: 1 }, () => 100, () => i / 10_000)) due++
      return due / 10_000
    }
    // P(due) = exp(-(expiry - now) / (δ·β)).
    expect(share(700)).toBeCloseTo(Math.exp(-3), 2)
    expect(share(900)).toBeCloseTo(Math.exp(-1), 2)
    expect(share(990)).toBeCloseTo(Math.exp(-0.1), 2)
  })
})

/** Caches over one shared tier and one lock, as processes sharing Redis; Date is faked from 0. */
function processes(count: number, policy?: PolicyHook) {
  vi.useFakeTimers({ toFake: ['Date'] })
  vi.setSystemTime(1_000_000)
  const shared = new ControlledTier()
  const lock = new MemoryLock()
  const made = Array.from({ length: count }, () => cacheOver(shared, policy === undefined ? {} : { policies: policy }, { lock, ttlMs: 1_000 }))
  return { shared, lock, caches: made.map((m) => m.cache), l1s: made.map((m) => m.l1) }
}

/** A factory whose n-th call waits until `finish(n)`, counted; `nextCall()` resolves when the next call starts. */
function gatedFactory() {
  const gates = new Map<number, ReturnType<typeof gate>>()
  const gateOf = (n: number) => gates.get(n) ?? (gates.set(n, gate()), gates.get(n)!)
  let started = gate()
  let count = 0
  const factory = vi.fn(async () => {
    const n = ++count
    started.open()
    await gateOf(n).promise
    return `v${n}`
  })
  return {
    factory,
    nextCall: () => (started = gate()).promise,
    finish: (n: number) => gateOf(n).open(),
  }
}

const refresh = { ttl: 1000, refresh: { threshold: 0.5 } } as const

describe('refresh ahead of expiry', () => {
  it('answers at once with the current value and refreshes every tier in the background, once', async () => {
    const { caches, shared } = processes(1)
    const cache = caches[0] as Cache
    const origin = gatedFactory()
    const first = cache.getOrSet('hot', origin.factory, refresh)
    origin.finish(1)
    expect(await first).toBe('v1')

    vi.setSystemTime(1_000_499)
    expect(await cache.getOrSet('hot', origin.factory, refresh)).toBe('v1')
    expect(origin.factory).toHaveBeenCalledTimes(1)

    vi.setSystemTime(1_000_500)
    const started = origin.nextCall()
    expect(await cache.getOrSetWithInfo('hot', origin.factory, refresh)).toMatchObject({ value: 'v1', source: 'l1', stale: false })
    await started
    // While it runs, every read still gets v1 at once, and starts nothing more.
    for (let i = 0; i < 5; i++) expect(await cache.getOrSet('hot', origin.factory, refresh)).toBe('v1')
    expect(origin.factory).toHaveBeenCalledTimes(2)

    origin.finish(2)
    await vi.waitFor(async () => expect(await cache.getOrSet('hot', origin.factory, refresh)).toBe('v2'))
    const stored = await shared.store.get('default', 'hot')
    expect(stored?.value).toBe('v2')
    expect(stored!.createdAt).toBeGreaterThanOrEqual(1_000_500)
    expect(origin.factory).toHaveBeenCalledTimes(2)
  })

  it('refreshes once across caches sharing a lock; a cache that sees a newer entry takes it instead', async () => {
    const { caches } = processes(2)
    const [a, b] = caches as [Cache, Cache]
    const origin = gatedFactory()
    const loaded = a.getOrSet('hot', origin.factory, refresh)
    origin.finish(1)
    await loaded
    expect(await b.getOrSetWithInfo('hot', origin.factory, refresh)).toMatchObject({ value: 'v1', source: 'l3' })

    vi.setSystemTime(1_000_600)
    const started = origin.nextCall()
    expect(await a.getOrSet('hot', origin.factory, refresh)).toBe('v1')
    await started
    // a holds the lock: b's due read answers v1 and does not call the origin.
    expect(await b.getOrSet('hot', origin.factory, refresh)).toBe('v1')
    origin.finish(2)
    await vi.waitFor(async () => expect(await a.getOrSet('hot', origin.factory, refresh)).toBe('v2'))
    // b's L1 still has v1 (no bus here): its next due read finds v2 in the shared tier and takes it.
    await vi.waitFor(async () => expect(await b.getOrSet('hot', origin.factory, refresh)).toBe('v2'))
    expect(origin.factory).toHaveBeenCalledTimes(2)
  })

  it('reports a failed refresh, keeps the current entry, and tries again on a later read', async () => {
    const { caches } = processes(1)
    const cache = caches[0] as Cache
    const errors: unknown[] = []
    cache.on('factory:error', (event) => errors.push(event.error))
    let fail = true
    let calls = 0
    const factory = async () => {
      calls++
      if (calls > 1 && fail) throw new Error('origin down')
      return `v${calls}`
    }
    await cache.getOrSet('hot', factory, refresh)
    vi.setSystemTime(1_000_700)
    expect(await cache.getOrSet('hot', factory, refresh)).toBe('v1')
    await vi.waitFor(() => expect(errors).toHaveLength(1))
    expect(await cache.getOrSet('hot', factory, refresh)).toBe('v1')
    fail = false
    await vi.waitFor(async () => expect(await cache.getOrSet('hot', factory, refresh)).toMatch(/^v[3-9]$/))
  })

  it('does not write a refresh whose tag was invalidated while it ran', async () => {
    const { caches, shared } = processes(1)
    const cache = caches[0] as Cache
    const origin = gatedFactory()
    const tagged = { ...refresh, tags: ['flight:BA117'] }
    const loaded = cache.getOrSet('hot', origin.factory, tagged)
    origin.finish(1)
    await loaded
    vi.setSystemTime(1_000_800)
    const started = origin.nextCall()
    await cache.getOrSet('hot', origin.factory, tagged)
    await started
    await cache.invalidateTags(['flight:BA117'])
    origin.finish(2)
    await vi.waitFor(() => expect(origin.factory).toHaveBeenCalledTimes(2))
    // The refresh settles without writing: the key stays absent until a caller loads it anew.
    await new Promise((resolve) => setImmediate(resolve))
    expect(await shared.store.get('default', 'hot')).toBeUndefined()
    expect(await cache.get('hot')).toBeUndefined()
  })

  it("takes its settings from the named policy, and `refresh: false` turns them off", async () => {
    const decision: PolicyDecision = { ttlMs: 1000, graceMs: 0, refresh: { threshold: 0.5 } }
    const policy: PolicyHook = { decide: () => decision, l1Scale: () => 1, nextBoundary: () => undefined, targets: () => ({ tags: [], namespaces: [] }) }
    const { caches } = processes(1, policy)
    const cache = caches[0] as Cache
    let calls = 0
    const factory = () => `v${++calls}`
    await cache.getOrSet('hot', factory, { policy: 'p' })
    vi.setSystemTime(1_000_600)
    expect(await cache.getOrSet('hot', factory, { policy: 'p', refresh: false })).toBe('v1')
    expect(calls).toBe(1)
    expect(await cache.getOrSet('hot', factory, { policy: 'p' })).toBe('v1')
    await vi.waitFor(() => expect(calls).toBe(2))
  })
})
