import type OpenAI from 'openai'
import type { ChatCompletionCreateParamsStreaming } from 'openai/resources/chat/completions'
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { type Gateway, ask, startGateway } from './gateway-harness.js'

let gateway: Gateway
let acme: OpenAI

beforeAll(async () => {
  gateway = await startGateway()
  acme = gateway.acme
})
afterAll(() => gateway.close())
beforeEach(() => gateway.reset())

const streamed = (content: string, includeUsage = true): ChatCompletionCreateParamsStreaming => ({
  ...ask(content),
  stream: true,
  ...(includeUsage ? { stream_options: { include_usage: true } } : {}),
})

/** POSTs a request to the gateway with fetch, for its raw bytes. */
const post = (body: unknown) =>
  fetch(`${gateway.url}/v1/ai/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gateway.acmeKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })

async function read(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let text = ''
  let usage: unknown
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? ''
    usage ??= chunk.usage ?? undefined
  }
  return { text, usage }
}

describe('streamed answers through the gateway', () => {
  it('caches a stream once complete and replays it byte for byte, usage chunk included', async () => {
    const first = await post(streamed('Timeline?'))
    const firstBytes = Buffer.from(await first.arrayBuffer())
    const second = await post(streamed('Timeline?'))
    const secondBytes = Buffer.from(await second.arrayBuffer())
    expect(first.headers.get('x-tiercache-cache')).toBe('MISS')
    expect(second.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(second.headers.get('content-type')).toBe('text/event-stream')
    expect(secondBytes.equals(firstBytes)).toBe(true)
    expect(firstBytes.toString()).toContain('"usage":{"prompt_tokens"')
    expect(gateway.upstream.calls).toHaveLength(1)

    const replayed = await read(await acme.chat.completions.create(streamed('Timeline?')))
    expect(replayed.text).toBe('answer #1 to: Timeline?')
    expect(replayed.usage).toMatchObject({ completion_tokens: replayed.text.length })
    expect(gateway.upstream.calls).toHaveLength(1)
  })

  it('answers a non-streamed request from a cached stream, and a streamed one from a cached answer', async () => {
    const { text } = await read(await acme.chat.completions.create(streamed('Florists?')))
    const assembled = await acme.chat.completions.create(ask('Florists?')).withResponse()
    expect(assembled.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(assembled.data.choices[0]?.message).toMatchObject({ role: 'assistant', content: text })
    expect(assembled.data.choices[0]?.finish_reason).toBe('stop')
    expect(assembled.data.usage?.completion_tokens).toBe(text.length)

    const answer = await acme.chat.completions.create(ask('Caterers?'))
    const response = await acme.chat.completions.create(streamed('Caterers?')).withResponse()
    expect(response.response.headers.get('x-tiercache-cache')).toBe('HIT')
    const replayed = await read(response.data)
    expect(replayed.text).toBe(answer.choices[0]?.message.content)
    expect(replayed.usage).toEqual(answer.usage)
    expect(gateway.upstream.calls).toHaveLength(2)
  })

  it('a stream asked without usage is not answered with the bytes of one asked with it', async () => {
    await read(await acme.chat.completions.create(streamed('Cakes?')))
    const without = await post(streamed('Cakes?', false))
    const text = await without.text()
    expect(without.headers.get('x-tiercache-cache')).toBe('HIT')
    expect(text).not.toContain('"usage"')
    expect(text).toContain('answer #1 to: Cakes?')
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true)
  })

  it('later callers follow the stream in progress: one upstream call', async () => {
    gateway.upstream.hold('mid-stream')
    const leader = await post(streamed('Bands?'))
    const reader = leader.body!.getReader()
    const firstChunk = await reader.read()
    expect(Buffer.from(firstChunk.value ?? []).toString()).toContain('"role":"assistant"')
    // The followers' headers come while the upstream is still held: they joined the stream.
    const followers = await Promise.all(Array.from({ length: 5 }, () => post(streamed('Bands?'))))
    expect(followers.map((follower) => follower.headers.get('x-tiercache-cache'))).toEqual(Array(5).fill('MISS'))
    gateway.upstream.release()
    let rest = Buffer.from(firstChunk.value ?? [])
    for (let part = await reader.read(); !part.done; part = await reader.read()) rest = Buffer.concat([rest, Buffer.from(part.value)])
    const bodies = await Promise.all(followers.map(async (follower) => Buffer.from(await follower.arrayBuffer())))
    for (const body of bodies) expect(body.equals(rest)).toBe(true)
    expect(gateway.upstream.calls).toHaveLength(1)
  })

  it('100 identical concurrent streamed requests make one upstream call', async () => {
    gateway.upstream.hold()
    const answers = Array.from({ length: 100 }, async () => read(await acme.chat.completions.create(streamed('Venues in Napa?'))))
    await gateway.upstream.arrived(1)
    gateway.upstream.release()
    const texts = (await Promise.all(answers)).map((answer) => answer.text)
    expect(new Set(texts)).toEqual(new Set(['answer #1 to: Venues in Napa?']))
    expect(gateway.upstream.calls).toHaveLength(1)
  })

  it('a stream that breaks off before [DONE] fails the answer and is not cached', async () => {
    await expect(read(await acme.chat.completions.create(streamed('break-stream please')))).rejects.toThrow()
    await expect(read(await acme.chat.completions.create(streamed('break-stream please')))).rejects.toThrow()
    expect(gateway.upstream.calls).toHaveLength(2)
  })

  it("passes an upstream's error through with its status and JSON body, and caches nothing of it", async () => {
    const failed = await post(streamed('fail:429'))
    expect(failed.status).toBe(429)
    expect(await failed.json()).toMatchObject({ error: { message: 'failing as asked (429)', type: 'server_error' } })
    await expect(acme.chat.completions.create(streamed('fail:429'))).rejects.toMatchObject({ status: 429 })
    expect(gateway.upstream.calls).toHaveLength(2)
  })

  it('bypass and refresh work on streams too', async () => {
    await read(await acme.chat.completions.create(streamed('DJ?')))
    const bypassed = await acme.chat.completions.create(streamed('DJ?'), { headers: { 'cache-control': 'no-store' } }).withResponse()
    expect(bypassed.response.headers.get('x-tiercache-cache')).toBe('BYPASS')
    expect((await read(bypassed.data)).text).toBe('answer #2 to: DJ?')
    const refreshed = await acme.chat.completions.create(streamed('DJ?'), { headers: { 'x-tiercache-refresh': 'true' } }).withResponse()
    expect(refreshed.response.headers.get('x-tiercache-cache')).toBe('REFRESH')
    expect((await read(refreshed.data)).text).toBe('answer #3 to: DJ?')
    const after = await acme.chat.completions.create(streamed('DJ?')).withResponse()
    expect(after.response.headers.get('x-tiercache-cache')).toBe('HIT')
    expect((await read(after.data)).text).toBe('answer #3 to: DJ?')
  })
})
