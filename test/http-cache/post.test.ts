/**
 * POSTs an application declared reads (`cachePost`), cached by the signature of their body, over
 * real HTTP on loopback.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'
import { HttpCache } from '../../src/http-cache/handler.js'
import { bodySignature } from '../../src/http-cache/post.js'
import { type Mounted, mount } from './harness.js'

let env: Mounted | undefined
afterEach(async () => {
  await env?.close()
  env = undefined
})

const json = { 'content-type': 'application/json' }

/** `/search` answers `<n>: <body>`, fresh for 600 s, with `headers` beside. */
function search(mounted: Mounted, path = '/search', headers: Record<string, string> = {}): void {
  mounted.origin.on(path, (_req, n, body) => ({ headers: { 'cache-control': 'max-age=600', etag: `"${n}"`, ...headers }, body: `${n}: ${body}` }))
}

describe('the signature of a body', () => {
  it('is the same for JSON with keys in another order and forms with fields in another order, not for other values or media types', () => {
    const bytes = (text: string) => new TextEncoder().encode(text)
    expect(bodySignature(bytes('{"b":1,"a":{"y":[2,{"d":1,"c":0}],"x":null}}'), 'application/json')).toBe(bodySignature(bytes('{ "a": { "x": null, "y": [2, {"c":0,"d":1}] }, "b": 1 }'), 'Application/JSON; charset=utf-8'))
    expect(bodySignature(bytes('{"a":[1,2]}'), 'application/json')).not.toBe(bodySignature(bytes('{"a":[2,1]}'), 'application/json'))
    expect(bodySignature(bytes('q=shoes&page=2'), 'application/x-www-form-urlencoded')).toBe(bodySignature(bytes('page=2&q=shoes'), 'application/x-www-form-urlencoded'))
    expect(bodySignature(bytes('page=2&q=shoes'), 'text/plain')).not.toBe(bodySignature(bytes('q=shoes&page=2'), 'text/plain'))
    expect(bodySignature(bytes('{"a":1}'), 'application/json')).not.toBe(bodySignature(bytes('{"a":1}'), 'text/plain'))
    expect(bodySignature(bytes('{not json'), 'application/json')).toHaveLength(43)
  })
})

describe('declared POSTs', () => {
  it('are stored and answered again for the same canonical body, asked of the origin for another', async () => {
    env = await mount({ cachePost: ['/search'] })
    search(env)
    const first = await env.request('/search', { method: 'POST', headers: json, body: '{"q":"shoes","page":1}' })
    expect(first.text).toBe('1: {"q":"shoes","page":1}')
    expect(first.headers.get('cache-status')).toBe('tiercache; fwd=miss; fwd-status=200; ttl=600; stored')
    const again = await env.request('/search', { method: 'POST', headers: json, body: '{ "page": 1, "q": "shoes" }' })
    expect(again.text).toBe('1: {"q":"shoes","page":1}')
    expect(again.headers.get('cache-status')).toBe('tiercache; hit; ttl=600')
    expect((await env.request('/search', { method: 'POST', headers: json, body: '{"q":"boots","page":1}' })).text).toBe('2: {"q":"boots","page":1}')
    // A GET of the same URL is another request.
    expect((await env.request('/search')).text).toBe('3: ')
  })

  it('RFC 9111 §3: are stored only as the response allows, like a GET', async () => {
    env = await mount({ cachePost: ['/search'] })
    search(env, '/search', { 'cache-control': 'no-store' })
    await env.request('/search', { method: 'POST', headers: json, body: '{}' })
    expect((await env.request('/search', { method: 'POST', headers: json, body: '{}' })).text).toBe('2: {}')
  })

  it('RFC 9111 §4.4: do not invalidate, while other POSTs to the URL do', async () => {
    env = await mount({ cachePost: ['/api/search/*'] })
    env.origin.on('/api/search/items', (_req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `items ${n}` }))
    env.origin.on('/api/orders', (_req, n) => ({ headers: { 'cache-control': 'max-age=600' }, body: `orders ${n}` }))
    await env.request('/api/search/items')
    await env.request('/api/orders')
    await env.request('/api/search/items', { method: 'POST', headers: json, body: '{}' })
    await env.request('/api/orders', { method: 'POST', headers: json, body: '{}' })
    expect((await env.request('/api/search/items')).text).toBe('items 1')
    expect((await env.request('/api/orders')).text).toBe('orders 3')
  })

  it('RFC 9110 §15.4.5: are never answered 304, nor validated with the origin', async () => {
    env = await mount({ cachePost: [/^\/find$/] })
    search(env, '/find')
    await env.request('/find', { method: 'POST', headers: json, body: '{"q":1}' })
    const conditional = await env.request('/find', { method: 'POST', headers: { ...json, 'if-none-match': '"1"' }, body: '{"q":1}' })
    expect(conditional.status).toBe(200)
    expect(conditional.text).toBe('1: {"q":1}')
    env.advance(601)
    const refreshed = await env.request('/find', { method: 'POST', headers: json, body: '{"q":1}' })
    expect(refreshed.text).toBe('2: {"q":1}')
    expect(env.origin.seen('/find')[1]?.['if-none-match']).toBeUndefined()
  })

  it('with a body past 1 MiB are passed on whole, not stored', async () => {
    env = await mount({ cachePost: ['/search'] })
    env.origin.on('/search', (_req, n, body) => ({ headers: { 'cache-control': 'max-age=600' }, body: `${n}: ${body.length}` }))
    const big = 'x'.repeat((1 << 20) + 10)
    expect((await env.request('/search', { method: 'POST', body: big })).text).toBe(`1: ${big.length}`)
    expect((await env.request('/search', { method: 'POST', body: big })).text).toBe(`2: ${big.length}`)
  })

  it('are not cached where not declared', async () => {
    env = await mount({ cachePost: ['/search'] })
    search(env, '/search/more')
    await env.request('/search/more', { method: 'POST', headers: json, body: '{}' })
    expect((await env.request('/search/more', { method: 'POST', headers: json, body: '{}' })).text).toBe('2: {}')
  })

  it('are declared by paths that start with /, and regular expressions', () => {
    const cache = createCache({ l1: false, l3: false })
    expect(() => new HttpCache({ cache, cachePost: ['search'] })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    expect(() => new HttpCache({ cache, cachePost: [42 as never] })).toThrow(expect.objectContaining({ code: 'TC_INVALID_OPTIONS' }))
    void cache.close()
  })
})
