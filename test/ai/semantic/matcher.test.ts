import { describe, expect, it } from 'vitest'
import { seededRandom } from '../../../src/ai/semantic/evaluate.js'
import { type Matcher, type MatcherConfig, createMatcher } from '../../../src/ai/semantic/matcher.js'
import { betaQuantile, clopperPearsonUpper, incompleteBeta } from '../../../src/ai/semantic/stats.js'
import { InvalidKeyError, InvalidOptionsError } from '../../../src/errors.js'

const near = (id: string, similarity: number) => ({ id, similarity })

/** Records `n` observations of entry `id` at `similarity`, `failures` of them wrong. */
function observe(matcher: Matcher, partition: string, id: string, similarity: number, n: number, failures = 0): void {
  for (let i = 0; i < n; i++) matcher.record(partition, id, similarity, i >= failures)
}

const verified = (extra: Partial<Extract<MatcherConfig, { mode: 'verified' }>> = {}): Matcher =>
  createMatcher({ mode: 'verified', delta: 0.05, sampleRate: 0, ...extra })

describe('Clopper–Pearson bound', () => {
  it('matches reference values (scipy.stats.beta.ppf)', () => {
    expect(clopperPearsonUpper(1, 10, 0.95)).toBeCloseTo(0.394163, 5)
    expect(clopperPearsonUpper(0, 59, 0.95)).toBeCloseTo(0.0495076, 6)
    // Weighted (fractional) counts: Beta(3.5, 20.25).
    expect(clopperPearsonUpper(2.5, 22.75, 0.95)).toBeCloseTo(0.279634, 5)
    expect(clopperPearsonUpper(0, 0, 0.95)).toBe(1)
    expect(clopperPearsonUpper(3, 3, 0.95)).toBe(1)
    expect(betaQuantile(0.5, 2, 2)).toBeCloseTo(0.5, 8)
    expect(incompleteBeta(0.3, 1, 1)).toBeCloseTo(0.3, 10)
  })

  it('covers the true rate in at least 95 % of simulated samples', () => {
    const random = seededRandom(7)
    const p = 0.08
    let covered = 0
    const runs = 2000
    for (let r = 0; r < runs; r++) {
      let failures = 0
      for (let i = 0; i < 40; i++) if (random() < p) failures++
      if (clopperPearsonUpper(failures, 40, 0.95) >= p) covered++
    }
    expect(covered / runs).toBeGreaterThanOrEqual(0.95)
  })
})

describe('threshold matcher', () => {
  it('hits the nearest neighbour at or above the threshold, and refuses below', () => {
    const m = createMatcher({ mode: 'threshold', threshold: 0.9 })
    expect(m.decide('p', [near('a', 0.85), near('b', 0.93)])).toEqual({ kind: 'hit', id: 'b', similarity: 0.93 })
    expect(m.decide('p', [near('a', 0.9)])).toEqual({ kind: 'hit', id: 'a', similarity: 0.9 })
    expect(m.decide('p', [near('a', 0.8999)])).toEqual({ kind: 'miss' })
    expect(m.decide('p', [])).toEqual({ kind: 'miss' })
  })

  it('no longer hits an entry at or below the similarity of a retracted hit', () => {
    const m = createMatcher({ mode: 'threshold', threshold: 0.8 })
    expect(m.decide('p', [near('a', 0.85), near('b', 0.82)]).kind).toBe('hit')
    m.retract('p', 'a')
    expect(m.decide('p', [near('a', 0.85)])).toEqual({ kind: 'miss' })
    expect(m.decide('p', [near('a', 0.9)]).kind).toBe('hit')
    // The retracted query's other neighbour is tightened too.
    expect(m.decide('p', [near('b', 0.82)])).toEqual({ kind: 'miss' })
    expect(m.decide('p', [near('b', 0.83)]).kind).toBe('hit')
    // Other partitions are untouched.
    expect(m.decide('q', [near('a', 0.85)]).kind).toBe('hit')
  })

  it('refuses an invalid config', () => {
    expect(() => createMatcher({ mode: 'threshold', threshold: 1.5 })).toThrow(InvalidOptionsError)
    expect(() => createMatcher({ mode: 'verified', delta: 0 })).toThrow(InvalidOptionsError)
    expect(() => createMatcher({ mode: 'verified', delta: 0.05, sampleRate: 2 })).toThrow(InvalidOptionsError)
    expect(() => createMatcher({ mode: 'nope' } as unknown as MatcherConfig)).toThrow(InvalidOptionsError)
  })
})

