import { describe, expect, it } from 'vitest'
import { ANSWER_NEUTRAL_FIELDS, canonicalJson, chatKey } from '../../src/ai/canonical.js'
import { isDeterministic } from '../../src/ai/determinism.js'

const base = { model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content: 'Venues in Austin?' }] }

describe('canonical chat keys', () => {
  it('sorts keys at every depth and drops whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, { f: 1, e: 0 }], c: null }, u: undefined })).toBe('{"a":{"c":null,"d":[2,{"e":0,"f":1}]},"b":1}')
  })

  it('does not split entries by key order, formatting, string parts or answer-neutral fields', () => {
    const same = JSON.parse(`{ "messages": [ { "content": [ { "type": "text", "text": "Venues in Austin?" } ], "role": "user" } ],
      "temperature": 0, "model": "gpt-test", "user": "u1", "metadata": { "a": "b" }, "stream": true, "store": false }`) as Record<string, unknown>
    expect(chatKey(same)).toBe(chatKey(base))
  })

  it('splits entries by every other field, known or not', () => {
    const variants = [
      { ...base, model: 'gpt-other' },
      { ...base, temperature: 0.1 },
      { ...base, seed: 1 },
      { ...base, max_tokens: 10 },
      { ...base, stop: ['\n'] },
      { ...base, n: 2 },
      { ...base, tools: [] },
      { ...base, response_format: { type: 'json_object' } },
      { ...base, a_new_provider_field: true },
      { ...base, messages: [{ role: 'system', content: 'Be terse.' }, ...base.messages] },
      { ...base, messages: [{ role: 'assistant', content: 'Venues in Austin?' }] },
    ]
    const keys = new Set([chatKey(base), ...variants.map((variant) => chatKey(variant))])
    expect(keys.size).toBe(variants.length + 1)
  })

  it('keeps the prompt out of the key, and names its version', () => {
    const key = chatKey(base)
    expect(key).toMatch(/^chat:v2:[0-9a-f]{64}$/)
    expect(key).not.toContain('Austin')
    expect(ANSWER_NEUTRAL_FIELDS.has('temperature')).toBe(false)
  })

  it('adds the bucketed context to the key', () => {
    expect(chatKey(base, { market: 'austin' })).not.toBe(chatKey(base, { market: 'dallas' }))
    expect(chatKey(base, { market: 'austin', season: 'peak' })).toBe(chatKey(base, { season: 'peak', market: 'austin' }))
  })
})

describe('isDeterministic', () => {
  it('takes a seed, or a temperature at most the bound (absent: the provider default, 1)', () => {
    expect(isDeterministic({ temperature: 0 }, 0)).toBe(true)
    expect(isDeterministic({ temperature: 0.3 }, 0)).toBe(false)
    expect(isDeterministic({ temperature: 0.3 }, 0.5)).toBe(true)
    expect(isDeterministic({}, 0.5)).toBe(false)
    expect(isDeterministic({}, 1)).toBe(true)
    expect(isDeterministic({ temperature: 1.5, seed: 3 }, 0)).toBe(true)
  })
})
