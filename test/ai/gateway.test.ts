import OpenAI, { APIError } from 'openai'
import type { ChatCompletionCreateParamsNonStreaming } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { createAiCache, httpUpstream } from '../../src/ai/index.js'
import { createCache } from '../../src/index.js'
import { startServer } from '../../src/server/index.js'
import { type KeyStore, openKeyStore } from '../server/helpers.js'
import { type Gateway, ask, startGateway } from './gateway-harness.js'
import { type FakeUpstream, startFakeUpstream } from './upstream-server.js'

let gateway: Gateway
let upstream: FakeUpstream
let store: KeyStore
let acme: OpenAI
let globex: OpenAI
let acmeKey: string

beforeAll(async () => {
  gateway = await startGateway({ prices: { 'gpt-test': { inputPerMillion: 2, outputPerMillion: 8 } } })
  ;({ upstream, store, acme, globex, acmeKey } = gateway)
})
afterAll(() => gateway.close())
beforeEach(() => gateway.reset())

describe('the AI gateway with the official openai client', () => {
  it('a miss, then a hit: the upstream is called once, with its own key', async () => {
    const first = await acme.chat.completions.create(ask('Venues in Austin?')).withResponse()
    const second = await acme.chat.completions.create(ask('Venues in Austin?')).withResponse()
    expect(first.response.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(second.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(second.data.choices[0]?.message.content).toBe('answer #1 to: Venues in Austin?')
    expect(second.data).toEqual(first.data)
    expect(upstream.calls).toHaveLength(1)
    expect(upstream.calls[0]?.authorization).toBe('Bearer upstream-secret')
    expect(upstream.calls[0]?.path).toBe('/v1/chat/completions')
  })

  it('says what a hit saved, in headers and in the accounting by tenant, model and cache type', async () => {
    const headers = { 'x-tiercache-cache-type': 'savings' }
    const first = await acme.chat.completions.create(ask('Saved?'), { headers }).withResponse()
    const second = await acme.chat.completions.create(ask('Saved?'), { headers }).withResponse()
    const usage = first.data.usage!
    expect(first.response.headers.get('x-tiercache-tokens-saved')).toBeNull()
    expect(second.response.headers.get('x-tiercache-tokens-saved')).toBe(String(usage.prompt_tokens + usage.completion_tokens))
    const cost = (usage.prompt_tokens * 2 + usage.completion_tokens * 8) / 1e6
    expect(Number(second.response.headers.get('x-tiercache-cost-saved'))).toBeCloseTo(cost, 6)
    await globex.chat.completions.create(ask('Saved?'), { headers })
    const row = gateway.ai.accounting.rows('acme').find((candidate) => candidate.cacheType === 'savings')
    expect(row).toMatchObject({ namespace: 'ai', tenant: 'acme', model: 'gpt-test', promptTokensSaved: usage.prompt_tokens, completionTokensSaved: usage.completion_tokens })
    expect(row?.answers).toMatchObject({ HIT: 1, MISS: 1 })
    expect(row?.costSavedUsd).toBeCloseTo(cost, 9)
    expect(gateway.ai.accounting.rows('globex').find((candidate) => candidate.cacheType === 'savings')?.answers).toMatchObject({ HIT: 0, MISS: 1 })
  })

  it('caches embeddings: a miss, then a hit with the same vectors; another input is another entry', async () => {
    const first = await acme.embeddings.create({ model: 'emb-test', input: ['Barn venues', 'Lake venues'] }).withResponse()
    const second = await acme.embeddings.create({ model: 'emb-test', input: ['Barn venues', 'Lake venues'], user: 'u1' }).withResponse()
    expect([first.response.headers.get('x-tiercache-cache'), second.response.headers.get('x-tiercache-cache')]).toEqual(['MISS', 'HIT'])
    expect(second.data.data.map((item) => item.embedding)).toEqual([
      [11, 'B'.charCodeAt(0), 2, 1],
      [11, 'L'.charCodeAt(0), 2, 1],
    ])
    expect(second.response.headers.get('x-tiercache-tokens-saved')).toBe('22')
    const other = await acme.embeddings.create({ model: 'emb-test', input: 'Barn venues', dimensions: 4 }).withResponse()
    expect(other.response.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(upstream.calls.map((call) => call.path)).toEqual(['/v1/embeddings', '/v1/embeddings'])
    await expect(acme.embeddings.create({ model: 'emb-test' } as never)).rejects.toMatchObject({ status: 400, code: 'TC_BAD_REQUEST' })
  })

  it('100 identical concurrent requests make one upstream call', async () => {
    upstream.hold()
    const answers = Array.from({ length: 100 }, () => acme.chat.completions.create(ask('Florists in Napa?')))
    await upstream.arrived(1)
    upstream.release()
    const contents = (await Promise.all(answers)).map((answer) => answer.choices[0]?.message.content)
    expect(new Set(contents)).toEqual(new Set(['answer #1 to: Florists in Napa?']))
    expect(upstream.calls).toHaveLength(1)
  })

  it('bypass asks the upstream and stores nothing; refresh stores the new answer', async () => {
    await acme.chat.completions.create(ask('Caterers?'))
    const bypassed = await acme.chat.completions.create(ask('Caterers?'), { headers: { 'cache-control': 'no-store' } }).withResponse()
    expect(bypassed.response.headers.get('x-tiercache-cache')).toBe('BYPASS')
    expect(bypassed.data.choices[0]?.message.content).toBe('answer #2 to: Caterers?')
    expect((await acme.chat.completions.create(ask('Caterers?'))).choices[0]?.message.content).toBe('answer #1 to: Caterers?')
    const refreshed = await acme.chat.completions.create(ask('Caterers?'), { headers: { 'x-tiercache-refresh': 'true' } }).withResponse()
    expect(refreshed.response.headers.get('x-tiercache-cache')).toBe('REFRESH')
    const after = await acme.chat.completions.create(ask('Caterers?')).withResponse()
    expect(after.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(after.data.choices[0]?.message.content).toBe('answer #3 to: Caterers?')
    expect(upstream.calls).toHaveLength(3)
  })

  it('a changed system prompt, tool or unknown field is another entry; key order and string parts are not', async () => {
    await acme.chat.completions.create(ask('Budget?'))
    await acme.chat.completions.create({ ...ask('Budget?'), messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Budget?' }] })
    const tool = { type: 'function' as const, function: { name: 'lookup', parameters: { type: 'object', properties: {} } } }
    await acme.chat.completions.create(ask('Budget?', { tools: [tool] }))
    await acme.chat.completions.create({ ...ask('Budget?'), provider_flag: 'x' } as ChatCompletionCreateParamsNonStreaming)
    expect(upstream.calls).toHaveLength(4)
    // The same request, fields in another order and the user message as a content part: a hit.
    const reordered = await acme.chat.completions
      .create({ messages: [{ role: 'system', content: 'You plan weddings.' }, { role: 'user', content: [{ type: 'text', text: 'Budget?' }] }], temperature: 0, model: 'gpt-test', user: 'someone' })
      .withResponse()
    expect(reordered.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(upstream.calls).toHaveLength(4)
  })

  it('two tenants asking the same question never share an entry', async () => {
    const fromAcme = await acme.chat.completions.create(ask('Photographers?'))
    const fromGlobex = await globex.chat.completions.create(ask('Photographers?')).withResponse()
    expect(fromGlobex.response.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(fromGlobex.data.choices[0]?.message.content).not.toBe(fromAcme.choices[0]?.message.content)
    expect(upstream.calls).toHaveLength(2)
  })

  it("passes an upstream's error through with its status and body, and caches nothing of it", async () => {
    for (let i = 0; i < 2; i++) {
      const error = await acme.chat.completions.create(ask('fail:503')).catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(APIError)
      expect((error as APIError).status).toBe(503)
      expect((error as APIError).message).toMatch(/failing as asked \(503\)/)
    }
    expect(upstream.calls).toHaveLength(2)
  })

  it('bypasses sampled requests (no temperature, no seed); a seed makes them cacheable', async () => {
    const sampled = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'A poem?' }] }
    const first = await acme.chat.completions.create(sampled).withResponse()
    expect(first.response.headers.get('x-tiercache-cache')).toBe('BYPASS')
    expect(first.response.headers.get('x-tiercache-bypass-reason')).toBe('sampled')
    await acme.chat.completions.create({ ...sampled, seed: 7 })
    const seeded = await acme.chat.completions.create({ ...sampled, seed: 7 }).withResponse()
    expect(seeded.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(upstream.calls).toHaveLength(2)
  })

  it('invalidates by source tag, by cache type and by model, in the caller\'s tenant only', async () => {
    const post = (path: string, key: string, body: unknown) =>
      fetch(`${gateway.url}/v1/ai/${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    const status = async (client: OpenAI, content: string, headers: Record<string, string> = {}) =>
      (await client.chat.completions.create(ask(content), { headers }).withResponse()).response.headers.get('x-tiercache-cache')
    await status(acme, 'Venues near doc 17?', { 'x-tiercache-tags': 'doc:17' })
    await status(acme, 'Venues near doc 42?', { 'x-tiercache-tags': 'doc:42' })
    await status(acme, 'A timeline?', { 'x-tiercache-cache-type': 'timeline' })
    await status(globex, 'Venues near doc 17?', { 'x-tiercache-tags': 'doc:17' })

    const removed = await post('invalidate', gateway.acmeKey, { tags: ['doc:17'] })
    expect(removed.status).toBe(200)
    expect(await status(acme, 'Venues near doc 17?', { 'x-tiercache-tags': 'doc:17' })).toBe('MISS')
    expect(await status(acme, 'Venues near doc 42?')).toBe('HIT')
    expect(await status(globex, 'Venues near doc 17?')).toBe('HIT')

    await post('invalidate', gateway.acmeKey, { cacheType: 'timeline' })
    expect(await status(acme, 'A timeline?', { 'x-tiercache-cache-type': 'timeline' })).toBe('MISS')
    expect(await status(acme, 'Venues near doc 42?')).toBe('HIT')
    await post('invalidate', gateway.acmeKey, { model: 'gpt-test' })
    expect(await status(acme, 'Venues near doc 42?')).toBe('MISS')

    const bad = await post('invalidate', gateway.acmeKey, { cacheType: 'no spaces' })
    expect(bad.status).toBe(400)
    expect(((await bad.json()) as { error: { code: string; type: string } }).error).toMatchObject({ code: 'TC_BAD_REQUEST', type: 'invalid_request_error' })
  })

  it("lets a service key act for a tenant it names: its answers, and invalidating them", async () => {
    const service = (await store.createKey({ tenant: 'ops', roles: ['read', 'write', 'service'] })).key
    const asGlobex = { 'x-tiercache-tenant': 'globex' }
    await globex.chat.completions.create(ask('Shared question?'))
    const viaService = await gateway.client(service).chat.completions.create(ask('Shared question?'), { headers: asGlobex }).withResponse()
    expect(viaService.response.headers.get('x-tiercache-cache')).toBe('HIT')
    const removed = await fetch(`${gateway.url}/v1/ai/invalidate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json', ...asGlobex },
      body: JSON.stringify({}),
    })
    expect(removed.status).toBe(200)
    expect((await globex.chat.completions.create(ask('Shared question?')).withResponse()).response.headers.get('x-tiercache-cache')).toBe('MISS')
  })

  it('retracts a wrong answer: the next ask goes upstream', async () => {
    const retract = (body: unknown) =>
      fetch(`${gateway.url}/v1/ai/retract`, { method: 'POST', headers: { authorization: `Bearer ${acmeKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) })
    await acme.chat.completions.create(ask('Best month?'), { headers: { 'x-tiercache-cache-type': 'timeline' } })
    expect(await (await retract({ request: ask('Best month?') })).json()).toEqual({ retracted: false })
    expect(await (await retract({ request: ask('Best month?'), cacheType: 'timeline' })).json()).toEqual({ retracted: true })
    const again = await acme.chat.completions.create(ask('Best month?'), { headers: { 'x-tiercache-cache-type': 'timeline' } }).withResponse()
    expect(again.response.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(upstream.calls).toHaveLength(2)
  })

  it('keeps user-scoped answers apart per user, and the tenant\'s apart from them', async () => {
    const asUser = (user: string) => ({ 'x-tiercache-scope': 'user', 'x-tiercache-user': user })
    const status = async (headers: Record<string, string>, extra: Partial<ChatCompletionCreateParamsNonStreaming> = {}) =>
      (await acme.chat.completions.create(ask('My saved venues?', extra), { headers }).withResponse()).response.headers.get('x-tiercache-cache')
    expect(await status(asUser('ann'))).toBe('MISS')
    expect(await status(asUser('ann'))).toBe('HIT')
    expect(await status(asUser('bob'))).toBe('MISS')
    expect(await status({})).toBe('MISS')
    // The request's own user field names the user when no header does.
    expect(await status({ 'x-tiercache-scope': 'user' }, { user: 'ann' })).toBe('HIT')
    await expect(acme.chat.completions.create(ask('My saved venues?'), { headers: { 'x-tiercache-scope': 'user' } })).rejects.toMatchObject({ status: 400, code: 'TC_BAD_REQUEST' })
    expect(upstream.calls).toHaveLength(3)
  })

  it('refuses a request without a key, and one without messages, with errors in the OpenAI shape', async () => {
    await expect(gateway.client('tc_nope_nope').chat.completions.create(ask('Hi'))).rejects.toMatchObject({
      status: 401,
      type: 'invalid_request_error',
      code: 'TC_UNAUTHORIZED',
      param: null,
    })
    await expect(acme.chat.completions.create({ model: 'gpt-test', messages: [] })).rejects.toMatchObject({ status: 400, type: 'invalid_request_error', code: 'TC_BAD_REQUEST' })
    expect(upstream.calls).toHaveLength(0)
  })
})

describe('the AI gateway in front of an upstream that is down', () => {
  it('answers 502 TC_UPSTREAM_ERROR', async () => {
    const downCache = createCache({ l3: false })
    const down = await startFakeUpstream()
    await down.close()
    const ai = createAiCache({ cache: downCache, upstream: httpUpstream({ baseUrl: down.url }) })
    const started = await startServer({ cache: downCache, credentials: store.credentials, ai, port: 0 })
    try {
      const error = await new OpenAI({ apiKey: acmeKey, baseURL: `${started.url}/v1/ai`, maxRetries: 0 }).chat.completions.create(ask('Hi')).catch((caught: unknown) => caught)
      expect((error as APIError).status).toBe(502)
      expect((error as APIError).code).toBe('TC_UPSTREAM_ERROR')
      expect((error as APIError).type).toBe('server_error')
    } finally {
      await started.app.close()
      await downCache.close()
    }
  })
  it('answers 504 TC_UPSTREAM_TIMEOUT when the upstream is too slow, and stores nothing', async () => {
    const slowCache = createCache({ l3: false })
    // A store of its own: a server closes its store when it closes.
    const ownStore = await openKeyStore()
    const ai = createAiCache({ cache: slowCache, upstream: httpUpstream({ baseUrl: upstream.url, timeoutMs: 200 }) })
    const started = await startServer({ cache: slowCache, credentials: ownStore.credentials, ai, port: 0 })
    const slow = new OpenAI({ apiKey: (await ownStore.createKey()).key, baseURL: `${started.url}/v1/ai`, maxRetries: 0 })
    upstream.hold()
    try {
      const error = await slow.chat.completions.create(ask('Slow?')).catch((caught: unknown) => caught)
      expect(error).toMatchObject({ status: 504, code: 'TC_UPSTREAM_TIMEOUT', type: 'server_error' })
    } finally {
      upstream.release()
    }
    const again = await slow.chat.completions.create(ask('Slow?')).withResponse()
    expect(again.response.headers.get('x-tiercache-cache')).toBe('MISS')
    await started.app.close()
    await slowCache.close()
    await ownStore.close()
  })
})
