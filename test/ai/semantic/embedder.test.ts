import { describe, expect, it } from 'vitest'
import type { Upstream, UpstreamAnswer } from '../../../src/ai/upstream.js'
import { functionEmbedder, hashingEmbedder, upstreamEmbedder } from '../../../src/ai/semantic/embedder.js'
import { contentTokens } from '../../../src/ai/semantic/text-features.js'
import { cosineSimilarity, dot, normalize } from '../../../src/ai/semantic/vectors.js'
import { InvalidOptionsError, InvalidValueError, UpstreamError } from '../../../src/errors.js'
import { LABELLED_SET } from './labelled-set.js'

const norm = (v: Float32Array) => Math.sqrt(dot(v, v))

async function similarity(a: string, b: string, embedder = hashingEmbedder()): Promise<number> {
  const [x, y] = await embedder.embed([a, b])
  return dot(x as Float32Array, y as Float32Array)
}

describe('hashingEmbedder', () => {
  it('is deterministic: the same text gives the same unit vector, from any instance', async () => {
    const text = 'What are some good wedding venues in Austin that can hold 150 guests?'
    const [a] = await hashingEmbedder().embed([text])
    const [b, c] = await hashingEmbedder().embed([text, text])
    expect(a).toHaveLength(512)
    expect(Array.from(a as Float32Array)).toEqual(Array.from(b as Float32Array))
    expect(Array.from(b as Float32Array)).toEqual(Array.from(c as Float32Array))
    expect(norm(a as Float32Array)).toBeCloseTo(1, 5)
    expect(hashingEmbedder().id).toBe(hashingEmbedder().id)
    expect(hashingEmbedder({ dimensions: 256 }).id).not.toBe(hashingEmbedder().id)
    expect(await hashingEmbedder().embed([])).toEqual([])
  })

  it('places a near miss (another city, count, vendor) further than a paraphrase, and both below the identical text', async () => {
    const base = 'What are some good wedding venues in Austin that can hold 150 guests?'
    const identical = await similarity(base, base)
    const paraphrase = await similarity(base, 'Which venues in Austin work for a wedding of about 150 guests?')
    const otherCity = await similarity(base, 'What are some good wedding venues in Denver that can hold 150 guests?')
    const otherCount = await similarity(base, 'What are some good wedding venues in Austin that can hold 300 guests?')
    expect(identical).toBeCloseTo(1, 5)
    expect(paraphrase).toBeGreaterThan(0.85)
    for (const miss of [otherCity, otherCount]) {
      expect(miss).toBeLessThan(identical - 0.2)
      expect(miss).toBeLessThan(paraphrase - 0.15)
    }
    const photographer = 'How much does a wedding photographer cost in Chicago?'
    expect(await similarity(photographer, 'How much does a wedding videographer cost in Chicago?')).toBeLessThan(0.75)
    expect(await similarity('Plan a trip to Lisbon in May.', 'Plan a trip to Lisbon in June.')).toBeLessThan(0.75)
  })

  it('weights the specifics up: a city swap moves the vector more with specific weight 3 than 1', async () => {
    const a = 'Is Mexico City safe for solo travelers?'
    const b = 'Is Bogota safe for solo travelers?'
    const heavy = await similarity(a, b, hashingEmbedder({ weights: { specific: 3 } }))
    const flat = await similarity(a, b, hashingEmbedder({ weights: { specific: 1 } }))
    expect(heavy).toBeLessThan(flat - 0.1)
  })

  it('reads amounts, dates and acronyms as specifics, whatever their spelling', () => {
    const names = (text: string) => contentTokens(text).map((t) => `${t.name}${t.specific ? '*' : ''}`)
    expect(names('A budget of $5k')).toEqual(names('a budget of $5,000'))
    expect(names('a budget of $5k')).toContain('money:5000*')
    expect(names('Visit Rome on June 14th')).toEqual(['visit', 'rome*', 'time:june*', 'num:14*'])
    expect(names('Do I need a visa with a US passport?')).toContain('us*')
    expect(names('Venues for 150 guests')).toEqual(['venue*', 'num:150*', 'guest'])
    expect(names('We may travel')).toEqual(['visit'])
  })

  it('ranks the paraphrases of the labelled set above its near misses (AUC ≥ 0.95)', async () => {
    const embedder = hashingEmbedder()
    let above = 0
    let pairs = 0
    for (const q of LABELLED_SET.questions) {
      const [base, ...rest] = await embedder.embed([q.text, ...q.paraphrases, ...q.nearMisses.map((n) => n.text)])
      const sims = rest.map((v) => dot(base as Float32Array, v))
      for (const p of sims.slice(0, q.paraphrases.length)) {
        for (const n of sims.slice(q.paraphrases.length)) {
          pairs++
          if (p > n) above++
        }
      }
    }
    expect(pairs).toBeGreaterThan(200)
    expect(above / pairs).toBeGreaterThanOrEqual(0.95)
  })

  it('refuses bad options', () => {
    expect(() => hashingEmbedder({ dimensions: 8 })).toThrow(InvalidOptionsError)
    expect(() => hashingEmbedder({ dimensions: 100.5 })).toThrow(InvalidOptionsError)
    expect(() => hashingEmbedder({ weights: { bigram: -1 } })).toThrow(InvalidOptionsError)
  })
})