describe('verified matcher', () => {
  it('explores an entry it knows nothing of, and misses below minSimilarity', () => {
    const m = verified()
    const d = m.decide('p', [near('a', 0.95)])
    expect(d).toMatchObject({ kind: 'explore', id: 'a', similarity: 0.95, errorBound: 1 })
    expect(m.decide('p', [near('a', 0.4)])).toEqual({ kind: 'miss' })
    expect(m.config).toMatchObject({ delta: 0.05, confidence: 0.95, bandWidth: 0.1, priorWeight: 100, sampleRate: 0 })
  })

  it('hits once its own observations bound the error rate within delta, and not before', () => {
    const m = verified()
    // Zero failures in n: bound 1 − 0.05^(1/n) ≤ 0.05 from n = 59 on.
    observe(m, 'p', 'a', 0.9, 58)
    expect(m.decide('p', [near('a', 0.9)]).kind).toBe('explore')
    observe(m, 'p', 'a', 0.9, 1)
    const hit = m.decide('p', [near('a', 0.9)])
    expect(hit.kind).toBe('hit')
    expect(hit.kind !== 'miss' && hit.errorBound).toBeLessThanOrEqual(0.05)
    // Observations at 0.9 say nothing of a query at 0.85 (only those at or below s count) ...
    expect(m.decide('p', [near('a', 0.85)]).kind).toBe('explore')
    // ... but do for one at 0.95 (within the band below it).
    expect(m.decide('p', [near('a', 0.95)]).kind).toBe('hit')
    // ... and not for one beyond the band (0.9 < 1.01 - 0.1).
    expect(verified({ bandWidth: 0.04 }).decide('p', [near('a', 0.95)]).kind).toBe('explore')
  })

  it('refuses to hit when failures were seen in the band', () => {
    const m = verified({ delta: 0.1 })
    observe(m, 'p', 'a', 0.9, 60, 3)
    expect(m.decide('p', [near('a', 0.9)]).kind).toBe('explore')
    const clean = verified({ delta: 0.1 })
    observe(clean, 'p', 'a', 0.9, 60)
    expect(clean.decide('p', [near('a', 0.9)]).kind).toBe('hit')
  })

  it('lets a new entry hit on the partition pooled prior, unless its own observations disagree', () => {
    const m = verified()
    for (let i = 0; i < 120; i++) m.record('p', `other${i}`, 0.92, true)
    expect(m.decide('p', [near('fresh', 0.93)]).kind).toBe('hit')
    // The pool of another partition does not count.
    expect(m.decide('q', [near('fresh', 0.93)]).kind).toBe('explore')
    // One failure of the entry itself is enough to explore it again.
    m.record('p', 'fresh', 0.91, false)
    expect(m.decide('p', [near('fresh', 0.93)]).kind).toBe('explore')
    // priorWeight 0: the pool counts for nothing.
    const noPrior = verified({ priorWeight: 0 })
    for (let i = 0; i < 120; i++) noPrior.record('p', `other${i}`, 0.92, true)
    expect(noPrior.decide('p', [near('fresh', 0.93)]).kind).toBe('explore')
  })

  it('turns a sampleRate share of its hits into verify decisions, with the injected randomness', () => {
    const run = (seed: number) => {
      const m = createMatcher({ mode: 'verified', delta: 0.05, sampleRate: 0.2, random: seededRandom(seed) })
      observe(m, 'p', 'a', 0.9, 100)
      return Array.from({ length: 1000 }, () => m.decide('p', [near('a', 0.9)]).kind)
    }
    const kinds = run(3)
    expect(kinds).toEqual(run(3))
    expect(kinds).not.toEqual(run(4))
    const verifies = kinds.filter((k) => k === 'verify').length
    expect(kinds.filter((k) => k === 'hit').length + verifies).toBe(1000)
    expect(verifies).toBeGreaterThan(150)
    expect(verifies).toBeLessThan(250)
    const always = createMatcher({ mode: 'verified', delta: 0.05, sampleRate: 0.5, random: () => 0.49 })
    observe(always, 'p', 'a', 0.9, 100)
    expect(always.decide('p', [near('a', 0.9)]).kind).toBe('verify')
  })

  it('retract tightens: the entry explores at the similarity of its wrong hit, its neighbours too, and the pool learns', () => {
    const m = verified({ delta: 0.1 })
    for (const id of ['a', 'b', 'c']) observe(m, 'p', id, 0.88, 60)
    expect(m.decide('p', [near('a', 0.9), near('b', 0.89)]).kind).toBe('hit')
    expect(m.decide('p', [near('c', 0.9)]).kind).toBe('hit')
    m.retract('p', 'a')
    expect(m.decide('p', [near('a', 0.9)]).kind).toBe('explore')
    expect(m.decide('p', [near('a', 0.8999)]).kind).toBe('explore')
    // b was a neighbour of the query that got the wrong answer: tightened at its similarity.
    expect(m.decide('p', [near('b', 0.89)]).kind).toBe('explore')
    // The retraction counts as 3 failures: pooled, they raise the bound of c, in that band.
    const before = verified({ delta: 0.1 })
    for (const id of ['a', 'b', 'c']) observe(before, 'p', id, 0.88, 60)
    const cBefore = before.decide('p', [near('c', 0.9)])
    const cAfter = m.decide('p', [near('c', 0.9)])
    expect(cAfter.kind !== 'miss' && cBefore.kind !== 'miss' && cAfter.errorBound! > cBefore.errorBound!).toBe(true)
    // A retraction without a similarity or a remembered hit blocks the entry altogether.
    observe(m, 'p', 'd', 0.95, 100)
    m.retract('p', 'd')
    expect(m.decide('p', [near('d', 1)]).kind).toBe('explore')
  })

  it('forget and clear drop what is known', () => {
    const m = verified()
    observe(m, 'p', 'a', 0.9, 100)
    observe(m, 'q', 'a', 0.9, 100)
    m.forget('p', 'a')
    // The pool of p keeps a's observations as evidence for the others, not for a "new" a: it is excluded as its own.
    expect(m.decide('p', [near('a', 0.9)]).kind).toBe('explore')
    expect(m.decide('q', [near('a', 0.9)]).kind).toBe('hit')
    m.clear('q')
    expect(m.decide('q', [near('a', 0.9)]).kind).toBe('explore')
    observe(m, 'r', 'a', 0.9, 100)
    m.clear()
    expect(m.decide('r', [near('a', 0.9)]).kind).toBe('explore')
  })

  it('checks its arguments', () => {
    const m = verified()
    expect(() => m.record('p', 'a', 1.5, true)).toThrow(InvalidOptionsError)
    expect(() => m.record('p', 'a', NaN, true)).toThrow(InvalidOptionsError)
    expect(() => m.record('', 'a', 0.5, true)).toThrow(InvalidKeyError)
    expect(() => m.decide('', [])).toThrow(InvalidKeyError)
  })
})
