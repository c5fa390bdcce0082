import { afterEach, describe, expect, it } from 'vitest'
import { type Upstream, createAiCache } from '../../src/ai/index.js'
import { type Cache, createCache } from '../../src/index.js'

interface Completion {
  readonly choices: readonly { readonly message: { readonly content: string } }[]
}
type Request = { readonly model: string; readonly temperature?: number; readonly messages: readonly { readonly role: string; readonly content: string }[] }

const unused: Upstream = { post: () => Promise.reject(new Error('unused')), stream: () => Promise.reject(new Error('unused')), close: async () => {} }
const request = (content: string): Request => ({ model: 'gpt-test', temperature: 0, messages: [{ role: 'user', content }] })

let cache: Cache | undefined
afterEach(async () => {
  await cache?.close()
})

describe('AiCache.wrap', () => {
  it('answers from the cache, calling the wrapped function once for identical requests, even at once', async () => {
    cache = createCache({ l3: false })
    let calls = 0
    let open: () => void = () => {}
    const gate = new Promise<void>((resolve) => (open = resolve))
    const create = createAiCache({ cache, upstream: unused }).wrap(async (asked: Request): Promise<Completion> => {
      calls++
      await gate
      return { choices: [{ message: { content: `#${calls}: ${asked.messages[0]?.content}` } }] }
    })
    const answers = Array.from({ length: 10 }, () => create(request('Venues?')))
    open()
    expect(new Set((await Promise.all(answers)).map((answer) => answer.choices[0]?.message.content))).toEqual(new Set(['#1: Venues?']))
    expect((await create(request('Venues?'))).choices[0]?.message.content).toBe('#1: Venues?')
    expect((await create(request('Florists?'))).choices[0]?.message.content).toBe('#2: Florists?')
    expect(calls).toBe(2)
  })

  it('throws what the function throws, and stores nothing of it', async () => {
    cache = createCache({ l3: false })
    let calls = 0
    const create = createAiCache({ cache, upstream: unused }).wrap(async (): Promise<Completion> => {
      calls++
      if (calls === 1) throw new Error('rate limited')
      return { choices: [{ message: { content: 'ok' } }] }
    })
    await expect(create(request('Hi'))).rejects.toThrow('rate limited')
    expect((await create(request('Hi'))).choices[0]?.message.content).toBe('ok')
    expect(calls).toBe(2)
  })
})
