import { describe, expect, it } from 'vitest'
import { AiAccounting, OTHER_MODEL } from '../../src/ai/index.js'

const labels = { namespace: 'ai', tenant: 'acme', model: 'gpt-4o-mini-2024-07-18', cacheType: 'default' }
const completion = { usage: { prompt_tokens: 1000, completion_tokens: 500, total_tokens: 1500 } }

describe('AiAccounting', () => {
  it('prices a model by its own name, else by the longest name it starts with', () => {
    const accounting = new AiAccounting({ gpt: { inputPerMillion: 100, outputPerMillion: 100 }, 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } })
    expect(accounting.savingOf(labels.model, completion)).toEqual({ promptTokens: 1000, completionTokens: 500, costUsd: (1000 * 0.15 + 500 * 0.6) / 1e6 })
    expect(accounting.savingOf('claude', completion)).toEqual({ promptTokens: 1000, completionTokens: 500 })
    expect(accounting.savingOf(labels.model, { choices: [] })).toBeUndefined()
  })

  it('sums answers and savings per row, and counts rows beyond its bound under _other', () => {
    const accounting = new AiAccounting({}, 2)
    accounting.record(labels, 'MISS', undefined)
    accounting.record(labels, 'HIT', { promptTokens: 10, completionTokens: 5 })
    accounting.record(labels, 'HIT', { promptTokens: 10, completionTokens: 5, costUsd: 0.5 })
    accounting.record({ ...labels, tenant: 'globex' }, 'MISS', undefined)
    accounting.record({ ...labels, model: 'third' }, 'BYPASS', undefined)
    const [acme] = accounting.rows('acme')
    expect(acme).toMatchObject({ promptTokensSaved: 20, completionTokensSaved: 10, costSavedUsd: 0.5 })
    expect(acme?.answers).toMatchObject({ HIT: 2, MISS: 1, BYPASS: 0 })
    expect(accounting.rows().map((row) => row.model)).toEqual([labels.model, labels.model, OTHER_MODEL])
  })
})
