import { describe, expect, it } from 'vitest'
import { hashingEmbedder } from '../../../src/ai/semantic/embedder.js'
import { type Evaluation, evaluate, seededRandom } from '../../../src/ai/semantic/evaluate.js'
import { memoryVectorIndex } from '../../../src/ai/semantic/vector-index.js'
import { InvalidOptionsError } from '../../../src/errors.js'
import { LABELLED_SET } from './labelled-set.js'

describe('the labelled set', () => {
  it('has at least 60 base questions in both domains, each with 1–3 paraphrases and 1–3 near misses, all distinct', () => {
    const questions = LABELLED_SET.questions
    expect(questions.length).toBeGreaterThanOrEqual(60)
    expect(new Set(questions.map((q) => q.domain))).toEqual(new Set(['wedding', 'travel']))
    for (const domain of ['wedding', 'travel']) expect(questions.filter((q) => q.domain === domain).length).toBeGreaterThanOrEqual(30)
    const ids = [...questions.map((q) => q.id), ...questions.flatMap((q) => q.nearMisses.map((n) => n.id))]
    expect(new Set(ids).size).toBe(ids.length)
    const texts = questions.flatMap((q) => [q.text, ...q.paraphrases, ...q.nearMisses.map((n) => n.text)])
    expect(new Set(texts.map((t) => t.toLowerCase())).size).toBe(texts.length)
    for (const q of questions) {
      expect(q.paraphrases.length).toBeGreaterThanOrEqual(1)
      expect(q.nearMisses.length).toBeGreaterThanOrEqual(1)
    }
  })
})

const embedder = hashingEmbedder()
/** An embedder blind to what makes a near miss: specifics weigh less than words, so another city still looks the same. */
const blind = hashingEmbedder({ weights: { specific: 0.3 } })

function expectConsistent(result: Evaluation): void {
  const kinds = Object.values(result.byKind)
  expect(kinds.reduce((n, k) => n + k.queries, 0)).toBe(result.queries)
  expect(result.hits + result.explored + result.misses).toBe(result.queries)
  expect(kinds.reduce((n, k) => n + k.wrongHits, 0)).toBe(result.wrongHits)
  expect(result.hitRate).toBeCloseTo(result.hits / result.queries, 12)
}

describe('evaluate on the labelled set', () => {
  it('replays every base question once and the others once per round', async () => {
    const result = await evaluate(LABELLED_SET, embedder, { mode: 'threshold', threshold: 0.85 }, { rounds: 2 })
    const followUps = LABELLED_SET.questions.reduce((n, q) => n + q.paraphrases.length + q.nearMisses.length, 0)
    expect(result.queries).toBe(LABELLED_SET.questions.length + 2 * followUps)
    expect(result.byKind.base.queries).toBe(LABELLED_SET.questions.length)
    expectConsistent(result)
    await expect(evaluate(LABELLED_SET, embedder, { mode: 'threshold', threshold: 0.85 }, { rounds: 0 })).rejects.toThrow(InvalidOptionsError)
  })

  it('measures wrong hits: a low fixed threshold serves near misses the wrong answer', async () => {
    const lax = await evaluate(LABELLED_SET, embedder, { mode: 'threshold', threshold: 0.6 })
    expect(lax.byKind.nearMiss.wrongHits).toBeGreaterThan(20)
    expect(lax.wrongHitRate).toBeGreaterThan(0.1)
    // And with an embedder blind to the specifics, even a high one does.
    const blindHigh = await evaluate(LABELLED_SET, blind, { mode: 'threshold', threshold: 0.85 })
    expect(blindHigh.wrongHitRate).toBeGreaterThan(0.5)
    const strict = await evaluate(LABELLED_SET, embedder, { mode: 'threshold', threshold: 0.9 })
    expect(strict.hitRate).toBeLessThan(lax.hitRate)
    expectConsistent(strict)
  })

  for (const delta of [0.05, 0.1]) {
    it(`verified mode at δ = ${delta} keeps wrong hits / hits within δ with a hit rate above 0, over seeds`, async () => {
      for (const seed of [1, 2, 3]) {
        const result = await evaluate(LABELLED_SET, embedder, { mode: 'verified', delta }, { rounds: 4, seed })
        expectConsistent(result)
        expect(result.wrongHitRate).toBeLessThanOrEqual(delta)
        expect(result.hits).toBeGreaterThan(20)
        expect(result.hitRate).toBeGreaterThan(0)
        expect(result.byKind.paraphrase.hits).toBeGreaterThan(0)
        expect(result.explored).toBeGreaterThan(0)
      }
    })

    it(`verified mode at δ = ${delta} stays within δ with an embedder that cannot tell near misses apart`, async () => {
      const result = await evaluate(LABELLED_SET, blind, { mode: 'verified', delta }, { rounds: 4, seed: 5 })
      expect(result.wrongHitRate).toBeLessThanOrEqual(delta)
      expect(result.byKind.nearMiss.wrongHits).toBeLessThanOrEqual(Math.floor(delta * Math.max(result.hits, 1)))
      // It holds by refusing: the failures it observes keep it exploring, at the cost of upstream calls.
      expect(result.explored).toBeGreaterThan(result.queries / 2)
    })
  }

  it('hits more at δ = 0.1 than at δ = 0.05, and more with more rounds (more observations)', async () => {
    const at = (delta: number, rounds: number) => evaluate(LABELLED_SET, embedder, { mode: 'verified', delta }, { rounds })
    const [tight, loose, longer] = await Promise.all([at(0.05, 3), at(0.1, 3), at(0.05, 6)])
    expect(loose.hitRate).toBeGreaterThan(tight.hitRate)
    expect(longer.hitRate).toBeGreaterThan(tight.hitRate)
  })

  it('verifies about sampleRate of the hits, and is reproducible with its seed', async () => {
    const config = { mode: 'verified', delta: 0.1, sampleRate: 0.25 } as const
    const a = await evaluate(LABELLED_SET, embedder, config, { rounds: 4, seed: 9 })
    const b = await evaluate(LABELLED_SET, embedder, config, { rounds: 4, seed: 9 })
    expect(b).toEqual(a)
    expect(a.verified).toBeGreaterThan(0.1 * a.hits)
    expect(a.verified).toBeLessThan(0.4 * a.hits)
    const injected = await evaluate(LABELLED_SET, embedder, { ...config, random: seededRandom(1) }, { rounds: 4, seed: 9 })
    expect(injected.queries).toBe(a.queries)
  })

  it('uses the index it is given, and leaves it open', async () => {
    const index = memoryVectorIndex()
    await evaluate(LABELLED_SET, embedder, { mode: 'threshold', threshold: 0.9 }, { rounds: 1, index })
    expect(await index.size('eval:wedding')).toBeGreaterThan(20)
    expect(await index.size('eval:travel')).toBeGreaterThan(20)
  })
})
