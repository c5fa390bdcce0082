import { describe, expect, it } from 'vitest'
import { functionEmbedder } from '../../../src/ai/semantic/embedder.js'
import { chatAnswerText, embeddingJudge, exactJudge } from '../../../src/ai/semantic/judge.js'
import { InvalidOptionsError } from '../../../src/errors.js'

describe('judges', () => {
  it('exactJudge: equal once trimmed and with white space collapsed', () => {
    expect(exactJudge('  answer:a \n', 'answer:a')).toBe(true)
    expect(exactJudge('two  words', 'two\twords')).toBe(true)
    expect(exactJudge('answer:a', 'answer:b')).toBe(false)
    expect(exactJudge('Answer', 'answer')).toBe(false)
  })

  it('embeddingJudge: same when the answers embed at least minSimilarity apart, without embedding equal ones', async () => {
    const calls: string[][] = []
    // Vectors chosen per text: "same" answers point one way, "other" another.
    const embedder = functionEmbedder('fixed', (texts) => {
      calls.push([...texts])
      return texts.map((t) => (t.startsWith('same') ? [1, 0.1] : t.startsWith('close') ? [1, 0.12] : [0, 1]))
    })
    const judge = embeddingJudge({ embedder, minSimilarity: 0.95 })
    expect(await judge('same a', 'close b')).toBe(true)
    expect(await judge('same a', 'other')).toBe(false)
    expect(await judge(' equal ', 'equal')).toBe(true)
    expect(calls).toHaveLength(2)
    expect(() => embeddingJudge({ embedder, minSimilarity: 2 })).toThrow(InvalidOptionsError)
  })

  it('chatAnswerText reads the first choice, string or text parts', () => {
    expect(chatAnswerText({ choices: [{ message: { role: 'assistant', content: 'hi' } }] })).toBe('hi')
    expect(chatAnswerText({ choices: [{ message: { content: [{ type: 'text', text: 'a' }, { type: 'image_url' }, { type: 'text', text: 'b' }] } }] })).toBe('ab')
    expect(chatAnswerText({ choices: [{ message: { content: null, tool_calls: [] } }] })).toBeUndefined()
    expect(chatAnswerText({})).toBeUndefined()
    expect(chatAnswerText(null)).toBeUndefined()
  })
})
