/**
 * Verified mode (δ) through the AI cache itself, not only the matcher: the labelled set asked as
 * chat requests, with an upstream that answers each question its labelled answer. Paraphrases and
 * near misses are each asked once (after that, their own answer is an exact hit), so every
 * semantic decision below is a first meeting.
 */
import { describe, expect, it } from 'vitest'
import { type Upstream, createAiCache, hashingEmbedder, seededRandom } from '../../src/ai/index.js'
import { createCache } from '../../src/index.js'
import { LABELLED_SET } from './semantic/labelled-set.js'

interface Query {
  readonly text: string
  readonly answer: string
}

const bases: Query[] = LABELLED_SET.questions.map((question) => ({ text: question.text, answer: `answer:${question.id}` }))
const others: Query[] = LABELLED_SET.questions.flatMap((question) => [
  ...question.paraphrases.map((text) => ({ text, answer: `answer:${question.id}` })),
  ...question.nearMisses.map((miss) => ({ text: miss.text, answer: `answer:${miss.id}` })),
])
const answerOf = new Map([...bases, ...others].map((query) => [query.text, query.answer]))

function shuffled<T>(items: readonly T[], random: () => number): T[] {
  const copy = [...items]
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[copy[i], copy[j]] = [copy[j] as T, copy[i] as T]
  }
  return copy
}

async function run(delta: number) {
  let upstreamCalls = 0
  const upstream: Upstream = {
    async post(_path, body) {
      upstreamCalls++
      const text = (body as { messages: { content: string }[] }).messages.at(-1)?.content ?? ''
      return { status: 200, body: { choices: [{ index: 0, message: { role: 'assistant', content: answerOf.get(text) ?? 'unknown' } }] } }
    },
    stream: () => Promise.reject(new Error('not streamed here')),
    close: async () => {},
  }
  const cache = createCache({ l3: false, l1: { maxEntries: 100_000 } })
  const random = seededRandom(7)
  const ai = createAiCache({ cache, upstream, semantic: { embedder: hashingEmbedder(), matcher: { mode: 'verified', delta, sampleRate: 0, random } } })
  const ask = (text: string) => ai.chat({ model: 'gpt-test', temperature: 0, messages: [{ role: 'system', content: 'You plan.' }, { role: 'user', content: text }] })
  let hits = 0
  let wrong = 0
  // The bases first (each its own miss), then the paraphrases and near misses in a seeded order.
  for (const query of bases) await ask(query.text)
  for (const query of shuffled(others, random)) {
    const answer = await ask(query.text)
    if (answer.cache !== 'SEMANTIC-HIT') continue
    hits++
    const content = (answer.body as { choices: { message: { content: string } }[] }).choices[0]?.message.content
    if (content !== query.answer) wrong++
  }
  await cache.close()
  return { hits, wrong, upstreamCalls }
}

describe('verified semantic matching through the AI cache', () => {
  it.each([0.05, 0.1])('keeps the measured wrong-hit rate within δ = %s, and still hits', async (delta) => {
    const { hits, wrong, upstreamCalls } = await run(delta)
    expect(hits).toBeGreaterThan(0)
    expect(wrong / hits).toBeLessThanOrEqual(delta)
    expect(upstreamCalls).toBe(bases.length + others.length - hits)
  })
})
