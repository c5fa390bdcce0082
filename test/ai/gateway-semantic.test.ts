import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { hashingEmbedder } from '../../src/ai/semantic/index.js'
import { type Gateway, ask, startGateway } from './gateway-harness.js'

let gateway: Gateway
let acme: OpenAI

beforeAll(async () => {
  gateway = await startGateway({ semantic: { embedder: hashingEmbedder(), matcher: { mode: 'threshold', threshold: 0.85 } } })
  acme = gateway.acme
})
afterAll(() => gateway.close())
beforeEach(() => gateway.reset())

const QUESTION = 'What are some good wedding venues in Austin that can hold 150 guests?'
// From the labelled set (test/ai/semantic/labelled-set.json): 0.955 and 0.716 with the hashing embedder.
const PARAPHRASE = 'Can you suggest wedding venues in Austin with room for 150 people?'
const NEAR_MISS = 'What are some good wedding venues in Denver that can hold 150 guests?'

async function asked(client: OpenAI, content: string, headers: Record<string, string> = {}, system?: string) {
  const request = ask(content)
  const body = system === undefined ? request : { ...request, messages: [{ role: 'system' as const, content: system }, { role: 'user' as const, content }] }
  const { data, response } = await client.chat.completions.create(body, { headers }).withResponse()
  return { cache: response.headers.get('x-tiercache-cache'), similarity: response.headers.get('x-tiercache-similarity'), content: data.choices[0]?.message.content }
}

describe('semantic matching through the gateway', () => {
  it('answers a paraphrase above the threshold from the cached answer, and refuses a near miss below it', async () => {
    const first = await asked(acme, QUESTION)
    const paraphrase = await asked(acme, PARAPHRASE)
    expect(paraphrase.cache).toBe('SEMANTIC-HIT')
    expect(paraphrase.content).toBe(first.content)
    expect(Number(paraphrase.similarity)).toBeGreaterThanOrEqual(0.85)
    expect(gateway.upstream.calls).toHaveLength(1)
    const nearMiss = await asked(acme, NEAR_MISS)
    expect(nearMiss.cache).toBe('MISS')
    expect(nearMiss.content).toBe(`answer #2 to: ${NEAR_MISS}`)
    expect(gateway.upstream.calls).toHaveLength(2)
  })

  it('never matches across tenants, system prompts, or when the call turns it off', async () => {
    await asked(acme, QUESTION)
    expect((await asked(gateway.globex, PARAPHRASE)).cache).toBe('MISS')
    expect((await asked(acme, PARAPHRASE, {}, 'You plan budget weddings only.')).cache).toBe('MISS')
    expect((await asked(acme, PARAPHRASE, { 'x-tiercache-semantic': 'false' })).cache).toBe('MISS')
    expect((await asked(acme, PARAPHRASE, { 'x-tiercache-cache-type': 'timeline' })).cache).toBe('MISS')
    // User scope is matched exactly only.
    const user = { 'x-tiercache-scope': 'user', 'x-tiercache-user': 'ann' }
    await asked(acme, QUESTION, user)
    expect((await asked(acme, PARAPHRASE, user)).cache).toBe('MISS')
    expect(gateway.upstream.calls).toHaveLength(7)
  })

  it('answers a streamed paraphrase from the cached answer', async () => {
    const first = await asked(acme, QUESTION)
    const response = await acme.chat.completions.create({ ...ask(PARAPHRASE), stream: true }).withResponse()
    let text = ''
    for await (const chunk of response.data) text += chunk.choices[0]?.delta.content ?? ''
    expect(response.response.headers.get('x-tiercache-cache')).toBe('SEMANTIC-HIT')
    expect(text).toBe(first.content)
    expect(gateway.upstream.calls).toHaveLength(1)
  })

  it('retracts a wrong semantic hit: the entry that served it is removed, and the paraphrase goes upstream', async () => {
    await asked(acme, QUESTION)
    expect((await asked(acme, PARAPHRASE)).cache).toBe('SEMANTIC-HIT')
    const retracted = await fetch(`${gateway.url}/v1/ai/retract`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gateway.acmeKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ request: ask(PARAPHRASE) }),
    })
    expect(await retracted.json()).toEqual({ retracted: true })
    expect((await asked(acme, PARAPHRASE)).cache).toBe('MISS')
    // The question's own entry is gone too (asked without semantic matching, which would now find the paraphrase's).
    expect((await asked(acme, QUESTION, { 'x-tiercache-semantic': 'false' })).cache).toBe('MISS')
    expect(gateway.upstream.calls).toHaveLength(3)
  })
})