describe('functionEmbedder', () => {
  it('copies and normalises the vectors of its function', async () => {
    const embedder = functionEmbedder('fixed', (texts) => texts.map((t) => [t.length, 0, 0]))
    const [v] = await embedder.embed(['abcd'])
    expect(Array.from(v as Float32Array)).toEqual([1, 0, 0])
    expect(embedder.id).toBe('fixed')
  })

  it('refuses a wrong number of vectors, mixed lengths and non-finite numbers', async () => {
    await expect(functionEmbedder('f', () => [[1]]).embed(['a', 'b'])).rejects.toThrow(InvalidValueError)
    await expect(functionEmbedder('f', () => [[1], [1, 2]]).embed(['a', 'b'])).rejects.toThrow(InvalidValueError)
    await expect(functionEmbedder('f', () => [[NaN]]).embed(['a'])).rejects.toThrow(InvalidValueError)
    expect(() => functionEmbedder('', () => [])).toThrow(InvalidOptionsError)
  })

  it('stops before calling its function when the signal is aborted', async () => {
    let calls = 0
    const embedder = functionEmbedder('f', (texts) => {
      calls++
      return texts.map(() => [1])
    })
    await expect(embedder.embed(['a'], AbortSignal.abort())).rejects.toThrow()
    expect(calls).toBe(0)
  })
})

/** An upstream that answers `/embeddings` with `answer(body)` and records what it was sent. */
function fakeUpstream(answer: (body: { model: string; input: string[] }) => UpstreamAnswer) {
  const sent: { path: string; body: { model: string; input: string[]; dimensions?: number } }[] = []
  const upstream: Upstream = {
    async post(path, body) {
      sent.push({ path, body: body as { model: string; input: string[] } })
      return answer(body as { model: string; input: string[] })
    },
    stream: () => Promise.reject(new Error('not used')),
    close: async () => {},
  }
  return { upstream, sent }
}

describe('upstreamEmbedder', () => {
  it('POSTs { model, input } to /embeddings, in batches, and reads data[i].embedding in index order', async () => {
    const { upstream, sent } = fakeUpstream(({ input }) => ({
      status: 200,
      // Out of order on purpose: the index field says which input each vector is for.
      body: { object: 'list', data: input.map((t, index) => ({ object: 'embedding', index, embedding: [t.length, 1] })).reverse() },
    }))
    const embedder = upstreamEmbedder({ upstream, model: 'text-embedding-3-small', batchSize: 2 })
    const vectors = await embedder.embed(['a', 'bbb', 'cc'])
    expect(sent).toEqual([
      { path: '/embeddings', body: { model: 'text-embedding-3-small', input: ['a', 'bbb'] } },
      { path: '/embeddings', body: { model: 'text-embedding-3-small', input: ['cc'] } },
    ])
    expect(vectors.map((v) => Array.from(v).map((x) => Number(x.toFixed(4))))).toEqual(
      [[1, 1], [3, 1], [2, 1]].map((v) => Array.from(normalize(Float32Array.from(v))).map((x) => Number(x.toFixed(4)))),
    )
    expect(embedder.id).toBe('upstream:text-embedding-3-small')
    expect(upstreamEmbedder({ upstream, model: 'm', dimensions: 256 }).id).toBe('upstream:m:256')
  })

  it('throws UpstreamError for a non-2xx answer or a bad shape', async () => {
    const failing = (answer: UpstreamAnswer) => upstreamEmbedder({ upstream: fakeUpstream(() => answer).upstream, model: 'm' }).embed(['a'])
    await expect(failing({ status: 429, body: { error: { message: 'slow down' } } })).rejects.toThrow(UpstreamError)
    await expect(failing({ status: 200, body: { data: 'nope' } })).rejects.toThrow(UpstreamError)
    await expect(failing({ status: 200, body: { data: [{ index: 0 }] } })).rejects.toThrow(UpstreamError)
    await expect(failing({ status: 200, body: { data: [] } })).rejects.toThrow(UpstreamError)
    await expect(failing({ status: 200, body: { data: [{ embedding: ['x'] }] } })).rejects.toThrow(UpstreamError)
    await expect(failing({ status: 200, body: null })).rejects.toThrow(UpstreamError)
    expect(() => upstreamEmbedder({ upstream: fakeUpstream(() => ({ status: 200, body: {} })).upstream, model: '' })).toThrow(InvalidOptionsError)
  })
})

describe('vector helpers', () => {
  it('cosineSimilarity and normalize', () => {
    expect(cosineSimilarity(Float32Array.from([1, 0]), Float32Array.from([0, 2]))).toBe(0)
    expect(cosineSimilarity(Float32Array.from([1, 1]), Float32Array.from([2, 2]))).toBeCloseTo(1, 6)
    expect(cosineSimilarity(Float32Array.from([0, 0]), Float32Array.from([2, 2]))).toBe(0)
    expect(() => cosineSimilarity(Float32Array.from([1]), Float32Array.from([1, 2]))).toThrow(InvalidValueError)
    expect(Array.from(normalize(Float32Array.from([3, 4])))).toEqual([Math.fround(0.6), Math.fround(0.8)])
    expect(() => normalize(Float32Array.from([Infinity]))).toThrow(InvalidValueError)
  })
})
