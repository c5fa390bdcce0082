import { describe, expect, it } from 'vitest'
import { SpaceSaving } from '../../src/metrics/space-saving.js'
import { TopKeys } from '../../src/metrics/top-keys.js'
import { prng } from '../server/helpers.js'

type Item = readonly [namespace: string, key: string]

/** A Zipf-like stream over `distinct` items (rank r drawn with weight 1/r^s), from a seeded PRNG. */
function zipfStream(length: number, distinct: number, s: number, seed: number): Item[] {
  const random = prng(seed)
  const weights = Array.from({ length: distinct }, (_, r) => 1 / (r + 1) ** s)
  const total = weights.reduce((a, b) => a + b, 0)
  const cumulative: number[] = []
  let sum = 0
  for (const w of weights) cumulative.push((sum += w / total))
  return Array.from({ length }, () => {
    const u = random()
    let lo = 0
    let hi = distinct - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if ((cumulative[mid] ?? 1) < u) lo = mid + 1
      else hi = mid
    }
    return [`ns${lo % 3}`, `key-${lo}`] as const
  })
}

/** Checks the paper's guarantees of `sketch` against the exact counts of `stream`. */
function expectGuarantees(sketch: SpaceSaving, stream: readonly Item[]): void {
  const exact = new Map<string, number>()
  for (const [ns, key] of stream) exact.set(`${ns}\u0000${key}`, (exact.get(`${ns}\u0000${key}`) ?? 0) + 1)
  const monitored = sketch.top(Number.MAX_SAFE_INTEGER)
  expect(monitored.length).toBe(Math.min(sketch.capacity, exact.size))
  // Lemma 3: every estimate brackets the true count.
  for (const hit of monitored) {
    const truth = exact.get(`${hit.namespace}\u0000${hit.key}`) ?? 0
    expect(hit.count - hit.error).toBeLessThanOrEqual(truth)
    expect(truth).toBeLessThanOrEqual(hit.count)
  }
  // The counts sum to N once full, so the smallest is at most N/m.
  if (exact.size >= sketch.capacity) {
    expect(monitored.reduce((sum, hit) => sum + hit.count, 0)).toBe(stream.length)
    expect(sketch.minimum).toBeLessThanOrEqual(stream.length / sketch.capacity)
  }
  // Theorem 2: every item more frequent than N/m is monitored; the rest are at most the minimum.
  const present = new Set(monitored.map((hit) => `${hit.namespace}\u0000${hit.key}`))
  for (const [item, truth] of exact) {
    if (truth > stream.length / sketch.capacity) expect(present.has(item), item).toBe(true)
    if (!present.has(item)) expect(truth).toBeLessThanOrEqual(sketch.minimum)
  }
  // Largest first.
  for (let i = 1; i < monitored.length; i++) expect(monitored[i - 1]!.count).toBeGreaterThanOrEqual(monitored[i]!.count)
}

