import type OpenAI from 'openai'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Gateway, startGateway } from './gateway-harness.js'

let gateway: Gateway
let acme: OpenAI

beforeAll(async () => {
  gateway = await startGateway()
  acme = gateway.acme
})
afterAll(() => gateway.close())
beforeEach(() => gateway.reset())

const request = (input: string, extra: Record<string, unknown> = {}) => ({ model: 'gpt-test', temperature: 0, instructions: 'You plan weddings.', input, ...extra })

/** POSTs to the gateway's Responses route with fetch, for the raw bytes. */
const post = (body: unknown) =>
  fetch(`${gateway.url}/v1/ai/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.acmeKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

describe('the Responses API through the gateway, with the openai client', () => {
  it('a miss, then a hit; another previous_response_id or instructions is another entry', async () => {
    const first = await acme.responses.create(request('Venues in Austin?')).withResponse()
    const second = await acme.responses.create({ ...request('Venues in Austin?'), user: 'someone' }).withResponse()
    expect([first.response.headers.get('x-tiercache-cache'), second.response.headers.get('x-tiercache-cache')]).toEqual(['MISS', 'HIT'])
    expect(second.data.output_text).toBe('answer #1 to: Venues in Austin?')
    expect(second.response.headers.get('x-tiercache-tokens-saved')).toBe(String('Venues in Austin?'.length + second.data.output_text.length))
    await acme.responses.create(request('Venues in Austin?', { previous_response_id: 'resp_1' }))
    await acme.responses.create(request('Venues in Austin?', { instructions: 'You are terse.' }))
    expect(gateway.upstream.calls.map((call) => call.path)).toEqual(['/v1/responses', '/v1/responses', '/v1/responses'])
  })

  it('stores only completed responses', async () => {
    await acme.responses.create(request('queued please'))
    const again = await acme.responses.create(request('queued please')).withResponse()
    expect(again.response.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(again.data.status).toBe('queued')
    expect(gateway.upstream.calls).toHaveLength(2)
  })

  it('replays a stream byte for byte, and answers a non-streamed request from it and the other way round', async () => {
    const streamed = request('Florists?', { stream: true })
    const first = Buffer.from(await (await post(streamed)).arrayBuffer())
    const replay = await post(streamed)
    expect(replay.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(Buffer.from(await replay.arrayBuffer()).equals(first)).toBe(true)
    const plain = await acme.responses.create(request('Florists?')).withResponse()
    expect(plain.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(plain.data.output_text).toBe('answer #1 to: Florists?')

    const answer = await acme.responses.create(request('Caterers?'))
    const stream = await acme.responses.create({ model: 'gpt-test', temperature: 0, instructions: 'You plan weddings.', input: 'Caterers?', stream: true })
    let text = ''
    let completed: unknown
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta
      if (event.type === 'response.completed') completed = event.response
    }
    expect(text).toBe(answer.output_text)
    expect(completed).toMatchObject({ id: answer.id, status: 'completed', usage: answer.usage })
    expect(gateway.upstream.calls).toHaveLength(2)
  })
})
