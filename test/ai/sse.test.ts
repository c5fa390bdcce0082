import { describe, expect, it } from 'vitest'
import { assembleStream, completionToSse } from '../../src/ai/index.js'

const sse = (...chunks: unknown[]) => chunks.map((chunk) => `data: ${typeof chunk === 'string' ? chunk : JSON.stringify(chunk)}\n\n`).join('')
const envelope = { id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'm', system_fingerprint: 'fp' }

describe('assembleStream', () => {
  it('merges content, reasoning text and tool calls by index, keeps the usage, and needs [DONE]', () => {
    const text = sse(
      { ...envelope, choices: [{ index: 0, delta: { role: 'assistant', content: '', reasoning_content: 'Think' }, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, delta: { reasoning_content: 'ing.', content: 'Hel' }, finish_reason: null }] },
      { ...envelope, choices: [{ index: 0, delta: { content: 'lo', tool_calls: [{ index: 0, id: 't1', type: 'function', function: { name: 'venues', arguments: '{"ci' } }] } }] },
      { ...envelope, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: 'ty":"Austin"}' } }] } }] },
      { ...envelope, choices: [{ index: 0, delta: {}, finish_reason: 'tool_calls' }] },
      { ...envelope, choices: [], usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 } },
      '[DONE]',
    )
    const { complete, body } = assembleStream(text)
    expect(complete).toBe(true)
    expect(body).toEqual({
      id: 'c1',
      object: 'chat.completion',
      created: 1,
      model: 'm',
      system_fingerprint: 'fp',
      usage: { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 },
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: 'Hello',
            reasoning_content: 'Thinking.',
            tool_calls: [{ id: 't1', type: 'function', function: { name: 'venues', arguments: '{"city":"Austin"}' } }],
          },
        },
      ],
    })
    expect(assembleStream(text.replace('data: [DONE]\n\n', '')).complete).toBe(false)
  })

  it('keeps choices apart by index', () => {
    const { body } = assembleStream(
      sse(
        { ...envelope, choices: [{ index: 1, delta: { content: 'b' } }, { index: 0, delta: { content: 'a' } }] },
        { ...envelope, choices: [{ index: 0, delta: { content: 'A' }, finish_reason: 'stop' }] },
        '[DONE]',
      ),
    )
    expect((body.choices as { message: { content: string } }[]).map((choice) => choice.message.content)).toEqual(['aA', 'b'])
  })
})

describe('completionToSse', () => {
  const completion = {
    id: 'c2',
    object: 'chat.completion',
    created: 2,
    model: 'm',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{}' } }] }, finish_reason: 'stop', logprobs: null }],
    usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
  }

  it('writes a stream that assembles back to the completion', () => {
    const { complete, body } = assembleStream(completionToSse(completion, true))
    expect(complete).toBe(true)
    expect(body).toEqual(completion)
  })

  it('writes the usage chunk only when asked', () => {
    expect(completionToSse(completion, false)).not.toContain('usage')
    expect(assembleStream(completionToSse(completion, false)).body.usage).toBeUndefined()
  })
})