describe('SpaceSaving', () => {
  it('counts exactly while it has room', () => {
    const sketch = new SpaceSaving(10)
    for (const [key, n] of [['a', 5], ['b', 3], ['c', 1]] as const) for (let i = 0; i < n; i++) sketch.count('ns', key)
    expect(sketch.top(10)).toEqual([
      { namespace: 'ns', key: 'a', count: 5, error: 0, misses: 0 },
      { namespace: 'ns', key: 'b', count: 3, error: 0, misses: 0 },
      { namespace: 'ns', key: 'c', count: 1, error: 0, misses: 0 },
    ])
    expect(sketch.top(2).map((hit) => hit.key)).toEqual(['a', 'b'])
    expect(sketch.minimum).toBe(0)
  })

  it('tells the same key in two namespaces apart', () => {
    const sketch = new SpaceSaving(4)
    sketch.count('a', 'k')
    sketch.count('b', 'k')
    sketch.count('b', 'k')
    expect(sketch.estimate('a', 'k')).toEqual({ count: 1, error: 0 })
    expect(sketch.estimate('b', 'k')).toEqual({ count: 2, error: 0 })
  })

  it('gives a newcomer the smallest count as its error when full', () => {
    const sketch = new SpaceSaving(2)
    for (const key of ['a', 'a', 'a', 'b', 'b', 'c']) sketch.count('ns', key)
    // c replaced b (count 2): count 3, error 2.
    expect(sketch.estimate('ns', 'b')).toBeUndefined()
    expect(sketch.estimate('ns', 'c')).toEqual({ count: 3, error: 2 })
    expect(sketch.estimate('ns', 'a')).toEqual({ count: 3, error: 0 })
  })

  it.each([
    { capacity: 10, distinct: 1000, s: 1.1, seed: 1 },
    { capacity: 50, distinct: 5000, s: 0.8, seed: 2 },
    { capacity: 100, distinct: 200, s: 1.5, seed: 3 },
    { capacity: 7, distinct: 7, s: 1, seed: 4 },
  ])('keeps its guarantees on a Zipf stream (m=$capacity, $distinct keys, s=$s)', ({ capacity, distinct, s, seed }) => {
    const stream = zipfStream(20_000, distinct, s, seed)
    const sketch = new SpaceSaving(capacity)
    for (const [ns, key] of stream) sketch.count(ns, key)
    expect(sketch.length).toBe(stream.length)
    expectGuarantees(sketch, stream)
  })

  it('keeps its guarantees on an adversarial stream: heavy keys arrive last, after a flood of distinct ones', () => {
    const stream: Item[] = []
    for (let i = 0; i < 5000; i++) stream.push(['ns', `noise-${i}`])
    for (let i = 0; i < 400; i++) stream.push(['ns', 'hot'], ['ns', i % 2 === 0 ? 'warm' : `tail-${i}`])
    const sketch = new SpaceSaving(20)
    for (const [ns, key] of stream) sketch.count(ns, key)
    expectGuarantees(sketch, stream)
    expect(sketch.top(1)[0]?.key).toBe('hot')
  })

  it('counts misses and the ttl of writes on monitored keys only', () => {
    const sketch = new SpaceSaving(1)
    sketch.count('ns', 'a', false)
    sketch.count('ns', 'a', true)
    sketch.wrote('ns', 'a', 5000)
    sketch.wrote('ns', 'other', 1)
    expect(sketch.top(1)).toEqual([{ namespace: 'ns', key: 'a', count: 2, error: 0, misses: 1, ttlMs: 5000 }])
    sketch.count('ns', 'b', false)
    // b replaced a: the misses and the ttl were a's.
    expect(sketch.top(1)).toEqual([{ namespace: 'ns', key: 'b', count: 3, error: 2, misses: 1 }])
  })

  it('remembers the ttl of the last writes of keys not yet looked up, as many as its capacity', () => {
    const sketch = new SpaceSaving(2)
    sketch.wrote('ns', 'a', 1000)
    sketch.wrote('ns', 'b', 2000)
    sketch.wrote('ns', 'c', 3000)
    sketch.count('ns', 'a')
    sketch.count('ns', 'c')
    // a's write was pushed out by c's: only c's ttl is known.
    expect(Object.fromEntries(sketch.top(2).map((hit) => [hit.key, hit.ttlMs]))).toEqual({ a: undefined, c: 3000 })
  })

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new SpaceSaving(0)).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => new SpaceSaving(1.5)).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
  })
})

describe('TopKeys', () => {
  it('keeps one sketch per tenant: no tenant sees another one', () => {
    const top = new TopKeys({ capacity: 4 })
    top.count('acme', 'ns', 'a')
    top.count('acme', 'ns', 'a')
    top.count('bravo', 'ns', 'b')
    expect(top.top('acme', 10).map((hit) => hit.key)).toEqual(['a'])
    expect(top.top('bravo', 10).map((hit) => hit.key)).toEqual(['b'])
    expect(top.top('nobody', 10)).toEqual([])
    expect(top.topAcross(10).map((hit) => [hit.tenant, hit.key, hit.count])).toEqual([
      ['acme', 'a', 2],
      ['bravo', 'b', 1],
    ])
    expect(top.lookups('acme')).toBe(2)
  })

  it('tracks at most maxTenants, forgetting the one counted least recently', () => {
    const top = new TopKeys({ maxTenants: 2 })
    top.count('a', 'ns', 'k')
    top.count('b', 'ns', 'k')
    top.count('a', 'ns', 'k')
    top.count('c', 'ns', 'k')
    expect(top.size).toBe(2)
    expect(top.lookups('b')).toBe(0)
    expect(top.lookups('a')).toBe(2)
    expect(top.lookups('c')).toBe(1)
  })

  it('keeps the largest writes of each tenant, one per key, largest first', () => {
    const top = new TopKeys({ largest: 2 })
    top.wrote('acme', 'ns', 'small', 1000, 10, 1)
    top.wrote('acme', 'ns', 'big', 1000, 500, 2)
    top.wrote('acme', 'ns', 'mid', 1000, 100, 3)
    top.wrote('acme', 'ns', 'tiny', 1000, 5, 4)
    expect(top.largest('acme').map((entry) => [entry.key, entry.bytes])).toEqual([
      ['big', 500],
      ['mid', 100],
    ])
    // A key rewritten smaller takes its new size.
    top.wrote('acme', 'ns', 'big', 1000, 50, 5)
    expect(top.largest('acme').map((entry) => [entry.key, entry.bytes])).toEqual([
      ['mid', 100],
      ['big', 50],
    ])
    top.wrote('bravo', 'ns', 'huge', 1000, 9000, 6)
    expect(top.largestAcross(2).map((entry) => [entry.tenant, entry.key])).toEqual([
      ['bravo', 'huge'],
      ['acme', 'mid'],
    ])
    expect(top.largest('nobody')).toEqual([])
  })

  it('refuses bounds that are not positive integers', () => {
    expect(() => new TopKeys({ maxTenants: 0 })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => new TopKeys({ capacity: -1 })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
  })
})
