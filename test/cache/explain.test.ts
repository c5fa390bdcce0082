import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import type { RemovalEvent } from '../../src/cache/events.js'
import type { ExplainedRemoval, Explanation, TierExplanation } from '../../src/cache/explain.js'
import type { TierStack } from '../../src/cache/tier-stack.js'
import { SEALED } from '../../src/core/codec.js'
import { type CacheOptions, KeyRing, createCache } from '../../src/index.js'
import { rawPublish } from '../bus/helpers.js'
import { ControlledTier, cacheOver } from '../helpers/cache.js'
import { TEST_REDIS_URL } from '../helpers/redis-server.js'
import { makeEntry } from '../tiers/conformance.js'

const dir = mkdtempSync(join(tmpdir(), 'tiercache-explain-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

let open: Cache[] = []
afterEach(async () => {
  await Promise.all(open.map((cache) => cache.close()))
  open = []
})

/** A cache over a real L1 and an SQLite file of its own (or `file`), closed after the test. */
function cache(options: CacheOptions = {}, file = join(dir, `${randomUUID()}.db`)): Cache {
  const made = createCache({ l3: { sqlite: file, cleanupInterval: 0 }, ...options })
  open.push(made)
  return made
}

function stackOf(of: Cache): TierStack {
  return (of as unknown as { core: { stack: TierStack } }).core.stack
}

function tier(explanation: Explanation, level: 'l1' | 'l2' | 'l3'): TierExplanation {
  const found = explanation.tiers.find((t) => t.level === level)
  if (found === undefined) throw new Error(`no ${level} in the explanation`)
  return found
}

const kinds = (removals: readonly ExplainedRemoval[]) => removals.map((removal) => removal.kind)

describe('cache.explain', () => {
  it('shows each tier raw: freshness, ttl and grace left, age, tags, size; and counts, reports and reorders nothing', async () => {
    const c = cache({ l1: { maxEntries: 2 } })
    const before = Date.now()
    await c.set('a', { fare: 420 }, { ttl: '5m', grace: '1h', tags: ['route:JFK', 'fares'] })
    await c.set('b', 2)
    const statsBefore = await c.stats()
    const heard: string[] = []
    for (const name of ['tier:hit', 'tier:miss', 'tier:write', 'entry:stale'] as const) c.on(name, () => heard.push(name))

    const explained = await c.explain('a')
    expect(explained).toMatchObject({ namespace: 'default', scope: 'public', key: 'a', answer: 'fresh', source: 'l1', removals: [], bus: 'none' })
    expect(explained.lastRemoval).toBeUndefined()
    for (const level of ['l1', 'l3'] as const) {
      const t = tier(explained, level)
      expect(t).toMatchObject({ state: 'present', freshness: 'fresh', tags: ['route:JFK', 'fares'], kind: level === 'l1' ? 'memory' : 'sqlite' })
      expect(t.ttlRemainingMs).toBeGreaterThan(5 * 60_000 - (Date.now() - before) - 1)
      expect(t.ttlRemainingMs).toBeLessThanOrEqual(5 * 60_000)
      expect(t.graceRemainingMs).toBe(60 * 60_000)
      expect(t.ageMs).toBeGreaterThanOrEqual(0)
      expect(t.sizeBytes).toBeGreaterThan(0)
    }
    expect(tier(explained, 'l3')).toMatchObject({ circuit: 'closed', sealed: false })
    expect(JSON.parse(JSON.stringify(explained))).toEqual(explained)

    expect(heard).toEqual([])
    expect(await c.stats()).toEqual(statsBefore)
    // L1 holds 2: had the inspection made 'a' the most recently used, 'b' would be the one evicted.
    await c.set('c', 3)
    expect(tier(await c.explain('a'), 'l1')).toMatchObject({ state: 'absent', departed: { reason: 'evicted' } })
    expect(tier(await c.explain('b'), 'l1').state).toBe('present')
  })

  it('explains a delete: gone from every tier, by a delete asked here', async () => {
    const c = cache()
    await c.set('k', 1)
    const before = Date.now()
    await c.delete('k')
    const explained = await c.explain('k')
    expect(explained.answer).toBe('miss')
    expect(explained.source).toBeUndefined()
    expect(tier(explained, 'l1')).toMatchObject({ state: 'absent', departed: { reason: 'invalidated' } })
    expect(tier(explained, 'l3').state).toBe('absent')
    expect(explained.lastRemoval).toEqual({ kind: 'delete', at: expect.any(Number), remote: false, tiers: ['l1', 'l3'], certain: true })
    expect(explained.lastRemoval?.at).toBeGreaterThanOrEqual(before)
    // Another key's delete does not touch it.
    await c.delete('other')
    expect((await c.explain('k')).removals).toHaveLength(1)
  })

  it('explains a tag invalidation by the tag the key carried, from what L1 knew of the dropped entry', async () => {
    const c = cache()
    await c.set('k', 1, { tags: ['a', 'b'] })
    await c.set('untagged', 2)
    await c.invalidateTags(['x', 'b'])
    await c.invalidateTags(['z'])
    const explained = await c.explain('k')
    expect(tier(explained, 'l3').state).toBe('absent')
    expect(explained.removals).toEqual([{ kind: 'tags', at: expect.any(Number), remote: false, tiers: ['l1', 'l3'], certain: true, tags: ['x', 'b'], tag: 'b' }])
    expect(explained.lastRemoval).toEqual(explained.removals[0])
    // A key that still holds its entry, untagged: no invalidation touched it.
    const untagged = await c.explain('untagged')
    expect(untagged).toMatchObject({ answer: 'fresh', removals: [] })
  })

  it('matches a tag invalidation to the tags a tier still holds, and says "may have" when nothing knows the tags', async () => {
    const file = join(dir, `${randomUUID()}.db`)
    const c = cache({ l1: false }, file)
    await c.set('k', 1, { tags: ['t'] })
    // Written again after the invalidation: the entry in L3 carries the tag, and was not removed by it.
    await c.invalidateTags(['t'], { allNamespaces: true })
    await c.set('k', 2, { tags: ['t'] })
    const explained = await c.explain('k')
    expect(explained.tiers.map((t) => t.level)).toEqual(['l3'])
    expect(explained.removals).toEqual([{ kind: 'tags', at: expect.any(Number), remote: false, tiers: ['l3'], certain: true, tags: ['t'], tag: 't', allNamespaces: true }])

    await c.set('gone', 1, { tags: ['u'] })
    await c.invalidateTags(['u'])
    const unknown = await c.explain('gone')
    expect(unknown.answer).toBe('miss')
    expect(unknown.removals).toMatchObject([{ kind: 'tags', tags: ['u'], certain: false }, { kind: 'tags', tags: ['t'], certain: false }])
    expect(unknown.lastRemoval).toBeUndefined()
  })

  it('explains a clear of the namespace, and not of another namespace', async () => {
    const c = cache()
    const flights = c.namespace('flights')
    await flights.set('k', 1)
    await c.namespace('hotels').clear()
    expect((await flights.explain('k')).removals).toEqual([])
    await flights.clear()
    const explained = await flights.explain('k')
    expect(explained).toMatchObject({ namespace: 'flights', answer: 'miss' })
    expect(explained.lastRemoval).toEqual({ kind: 'clear', at: expect.any(Number), remote: false, tiers: ['l1', 'l3'], certain: true })
  })

  it('explains within a scope: a tenant sees its own entries, sealed and read back, and its erasure', async () => {
    const c = cache()
    const acme = c.withContext({ role: 'authenticated', tenantId: 'acme' })
    const globex = c.withContext({ role: 'authenticated', tenantId: 'globex' })
    await acme.set('k', { secret: 1 }, { tags: ['t'] })
    await globex.set('k', 2)
    await globex.delete('k')
    const explained = await acme.explain('k')
    expect(explained).toMatchObject({ scope: 'tenant', namespace: 'default', answer: 'fresh', removals: [] })
    expect(tier(explained, 'l3')).toMatchObject({ state: 'present', sealed: true, tags: ['t'] })
    expect((await globex.explain('k')).lastRemoval?.kind).toBe('delete')

    await c.erase({ tenantId: 'acme' })
    const erased = await acme.explain('k')
    expect(erased.answer).toBe('miss')
    expect(erased.lastRemoval).toEqual({ kind: 'erase', at: expect.any(Number), remote: false, tiers: ['l1', 'l3'], certain: true, scope: 'tenant' })
    expect(JSON.stringify(erased)).not.toContain('~acme~')
    expect((await globex.explain('k')).lastRemoval?.kind).toBe('delete')
  })

  it('explains L1 evictions by count and by size, with the shared tier still serving', async () => {
    const byCount = cache({ l1: { maxEntries: 1 } })
    await byCount.set('a', 1)
    await byCount.set('b', 2)
    const explained = await byCount.explain('a')
    expect(explained).toMatchObject({ answer: 'fresh', source: 'l3' })
    expect(tier(explained, 'l1')).toMatchObject({ state: 'absent', departed: { reason: 'evicted', at: expect.any(Number) } })
    expect(explained.lastRemoval).toEqual({ kind: 'evict', at: expect.any(Number), remote: false, tiers: ['l1'], certain: true, reason: 'count' })

    const bySize = cache({ l1: { maxBytes: 1500 } })
    await bySize.set('big1', 'x'.repeat(600))
    await bySize.set('big2', 'y'.repeat(600))
    expect((await bySize.explain('big1')).lastRemoval).toMatchObject({ kind: 'evict', reason: 'size' })
  })

  it('shows an entry stale within grace, and one past grace in L1 until a read expires it', async () => {
    const { cache: c, l1 } = cacheOver(new ControlledTier())
    open.push(c)
    const now = Date.now()
    l1?.put({ ...makeEntry('default', 'stale', 1), freshUntil: now - 10, staleUntil: now + 60_000 })
    l1?.put({ ...makeEntry('default', 'dead', 1), tags: ['t'], freshUntil: now - 20, staleUntil: now - 10 })
    const stale = await c.explain('stale')
    expect(stale).toMatchObject({ answer: 'stale', source: 'l1' })
    expect(tier(stale, 'l1')).toMatchObject({ freshness: 'stale', ttlRemainingMs: 0 })
    expect(tier(stale, 'l1').graceRemainingMs).toBeGreaterThan(50_000)
    const dead = await c.explain('dead')
    expect(dead.answer).toBe('miss')
    expect(tier(dead, 'l1')).toMatchObject({ state: 'present', freshness: 'expired', ttlRemainingMs: 0, graceRemainingMs: 0 })
    // The inspection left it; a read drops it as expired.
    expect(await c.get('dead')).toBeUndefined()
    const expired = await c.explain('dead')
    expect(tier(expired, 'l1')).toMatchObject({ state: 'absent', departed: { reason: 'expired' } })
    expect(expired.lastRemoval).toEqual({ kind: 'expire', at: expect.any(Number), remote: false, tiers: ['l1'], certain: true })
  })

  it('answers unavailable for a failing shared tier instead of throwing, and leaves a corrupt entry in place', async () => {
    const l3 = new ControlledTier()
    const { cache: c } = cacheOver(l3, { l1: false })
    open.push(c)
    await l3.store.set({ ...makeEntry('default', 'corrupt', 'x'), value: SEALED })
    const corrupt = await c.explain('corrupt')
    expect(tier(corrupt, 'l3').state).toBe('corrupt')
    expect(await l3.store.get('default', 'corrupt')).toBeDefined()
    l3.failing = true
    const down = await c.explain('k')
    expect(down).toMatchObject({ answer: 'miss', tiers: [{ level: 'l3', kind: 'controlled', state: 'unavailable', circuit: 'closed' }] })
  })

  it('says unreadable for an entry sealed under a key this process lacks', async () => {
    const file = join(dir, `${randomUUID()}.db`)
    const old = { id: 'k1', key: randomBytes(32) }
    const rotated = cache({ security: { encryption: { keyRing: KeyRing.from([old, { id: 'k2', key: randomBytes(32) }]) } } }, file)
    const behind = cache({ l1: false, security: { encryption: { keyRing: KeyRing.from([old]) } } }, file)
    await rotated.withContext({ role: 'authenticated', tenantId: 'acme' }).set('k', 1, { tags: ['t'] })
    const explained = await behind.withContext({ role: 'authenticated', tenantId: 'acme' }).explain('k')
    expect(explained.answer).toBe('miss')
    expect(tier(explained, 'l3')).toMatchObject({ state: 'unreadable', sealed: true, tags: ['t'] })
  })

  it('keeps a user scope out of the tiers security.tiers excludes', async () => {
    const c = cache({ security: { tiers: { user: ['l3'] } } })
    const alice = c.withContext({ role: 'authenticated', tenantId: 'acme', userId: 'alice' })
    await alice.set('cart', [1])
    const explained = await alice.explain('cart')
    expect(explained).toMatchObject({ scope: 'user', answer: 'fresh', source: 'l3' })
    expect(tier(explained, 'l1').state).toBe('excluded')
  })

  it('rejects a bad key and a closed cache with their codes', async () => {
    const c = cache()
    await expect(c.explain('')).rejects.toMatchObject({ code: 'TC_INVALID_KEY' })
    await c.close()
    await expect(c.explain('k')).rejects.toMatchObject({ code: 'TC_CACHE_CLOSED' })
  })
})

describe('cache.explain across instances (Redis bus)', () => {
  /** Two instances sharing Redis (L2 and bus) and an SQLite file, each listening on the bus. */
  async function pair(): Promise<[Cache, Cache, string]> {
    const prefix = `x${randomUUID().slice(0, 8)}`
    const file = join(dir, `${randomUUID()}.db`)
    const keyRing = KeyRing.from([{ id: 'k1', key: randomBytes(32) }])
    const options: CacheOptions = { l2: { redis: TEST_REDIS_URL, prefix }, security: { encryption: { keyRing } } }
    const a = cache(options, file)
    const b = cache(options, file)
    await Promise.all([a, b].map((c) => listening(c)))
    return [a, b, prefix]
  }

  /** L1 is bypassed until the bus listens. */
  async function listening(c: Cache): Promise<void> {
    await vi.waitFor(() => expect(stackOf(c).l1?.isSuspended).toBe(false))
  }

  /** Resolves once `c` hears a removal from another instance that satisfies `test`. */
  function heard(c: Cache, test: (event: RemovalEvent) => boolean): Promise<void> {
    return new Promise((resolve) => c.on('removal', (event) => event.remote && test(event) && resolve()))
  }
  const key = (name: string, bySet: boolean) => (event: RemovalEvent) => event.removal.kind === 'key' && event.removal.key === name && (event.bySet === true) === bySet

  it('explains removals heard on the bus: a delete, a set and a tag invalidation elsewhere, each from L1 only', async () => {
    const [a, b] = await pair()
    let gate = heard(b, key('k', true))
    await a.set('k', 1, { tags: ['t'] })
    // Once a's set message is heard, b's read puts 'k' in its L1 for good.
    await gate
    await b.get('k')
    expect(tier(await b.explain('k'), 'l1').state).toBe('present')

    gate = heard(b, key('k', true))
    await a.set('k', 2, { tags: ['t'] })
    await gate
    const replaced = await b.explain('k')
    expect(replaced).toMatchObject({ answer: 'fresh', source: 'l2' })
    expect(tier(replaced, 'l1')).toMatchObject({ state: 'absent', departed: { reason: 'invalidated' } })
    expect(replaced.lastRemoval).toEqual({ kind: 'replaced', at: expect.any(Number), remote: true, tiers: ['l1'], certain: true })

    await b.get('k')
    gate = heard(b, ({ removal }) => removal.kind === 'tags')
    await a.invalidateTags(['t'])
    await gate
    const invalidated = await b.explain('k')
    expect(invalidated.answer).toBe('miss')
    expect(invalidated.lastRemoval).toEqual({ kind: 'tags', at: expect.any(Number), remote: true, tiers: ['l1'], certain: true, tags: ['t'], tag: 't' })
    // On a, where it was asked, it reached every tier.
    expect((await a.explain('k')).lastRemoval).toMatchObject({ kind: 'tags', remote: false, tiers: ['l1', 'l2', 'l3'] })

    // The notice of a set lingers a moment before it is published: wait for it, or the delete's
    // message may overtake it and the set would be the last removal b heard.
    gate = heard(b, key('d', true))
    await a.set('d', 1)
    await gate
    gate = heard(b, key('d', false))
    await a.delete('d')
    await gate
    expect(kinds((await b.explain('d')).removals)).toContain('delete')
    expect((await b.explain('d')).lastRemoval).toMatchObject({ kind: 'delete', remote: true, tiers: ['l1'] })
  })

  it('explains a clear and an erasure heard on the bus', async () => {
    const [a, b] = await pair()
    const acmeA = a.withContext({ role: 'authenticated', tenantId: 'acme' })
    const acmeB = b.withContext({ role: 'authenticated', tenantId: 'acme' })
    // The set's own bus message (b drops its old copy) comes first, or it could land after the erasure's.
    const setHeard = heard(b, ({ bySet }) => bySet === true)
    await acmeA.set('k', 1)
    await setHeard
    let gate = heard(b, ({ removal }) => removal.kind === 'scope')
    await a.erase({ tenantId: 'acme' })
    await gate
    expect((await acmeB.explain('k')).lastRemoval).toMatchObject({ kind: 'erase', remote: true, scope: 'tenant', tiers: ['l1'] })
    gate = heard(b, ({ removal }) => removal.kind === 'clear')
    await a.namespace('other').clear()
    await gate
    expect((await b.namespace('other').explain('k')).lastRemoval).toMatchObject({ kind: 'clear', remote: true })
    expect((await b.explain('k')).removals).toEqual([])
  })

  it('explains an L1 emptied while the bus was deaf', async () => {
    const [a, , prefix] = await pair()
    await a.set('k', 1)
    const again = new Promise<void>((resolve) => a.on('bus:state', ({ listening: now }) => now && resolve()))
    await rawPublish(TEST_REDIS_URL, `${prefix}:bus`, 'not json {')
    await again
    const explained = await a.explain('k')
    expect(explained).toMatchObject({ answer: 'fresh', source: 'l2' })
    expect(tier(explained, 'l1').state).toBe('absent')
    expect(explained.lastRemoval).toEqual({ kind: 'deaf', at: expect.any(Number), remote: false, tiers: ['l1'], certain: true, reason: 'bad-message' })
  })
})

describe('removal log bounds', () => {
  it('forgets the oldest records of a ring, and evictions do not push out a tag invalidation', async () => {
    const c = cache({ l1: { maxEntries: 10 } })
    await c.set('tagged', 1, { tags: ['t'] })
    await c.invalidateTags(['t'])
    expect((await c.explain('tagged')).lastRemoval).toMatchObject({ kind: 'tags', tag: 't', certain: true })
    for (let i = 0; i < 1100; i++) await c.delete(`d${i}`)
    for (let i = 0; i < 1100; i++) await c.set(`e${i}`, i)
    // d0 never held an entry: its tags are unknown, so the invalidation of 't' may have touched it.
    expect((await c.explain('d0')).removals).toMatchObject([{ kind: 'tags', certain: false }])
    expect((await c.explain('d1099')).lastRemoval?.kind).toBe('delete')
    // 1,090 evictions: the first 66 are forgotten, by the log as by L1.
    // L3 still holds e0, untagged: the invalidation did not touch it.
    expect((await c.explain('e0')).removals).toEqual([])
    expect((await c.explain('e1000')).lastRemoval).toMatchObject({ kind: 'evict', reason: 'count' })
    // The invalidation stays in the log; L1's memory of what it dropped went with the eviction wave,
    // so nothing knows the key's tags any more, and the match is no longer certain.
    expect((await c.explain('tagged')).removals).toMatchObject([{ kind: 'tags', tags: ['t'], certain: false }])
  })

  it('keeps widened repairs and matches them by namespace, scope prefix or tag', async () => {
    const c = cache()
    const events = (c as unknown as { core: { events: { emit: (name: 'repair:widened', payload: unknown) => void } } }).core.events
    events.emit('repair:widened', { level: 'l3', kind: 'sqlite', missed: 10_001, namespaces: ['flights'], prefixes: [], tags: ['t'], all: false })
    expect((await c.namespace('flights').explain('k')).lastRemoval).toEqual({ kind: 'repair', at: expect.any(Number), remote: false, tiers: ['l3'], certain: true })
    expect((await c.namespace('hotels').explain('k')).lastRemoval).toBeUndefined()
    await c.namespace('hotels').set('tagged', 1, { tags: ['t'] })
    expect((await c.namespace('hotels').explain('tagged')).lastRemoval).toMatchObject({ kind: 'repair', tag: 't' })
  })
})
